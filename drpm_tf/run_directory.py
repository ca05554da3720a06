"""Run directories that never lose anything: markers, locks, atomic writes.

Every training command of this project writes a marker file,
`drpm_run.json`, into its run directory before anything else. The marker is
what makes a directory recognizably ours: `--overwrite` deletes a directory
only when it holds the marker (or, for runs made before markers existed, our
own checkpoint layout), and refuses with a message naming the folder
otherwise; a directory holding other files is never used as a run at all
(`check_usable`). A run holds an OS file lock (`.run.lock`, `fcntl.flock`)
for its whole life, released by the OS even when the process is killed, so a
second process on the same run waits or skips instead of training it twice.
Results are written to a unique temporary file and renamed (`write_json`),
so readers never see half a file and concurrent writers never share a name.
On resume, `check_config_changes` compares the run's gin bindings with those
it was started with (`run_config.gin`): the bindings a trainer declares
resumable take effect and are recorded (`config_changes.txt`), any other
difference is refused, listing them.
"""
import contextlib
import datetime
import errno
import fcntl
import json
import os
import shutil
import tempfile

from drpm_tf import errors
from drpm_tf import gin_config

MARKER = "drpm_run.json"
LOCK = ".run.lock"
RUN_CONFIG = "run_config.gin"
CONFIG_CHANGES = "config_changes.txt"


def _umask():
  mask = os.umask(0)
  os.umask(mask)
  return mask


# mkstemp creates its files private (0600); results get open()'s mode.
_FILE_MODE = 0o666 & ~_umask()


def write_atomic(path, text):
  """Writes `text` to `path` through a unique temporary file + rename."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                             suffix=".tmp", dir=directory)
  try:
    with os.fdopen(fd, "w", encoding="utf-8") as f:
      os.fchmod(f.fileno(), _FILE_MODE)
      f.write(text)
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(OSError):
      os.remove(tmp)
    raise


def write_json(path, value):
  """Atomic JSON writer; refuses non-finite numbers (never half a file)."""
  write_atomic(path, json.dumps(value, indent=2, allow_nan=False) + "\n")


def is_ours(model_dir, legacy_signatures=()):
  """Whether `model_dir` is a run directory made by this project.

  Args:
    model_dir: a directory.
    legacy_signatures: paths (relative to `model_dir`) any of which marks a
      run made before markers existed, e.g. its checkpoint state file.
  """
  return any(os.path.exists(os.path.join(model_dir, p))
             for p in (MARKER,) + tuple(legacy_signatures))


def check_writable(model_dir, flag="--model_dir"):
  """Raises `RunDirectoryError` if `model_dir` cannot hold a run."""
  path = os.path.abspath(model_dir)
  if os.path.exists(path) and not os.path.isdir(path):
    raise errors.RunDirectoryError(
        "{} {} is a file, not a directory.".format(flag, model_dir))
  parent = path
  while not os.path.exists(parent):
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent):
    raise errors.RunDirectoryError(
        "{} {} cannot be created: {} is a file, not a directory.".format(
            flag, model_dir, parent))
  if not os.access(parent, os.W_OK | os.X_OK):
    raise errors.RunDirectoryError(
        "{} {} is not writable ({} does not allow creating it).".format(
            flag, model_dir, parent))
  if os.path.isdir(path) and not os.access(path, os.W_OK | os.X_OK):
    raise errors.RunDirectoryError("{} {} is not writable.".format(
        flag, model_dir))


def _entries(model_dir):
  """Names in `model_dir` other than lock files (ours or a sweep's)."""
  return [name for name in os.listdir(model_dir)
          if not name.endswith(".lock")]


def check_usable(model_dir, legacy_signatures=(), flag="--model_dir"):
  """Raises `RunDirectoryError` unless `model_dir` is missing, empty or ours.

  A directory holding anything else is never written into: a run marked
  there would make a later `--overwrite` delete those files.
  """
  if (os.path.isdir(model_dir) and _entries(model_dir) and
      not is_ours(model_dir, legacy_signatures)):
    raise errors.RunDirectoryError(
        "Refusing to use {} {}: it holds files that are not a run of ours "
        "(no {} inside), and nothing in it was touched. Choose a new or "
        "empty directory.".format(flag, model_dir, MARKER))


def clear_run(model_dir, legacy_signatures=()):
  """Empties `model_dir` for `--overwrite`, only if it is one of our runs.

  Lock files stay: the caller (or a sweep driving it) holds them, and a
  deleted lock file could be recreated and locked by a second process.

  Raises:
    RunDirectoryError: the directory holds files but no marker of ours
      (nothing is deleted).
  """
  if not os.path.isdir(model_dir):
    return
  check_usable(model_dir, legacy_signatures)
  for name in _entries(model_dir):
    path = os.path.join(model_dir, name)
    if os.path.isdir(path) and not os.path.islink(path):
      shutil.rmtree(path)
    else:
      os.remove(path)


def mark(model_dir, kind):
  """Creates `model_dir` (if needed) and writes the marker once."""
  os.makedirs(model_dir, exist_ok=True)
  path = os.path.join(model_dir, MARKER)
  if not os.path.exists(path):
    write_json(path, {"kind": kind, "created": datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec="seconds")})


def run_kind(model_dir):
  """The `kind` the marker of `model_dir` names, or None (no marker)."""
  try:
    with open(os.path.join(model_dir, MARKER)) as f:
      return json.load(f).get("kind")
  except (OSError, ValueError, AttributeError):
    return None


@contextlib.contextmanager
def run_lock(model_dir, wait=False, name=LOCK):
  """Holds `<model_dir>/<name>` exclusively for the `with` block.

  Args:
    model_dir: the run directory (created if missing).
    wait: block until the lock is free; otherwise raise at once.
    name: the lock file (`.run.lock`: a training or export; a sweep that
      drives the run uses its own).

  Raises:
    RunDirectoryError: another process holds the lock and `wait` is False.
  """
  os.makedirs(model_dir, exist_ok=True)
  with open(os.path.join(model_dir, name), "a") as handle:
    try:
      fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError as error:
      if error.errno not in (errno.EAGAIN, errno.EACCES):
        raise
      raise errors.RunDirectoryError(
          "{} is in use by another process (it holds {}); wait for it to "
          "finish or use another --model_dir.".format(model_dir, name))
    try:
      yield
    finally:
      fcntl.flock(handle, fcntl.LOCK_UN)


def is_locked(model_dir, name=LOCK):
  """Whether another process holds `model_dir`'s lock `name` right now."""
  path = os.path.join(model_dir, name)
  if not os.path.exists(path):
    return False
  with open(path, "a") as handle:
    try:
      fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      return True
    fcntl.flock(handle, fcntl.LOCK_UN)
  return False


def config_changes(saved_text, new_text):
  """[(binding, saved value, new value)] that differ between two configs."""
  saved = gin_config.read_text_values(saved_text)
  new = gin_config.read_text_values(new_text)
  missing = object()
  changes = []
  for key in sorted(set(saved) | set(new)):
    before, after = saved.get(key, missing), new.get(key, missing)
    if before != after:
      changes.append((key, None if before is missing else before,
                      None if after is missing else after))
  return changes


def format_changes(changes):
  return "; ".join("{}: {!r} -> {!r}".format(k, a, b) for k, a, b in changes)


def check_config_changes(model_dir, current, resumable, log=print,
                         ignored_prefixes=()):
  """Compares a run's gin bindings with those it was started with.

  A fresh run records `current` (`<model_dir>/run_config.gin`). A resumed
  run may change the bindings in `resumable`: they take effect now, are
  logged, appended to `config_changes.txt`, and `current` replaces the
  record. Any other difference raises, listing every one of them.

  Args:
    model_dir: the run directory (locked by the caller).
    current: gin config text of the bindings in force now.
    resumable: the binding names (`selector.param`) that may change.
    log: called with the line that lists the applied changes.
    ignored_prefixes: bindings starting with these are not compared.

  Returns:
    The applied changes, [(binding, saved value, new value)].

  Raises:
    RunDirectoryError: a binding outside `resumable` differs.
  """
  path = os.path.join(model_dir, RUN_CONFIG)
  if not os.path.exists(path):
    write_atomic(path, current)
    return []
  with open(path) as f:
    saved = f.read()
  changes = [c for c in config_changes(saved, current)
             if not c[0].startswith(tuple(ignored_prefixes))]
  refused = [c for c in changes if c[0] not in resumable]
  if refused:
    raise errors.RunDirectoryError(
        "{} was started with other settings: {}. Rerun with the saved "
        "settings ({}), or start over with --overwrite or a new "
        "--model_dir.".format(model_dir, format_changes(refused), path))
  if changes:
    message = "Resumed with changed settings: {}.".format(
        format_changes(changes))
    log(message)
    with open(os.path.join(model_dir, CONFIG_CHANGES), "a") as f:
      f.write(message + "\n")
    write_atomic(path, current)
  return changes

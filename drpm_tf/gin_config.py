"""Parsing gin files and bindings given on a command line, and reading them.

`parse`: a gin file that cannot be opened, a binding that does not parse and
a parameter no configurable has are the user's mistakes: they are raised as
`errors.ConfigError` (one line from the command-line tools) instead of gin's
own exceptions.

`read_values`: what a list of gin files binds, following their `include`
statements as gin does, without registering or binding anything (the Table 1
sweep reads its presets in a process that never imports the trainer).

The packages ship their gin files as package data (`drpm_tf.gin_configs`,
`disentanglement_ext.gin_configs`). gin (0.5) opens a relative name that is
no file under the working directory as `<package path>/<file>` inside an
importable package (its `resource_reader`), so a name such as
`drpm_tf/gin_configs/generative/digits_quick.gin` works from any directory,
on a command line and in an `include` alike; `resolve` finds files the same
way. (A name relative to a directory added to gin's search path would make
gin log an error for every lookup that misses, and fail outright when the
first part of the name is also a directory on the Python path.)
"""
import importlib.util
import os

import gin

from drpm_tf import errors


def parse(config_files, bindings, skip_unknown=False, finalize=True):
  """`gin.parse_config_files_and_bindings`, raising `ConfigError`.

  `finalize=False` leaves the config unlocked (gin locks it otherwise), so
  that it can be parsed into again, e.g. to load several runs in a process.
  """
  try:
    gin.parse_config_files_and_bindings(config_files or [], bindings or [],
                                        finalize_config=finalize,
                                        skip_unknown=skip_unknown)
  except (OSError, ValueError, SyntaxError) as error:
    if isinstance(error, errors.UserError):
      raise
    message = " ".join(str(error).split())
    # gin's SyntaxError names only the line number; show the line.
    if isinstance(error, SyntaxError) and (error.text or "").strip():
      message += ": {}".format(error.text.strip())
    raise errors.ConfigError("Bad gin configuration: {}".format(
        message)) from error


def _in_package(filename):
  """`<package path>/<file>` inside an importable package, as gin reads it."""
  head, tail = os.path.split(filename)
  if not head or head.startswith((".", "/")):
    return None
  try:
    spec = importlib.util.find_spec(head.replace("/", "."))
  except (ImportError, ValueError):
    return None
  if spec is None or not spec.origin:
    return None
  candidate = os.path.join(os.path.dirname(spec.origin), tail)
  return candidate if os.path.isfile(candidate) else None


def resolve(filename):
  """The file gin opens for `filename` (an include or a --gin_config).

  As gin: an absolute path as it is; a relative one under the working
  directory, else inside an importable package. None if there is none.
  """
  if os.path.isabs(filename):
    return filename if os.path.isfile(filename) else None
  if os.path.isfile(filename):
    return os.path.abspath(filename)
  return _in_package(filename)


def statements(config_file, including=()):
  """gin statements of `config_file`, with its includes' statements in place.

  Raises:
    ConfigError: an include names no file, or the includes form a cycle.
  """
  from gin import config  # pylint: disable=g-import-not-at-top
  from gin import config_parser  # pylint: disable=g-import-not-at-top
  if config_file in including:
    raise errors.ConfigError("gin include cycle: {}.".format(
        " -> ".join(including + (config_file,))))
  with open(config_file) as f:
    parser = config_parser.ConfigParser(
        f, config.ParserDelegate(skip_unknown=True))
    parsed = list(parser)
  for statement in parsed:
    if isinstance(statement, config_parser.IncludeStatement):
      included = resolve(statement.filename)
      if included is None:
        raise errors.ConfigError(
            "{} includes {!r}: no such file (a path, or `<package>/gin_configs"
            "/...` for a package's configs).".format(config_file,
                                                      statement.filename))
      yield from statements(included, including + (config_file,))
    else:
      yield statement


def _values(parsed):
  """{'selector.param': value} of parsed gin statements; later bindings
  override earlier ones, as when gin applies them."""
  from gin import config_parser  # pylint: disable=g-import-not-at-top
  values = {}
  for statement in parsed:
    if isinstance(statement, config_parser.BindingStatement):
      key = statement.selector
      if statement.arg_name:
        key += "." + statement.arg_name
      if statement.scope:
        key = statement.scope + "/" + key
      values[key] = statement.value
  return values


def read_values(config_files):
  """{'train_weak.training_steps': 150, 'TABLE1_SEEDS': [0], ...} of files.

  Parses the files, and the files they include, with gin's parser only (no
  configurable needs to be registered, nothing is bound); later bindings
  override earlier ones, as when gin applies them.
  """
  return _values(statement for config_file in config_files
                 for statement in statements(config_file))


def read_text_values(text):
  """{'selector.param': value} of a gin config text (parsed, not bound).

  `include` statements are not followed (operative configs have none).
  """
  from gin import config  # pylint: disable=g-import-not-at-top
  from gin import config_parser  # pylint: disable=g-import-not-at-top
  return _values(config_parser.ConfigParser(
      text, config.ParserDelegate(skip_unknown=True)))

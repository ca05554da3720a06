"""drpm_tf.run_directory: atomic writes, markers, --overwrite, locks, config
changes."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from drpm_tf import errors
from drpm_tf import run_directory

import damage

# Each writer process rewrites the same file many times with its own text.
_WRITER = """
import sys
from drpm_tf import run_directory
path, text, count = sys.argv[1], sys.argv[2] * 20000, int(sys.argv[3])
for _ in range(count):
  run_directory.write_atomic(path, text)
"""


def test_concurrent_writers_never_leave_half_files_or_temp_files(tmp_path):
  path = str(tmp_path / "results.json")
  texts = {letter * 20000 for letter in "ab"}
  writers = [subprocess.Popen([sys.executable, "-c", _WRITER, path, letter,
                               "300"], stderr=subprocess.PIPE, text=True)
             for letter in "ab"]
  reads = 0
  while any(w.poll() is None for w in writers):
    if os.path.exists(path):
      with open(path) as f:
        assert f.read() in texts  # Never half a file, never a mix.
      reads += 1
  for writer in writers:
    assert writer.returncode == 0, writer.stderr.read()
  assert reads > 0
  with open(path) as f:
    assert f.read() in texts
  assert os.listdir(tmp_path) == ["results.json"]


def test_write_json_refuses_non_finite_values_and_keeps_the_old_file(
    tmp_path):
  path = str(tmp_path / "out" / "train.json")
  run_directory.write_json(path, {"loss": 1.5})
  with pytest.raises(ValueError):
    run_directory.write_json(path, {"loss": float("nan")})
  with open(path) as f:
    assert json.load(f) == {"loss": 1.5}
  assert os.listdir(tmp_path / "out") == ["train.json"]


def test_written_files_get_the_mode_open_would_give(tmp_path):
  path = str(tmp_path / "report.md")
  run_directory.write_atomic(path, "text")
  umask = os.umask(0)
  os.umask(umask)
  assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_a_folder_that_is_not_ours_is_neither_used_nor_cleared(tmp_path):
  folder = tmp_path / "my_data"
  (folder / "sub").mkdir(parents=True)
  (folder / "notes.txt").write_text("keep me")
  (folder / "sub" / "table.csv").write_text("1,2")
  before = damage.snapshot(folder)
  for call in (run_directory.check_usable, run_directory.clear_run):
    with pytest.raises(errors.RunDirectoryError, match=str(folder)):
      call(str(folder))
  assert damage.snapshot(folder) == before


def test_clear_run_empties_our_runs_but_keeps_lock_files(tmp_path):
  run = tmp_path / "run"
  run_directory.mark(str(run), "test")
  (run / "checkpoints").mkdir()
  (run / "checkpoints" / "ckpt-1.index").write_text("x")
  (run / ".run.lock").write_text("")
  (run / ".sweep.lock").write_text("")
  run_directory.check_usable(str(run))
  run_directory.clear_run(str(run))
  assert sorted(os.listdir(run)) == [".run.lock", ".sweep.lock"]
  # Missing and empty directories are usable; clearing them is a no-op.
  run_directory.check_usable(str(tmp_path / "new"))
  run_directory.clear_run(str(tmp_path / "new"))
  assert not (tmp_path / "new").exists()


def test_runs_made_before_markers_are_recognized_by_their_files(tmp_path):
  legacy = tmp_path / "old_run"
  (legacy / "checkpoints").mkdir(parents=True)
  (legacy / "checkpoints" / "checkpoint").write_text("x")
  signature = (os.path.join("checkpoints", "checkpoint"),)
  with pytest.raises(errors.RunDirectoryError):
    run_directory.check_usable(str(legacy))
  run_directory.check_usable(str(legacy), signature)
  run_directory.clear_run(str(legacy), signature)
  assert os.listdir(legacy) == []


def test_mark_writes_the_marker_once(tmp_path):
  run = str(tmp_path / "run")
  run_directory.mark(run, "first")
  run_directory.mark(run, "second")
  with open(os.path.join(run, run_directory.MARKER)) as f:
    assert json.load(f)["kind"] == "first"
  assert run_directory.is_ours(run)


def test_check_writable_names_the_problem(tmp_path, monkeypatch):
  a_file = tmp_path / "a_file"
  a_file.write_text("")
  with pytest.raises(errors.RunDirectoryError, match="is a file"):
    run_directory.check_writable(str(a_file))
  with pytest.raises(errors.RunDirectoryError, match="is a file"):
    run_directory.check_writable(str(a_file / "run"))
  run_directory.check_writable(str(tmp_path / "new" / "run"))
  # Permissions do not restrict root, so the refusal is simulated.
  monkeypatch.setattr(run_directory.os, "access", lambda path, mode: False)
  with pytest.raises(errors.RunDirectoryError,
                     match=r"new/run is not writable \(.* does not allow"):
    run_directory.check_writable(str(tmp_path / "new" / "run"))


def test_a_lock_held_by_another_process_keeps_others_out_until_it_dies(
    tmp_path, hold_lock):
  run = str(tmp_path / "run")
  holder = hold_lock(run)
  assert run_directory.is_locked(run)
  start = time.time()
  with pytest.raises(errors.RunDirectoryError,
                     match="{} is in use by another process".format(run)):
    with run_directory.run_lock(run):
      pass
  assert time.time() - start < 5  # At once, not after a wait.
  # Another lock name in the same directory is independent.
  with run_directory.run_lock(run, name=".sweep.lock"):
    pass
  holder.kill()  # As a crash would: the OS releases the lock.
  holder.wait()
  assert not run_directory.is_locked(run)
  with run_directory.run_lock(run):
    assert os.path.exists(os.path.join(run, ".run.lock"))


def test_a_waiting_lock_gets_the_run_when_the_holder_exits(tmp_path,
                                                           hold_lock):
  run = str(tmp_path / "run")
  holder = hold_lock(run)
  timer = time.time()
  subprocess.Popen(["sleep 1; kill {}".format(holder.pid)], shell=True)
  with run_directory.run_lock(run, wait=True):
    assert time.time() - timer > 0.5
    assert holder.wait(timeout=5) == -signal.SIGTERM


def test_config_changes_compare_values_not_spellings():
  saved = "\n".join(["train_weak.learning_rate = 1e-4",
                     "weak_pairs.n_s = 3",
                     "weak_vae.aggregation = 'drpm'",
                     "train_weak.log_every = 10"])
  new = "\n".join(["train_weak.learning_rate = 0.0001",  # the same value
                   "weak_pairs.n_s = 1",
                   "weak_vae.aggregation = 'hg'",
                   "train_weak.export = False"])
  changes = run_directory.config_changes(saved, new)
  assert changes == [("train_weak.export", None, False),
                     ("train_weak.log_every", 10, None),
                     ("weak_pairs.n_s", 3, 1),
                     ("weak_vae.aggregation", "drpm", "hg")]
  assert run_directory.format_changes(changes[2:]) == (
      "weak_pairs.n_s: 3 -> 1; weak_vae.aggregation: 'drpm' -> 'hg'")
  assert run_directory.config_changes(saved, saved) == []


def test_run_kind_reads_the_marker(tmp_path):
  run = str(tmp_path / "run")
  assert run_directory.run_kind(run) is None
  run_directory.mark(run, "drpm-train-generative")
  assert run_directory.run_kind(run) == "drpm-train-generative"
  with open(os.path.join(run, run_directory.MARKER), "w") as f:
    f.write("{not json")
  assert run_directory.run_kind(run) is None


def test_check_config_changes_applies_records_and_refuses(tmp_path):
  run = str(tmp_path / "run")
  os.makedirs(run)
  saved = "t.rate = 0.1\nt.steps = 5\nm.size = 3\nSWEEP_X = 1\n"
  resumable = {"t.rate", "t.steps"}
  lines = []
  check = lambda text: run_directory.check_config_changes(  # noqa: E731
      run, text, resumable, log=lines.append, ignored_prefixes=("SWEEP_",))
  assert check(saved) == [] and lines == []
  record = os.path.join(run, run_directory.RUN_CONFIG)
  with open(record) as f:
    assert f.read() == saved
  assert check(saved) == []
  assert not os.path.exists(os.path.join(run, run_directory.CONFIG_CHANGES))
  refused = saved.replace("m.size = 3", "m.size = 4").replace(
      "t.rate = 0.1", "t.rate = 0.2")
  with pytest.raises(errors.RunDirectoryError) as error:
    check(refused)
  assert str(error.value) == (
      "{} was started with other settings: m.size: 3 -> 4. Rerun with the "
      "saved settings ({}), or start over with --overwrite or a new "
      "--model_dir.".format(run, record))
  with open(record) as f:
    assert f.read() == saved
  applied = saved.replace("t.rate = 0.1", "t.rate = 0.2").replace(
      "t.steps = 5", "t.steps = 8").replace("SWEEP_X = 1", "SWEEP_X = 2")
  assert check(applied) == [("t.rate", 0.1, 0.2), ("t.steps", 5, 8)]
  message = ("Resumed with changed settings: t.rate: 0.1 -> 0.2; t.steps: "
             "5 -> 8.")
  assert lines == [message]
  with open(os.path.join(run, run_directory.CONFIG_CHANGES)) as f:
    assert f.read() == message + "\n"
  with open(record) as f:
    assert f.read() == applied

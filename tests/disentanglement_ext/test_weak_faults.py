"""drpm-train-weak and the Table 1 sweep under faults: --overwrite, divergence,
damaged checkpoints and exports, changed settings, locks, one-line errors."""
import glob
import json
import os
import re
import shutil

import gin
import numpy as np
import pytest
import tensorflow as tf

from disentanglement_ext import export
from disentanglement_ext import gin_configs
from disentanglement_ext import run_layout
from disentanglement_ext import train
from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import runs
from drpm_tf import errors

import cli_runs
import damage

QUICK_GIN = gin_configs.path("weak", "quick.gin")
# An unfinished run: checkpoints at steps 5 and 10 of 15 (`interrupted_run`).
STEPS, INTERRUPTED_AT = 15, 12


def _bindings(**overrides):
  values = dict(training_steps=STEPS, checkpoint_every=5, log_every=1,
                export=False, max_checkpoints_to_keep=5)
  values.update(overrides)
  return ["train_weak.{} = {!r}".format(k, v) for k, v in values.items()]


def _train(model_dir, overwrite=False, extra=(), **overrides):
  return train.train_with_gin(model_dir, overwrite, [QUICK_GIN],
                              _bindings(**overrides) + list(extra))


class _Crash(Exception):
  """Stands for a kill in the middle of training."""


def _crash_at(monkeypatch, step):
  log = train._log  # pylint: disable=protected-access

  def crashing_log(message):
    log(message)
    if message.startswith("step {}/".format(step)):
      raise _Crash(message)
  monkeypatch.setattr(train, "_log", crashing_log)


@pytest.fixture(autouse=True)
def _clear_gin():
  gin.clear_config()
  yield
  gin.clear_config()


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
  """A run of STEPS steps that crashed at INTERRUPTED_AT (ckpt-5, ckpt-10)."""
  model_dir = str(tmp_path_factory.mktemp("template") / "run")
  with pytest.MonkeyPatch.context() as monkeypatch:
    _crash_at(monkeypatch, INTERRUPTED_AT)
    with pytest.raises(_Crash):
      _train(model_dir)
  gin.clear_config()
  return model_dir


@pytest.fixture
def run_copy(interrupted_run, tmp_path):
  model_dir = str(tmp_path / "run")
  shutil.copytree(interrupted_run, model_dir)
  return model_dir


def _checkpoint_dir(model_dir):
  return os.path.join(model_dir, run_layout.CHECKPOINTS)


def _non_finite_variables(checkpoint_prefix):
  reader = tf.train.load_checkpoint(checkpoint_prefix)
  dtypes = reader.get_variable_to_dtype_map()
  return [key for key in dtypes if dtypes[key].is_floating and
          not np.all(np.isfinite(reader.get_tensor(key)))]


def _learning_rate(checkpoint_prefix):
  reader = tf.train.load_checkpoint(checkpoint_prefix)
  keys = [k for k in reader.get_variable_to_shape_map()
          if k.startswith("optimizer/") and "learning_rate" in k]
  assert len(keys) == 1, keys
  return float(reader.get_tensor(keys[0]))


def _resumed_step(output):
  found = re.findall(r"Resumed from (\S+) \(step (\d+)\)", output)
  assert len(found) == 1, output[-2000:]
  return found[0][0], int(found[0][1])


# ------------------------------------------------------------ --overwrite --

def test_a_folder_that_is_not_a_run_is_refused_and_left_alone(tmp_path):
  folder = tmp_path / "thesis"
  (folder / "chapters").mkdir(parents=True)
  (folder / "chapters" / "one.tex").write_text("\\chapter{One}")
  (folder / "notes.txt").write_text("keep")
  before = sorted(os.listdir(folder))
  contents = damage.snapshot(str(folder))
  for overwrite in (True, False):
    with pytest.raises(errors.RunDirectoryError,
                       match="Refusing to use --model_dir {}".format(folder)):
      _train(str(folder), overwrite=overwrite)
    # Nothing deleted, nothing added (not even a lock file or a marker).
    assert sorted(os.listdir(folder)) == before
    assert damage.snapshot(str(folder)) == contents


def test_overwrite_checks_every_setting_before_deleting(run_copy):
  before = damage.snapshot(run_copy)
  with pytest.raises(errors.ConfigError, match="train_weak.batch_size"):
    _train(run_copy, overwrite=True, batch_size=0)
  with pytest.raises(errors.ConfigError, match="Unknown aggregation"):
    _train(run_copy, overwrite=True,
           extra=["weak_vae.aggregation = 'ada_vae'"])
  assert damage.snapshot(run_copy) == before


def test_overwrite_restarts_our_run(run_copy, capsys):
  # Settings that a resume would refuse are fine for a new run.
  result = _train(run_copy, overwrite=True, training_steps=3,
                  extra=["weak_pairs.n_s = 1"])
  assert result["global_step"] == 3 and result["n_s"] == 1
  assert "Resumed" not in capsys.readouterr().out
  assert sorted(os.path.basename(p) for p in glob.glob(
      os.path.join(_checkpoint_dir(run_copy), "*.index"))) == ["ckpt-3.index"]
  assert os.path.exists(os.path.join(run_copy, "drpm_run.json"))
  assert not os.path.exists(os.path.join(run_copy, run_layout.CONFIG_CHANGES))
  # Finished now: a plain rerun refuses and points at the ways out.
  with pytest.raises(errors.RunDirectoryError,
                     match="finished run.*--overwrite.*--export_only"):
    _train(run_copy, training_steps=3, extra=["weak_pairs.n_s = 1"])


# ------------------------------------------------------------- divergence --

def test_divergence_stops_at_once_and_never_saves_a_non_finite_value(
    tmp_path, capsys):
  model_dir = str(tmp_path / "run")
  with pytest.raises(errors.TrainingDivergedError) as error:
    _train(model_dir, learning_rate=1e8, checkpoint_every=1)
  message = str(error.value)
  step = int(re.search(r"diverged at step (\d+)", message).group(1))
  assert step >= 2
  assert "Lower train_weak.learning_rate" in message
  last = os.path.join(_checkpoint_dir(model_dir), "ckpt-{}".format(step - 1))
  assert "last good checkpoint ({}) is kept".format(last) in message
  assert tf.train.latest_checkpoint(_checkpoint_dir(model_dir)) == last
  for prefix in tf.train.get_checkpoint_state(
      _checkpoint_dir(model_dir)).all_model_checkpoint_paths:
    assert _non_finite_variables(prefix) == [], prefix
  assert not os.path.exists(os.path.join(model_dir, run_layout.TRAIN_RESULTS))
  # The step-1 update was already huge: resuming from it diverges at the
  # first step, and the message says to start over instead.
  capsys.readouterr()
  with pytest.raises(errors.TrainingDivergedError,
                     match="first step after resuming.*--overwrite"):
    _train(model_dir, learning_rate=1e-4, checkpoint_every=1)
  result = _train(model_dir, overwrite=True, learning_rate=1e-4,
                  training_steps=3, checkpoint_every=1)
  assert np.isfinite(result["loss"])


def test_resume_with_a_lower_learning_rate_after_divergence(run_copy,
                                                            capsys):
  with pytest.raises(errors.TrainingDivergedError,
                     match="Lower train_weak.learning_rate") as error:
    _train(run_copy, learning_rate=1e8)
  step = int(re.search(r"diverged at step (\d+)", str(error.value)).group(1))
  assert 10 < step <= STEPS
  checkpoints = tf.train.get_checkpoint_state(_checkpoint_dir(run_copy))
  assert [os.path.basename(p) for p in
          checkpoints.all_model_checkpoint_paths] == ["ckpt-5", "ckpt-10"]
  for prefix in checkpoints.all_model_checkpoint_paths:
    assert _non_finite_variables(prefix) == [], prefix
  capsys.readouterr()
  result = _train(run_copy, learning_rate=2e-4)
  path, step = _resumed_step(capsys.readouterr().out)
  assert (os.path.basename(path), step) == ("ckpt-10", 10)
  assert result["global_step"] == STEPS
  assert all(np.isfinite(v) for v in result.values()
             if isinstance(v, float))
  with open(os.path.join(run_copy, run_layout.CONFIG_CHANGES)) as f:
    changes = f.read().splitlines()
  assert changes == [
      "Resumed with changed settings: train_weak.learning_rate: 0.0001 -> "
      "100000000.0.",
      "Resumed with changed settings: train_weak.learning_rate: 100000000.0 "
      "-> 0.0002."]


# ---------------------------------------------------- damaged checkpoints --

@pytest.mark.parametrize("damage_files,reason", [
    (damage.truncate_data, "Read less bytes than requested"),
    (damage.garbage_index, "not an sstable")])
def test_a_damaged_newest_checkpoint_is_skipped_and_kept(run_copy, capsys,
                                                         damage_files,
                                                         reason):
  newest = os.path.join(_checkpoint_dir(run_copy), "ckpt-10")
  damage_files(newest)
  result = _train(run_copy)
  output = capsys.readouterr().out
  damaged_dir = os.path.join(_checkpoint_dir(run_copy), "damaged")
  assert "Skipped checkpoint {}: it does not restore ({}".format(
      newest, reason) in output
  assert "kept in {}".format(damaged_dir) in output
  path, step = _resumed_step(output)
  assert (os.path.basename(path), step) == ("ckpt-5", 5)
  assert sorted(os.listdir(damaged_dir)) == [
      "ckpt-10.data-00000-of-00001", "ckpt-10.index"]
  assert result["global_step"] == STEPS
  # The run's own checkpoints go on from there (ckpt-10 again, then 15).
  assert [os.path.basename(p) for p in tf.train.get_checkpoint_state(
      _checkpoint_dir(run_copy)).all_model_checkpoint_paths] == [
          "ckpt-5", "ckpt-10", "ckpt-15"]


# ------------------------------------------------------ changed settings --

def test_a_new_learning_rate_is_applied_on_resume_and_recorded(run_copy,
                                                               capsys):
  assert _learning_rate(os.path.join(_checkpoint_dir(run_copy),
                                     "ckpt-10")) == pytest.approx(1e-4)
  _train(run_copy, learning_rate=5e-4)
  assert "Resumed with changed settings: train_weak.learning_rate: 0.0001 " \
         "-> 0.0005." in capsys.readouterr().out
  # The optimizer trained on with the new rate (not the restored one).
  assert _learning_rate(os.path.join(_checkpoint_dir(run_copy),
                                     "ckpt-15")) == pytest.approx(5e-4)
  with open(os.path.join(run_copy, run_layout.CONFIG_CHANGES)) as f:
    assert f.read() == ("Resumed with changed settings: "
                        "train_weak.learning_rate: 0.0001 -> 0.0005.\n")
  with open(os.path.join(run_copy, run_layout.RUN_CONFIG)) as f:
    assert "train_weak.learning_rate = 0.0005" in f.read()


def test_other_changed_settings_are_refused_listing_them(run_copy):
  before = damage.snapshot(run_copy)
  with pytest.raises(errors.RunDirectoryError) as error:
    _train(run_copy, extra=["weak_pairs.n_s = 1",
                            "weak_vae.aggregation = 'hg'"])
  message = str(error.value)
  assert "weak_pairs.n_s: 3 -> 1" in message
  assert "weak_vae.aggregation: 'drpm' -> 'hg'" in message
  assert "--overwrite" in message and "--model_dir" in message
  assert damage.snapshot(run_copy) == before


# ---------------------------------------------------------------- locking --

def test_a_run_held_by_another_process_is_refused(run_copy, hold_lock):
  before = damage.snapshot(run_copy)
  hold_lock(run_copy)
  with pytest.raises(errors.RunDirectoryError,
                     match="{} is in use by another process".format(
                         run_copy)):
    _train(run_copy)
  assert damage.snapshot(run_copy) == before


def test_the_sweep_skips_a_run_another_sweep_holds(tmp_path, hold_lock):
  settings = presets.load_settings("demo")
  run = runs.enumerate_runs(settings, str(tmp_path))[0]
  hold_lock(run.model_dir, name=run_layout.SWEEP_LOCK)
  messages = []
  name, status, _ = runs.execute_run(run, settings, log=messages.append)
  assert (name, status) == (run.name, "busy")
  assert messages == ["[{}] skipped: another process is working on "
                      "it.".format(run.name)]
  assert os.listdir(run.model_dir) == [run_layout.SWEEP_LOCK]


# --------------------------------------------------------- damaged export --

@pytest.fixture(scope="module")
def exported_run(tmp_path_factory):
  """A finished and evaluated sweep run of the demo preset (3 steps)."""
  settings = presets.load_settings("demo")
  run = runs.enumerate_runs(settings,
                              str(tmp_path_factory.mktemp("sweep")))[0]
  _train(run.model_dir, training_steps=3, export=True)
  gin.clear_config()
  for path in (run_layout.EVAL_RESULTS, run_layout.VALIDATION_RESULTS):
    path = os.path.join(run.model_dir, path)
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
      json.dump({"S": 0.5, "I": 0.5}, f)
  assert runs.is_finished(run.model_dir)
  return settings, run


def _delete_variables(model_dir):
  shutil.rmtree(os.path.join(model_dir, "tfhub", "variables"))


def _truncate_graph(model_dir):
  path = os.path.join(model_dir, "postprocessed", "mean", "tfhub",
                      "saved_model.pb")
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 3)


@pytest.mark.parametrize("damage_export", [_delete_variables,
                                           _truncate_graph])
def test_a_damaged_export_is_redone_from_the_checkpoints(exported_run,
                                                         tmp_path,
                                                         damage_export):
  settings, template = exported_run
  run = template._replace(model_dir=str(tmp_path / template.name))
  shutil.copytree(template.model_dir, run.model_dir)
  damage_export(run.model_dir)
  assert export.verify_export(run.model_dir)
  assert not runs.is_finished(run.model_dir)
  # The plain training command says how to redo the export.
  with pytest.raises(errors.RunDirectoryError, match="--export_only"):
    _train(run.model_dir, training_steps=3, export=True)
  # Leftovers of an export killed half-way.
  for parent in (run.model_dir,
                 os.path.join(run.model_dir, "postprocessed", "mean")):
    os.makedirs(os.path.join(parent, export.TMP_PREFIX + "killed", "module"))
  checkpoints = damage.snapshot(_checkpoint_dir(run.model_dir))
  results = damage.snapshot(os.path.join(run.model_dir, "results"))
  name, status, _ = runs.execute_run(run, settings, threads=1)
  with open(os.path.join(run.model_dir, run_layout.SWEEP_LOG)) as f:
    log = f.read()
  assert (name, status) == (run.name, "done"), log[-3000:]
  commands = [line for line in log.splitlines() if line.startswith("$ ")]
  assert len(commands) == 1 and commands[0].endswith(
      "--model_dir {} --export_only".format(run.model_dir))
  assert runs.is_finished(run.model_dir)
  assert export.verify_export(run.model_dir) == []
  # Not retrained.
  assert damage.snapshot(_checkpoint_dir(run.model_dir)) == checkpoints
  assert damage.snapshot(os.path.join(run.model_dir, "results")) == results
  assert not glob.glob(os.path.join(run.model_dir, "**",
                                    export.TMP_PREFIX + "*"), recursive=True)


def test_export_only_needs_a_finished_training(run_copy, tmp_path):
  before = damage.snapshot(run_copy)
  with pytest.raises(errors.RunDirectoryError,
                     match="--export_only needs a finished training"):
    export.export_run(run_copy)
  assert damage.snapshot(run_copy) == before
  missing = str(tmp_path / "typo")
  with pytest.raises(errors.RunDirectoryError, match="typo holds none"):
    export.export_run(missing)
  assert not os.path.exists(missing)


# ---------------------------------------------------------- CLI messages --

def _train_cli(model_dir, *bindings, verbose=False):
  args = ["--model_dir", model_dir, "--gin_config", QUICK_GIN]
  for binding in bindings:
    args += ["--gin_bindings", binding]
  return cli_runs.command("drpm-train-weak", *args, verbose=verbose)


def test_bad_input_is_one_line_without_traceback(tmp_path):
  a_file = tmp_path / "a_file"
  a_file.write_text("")
  new = str(tmp_path / "new")
  command = cli_runs.command
  commands = {
      "batch_size": _train_cli(new, "train_weak.batch_size = 0"),
      "checkpoint_every": _train_cli(new, "train_weak.checkpoint_every = 0"),
      "file": _train_cli(str(a_file)),
      "aggregation": _train_cli(new, "weak_vae.aggregation = 'ada_vae'"),
      "verbose": _train_cli(new, "train_weak.batch_size = 0", verbose=True),
      "evaluate": command("drpm-evaluate-weak", "--model_dir", new),
      "dlib": command("drpm-dlib-evaluate", "--input_dir", new, "--output_dir",
                      str(tmp_path / "out")),
      "table1": command("drpm-reproduce-table1", "--preset", "nosuch",
                        "--output_dir", new),
      "variants": command("drpm-table1-variants", "--preset", "nosuch",
                          "--stage", "scores", "--output_root", new),
      "visualize": command("drpm-visualize-dataset", "--dataset", "nosuch",
                           "--output", str(tmp_path / "x.png")),
  }
  done = cli_runs.run_all(commands)
  tool = "drpm-train-weak"
  one_line = cli_runs.assert_one_line
  one_line(tool, *done["batch_size"], "train_weak.batch_size",
           "integer >= 1", "got 0")
  one_line(tool, *done["checkpoint_every"], "train_weak.checkpoint_every",
           "integer >= 1")
  one_line(tool, *done["file"], str(a_file), "is a file")
  one_line(tool, *done["aggregation"], "'ada_vae'",
           "label, adaptive, hg, drpm")
  returncode, stderr = done["verbose"]
  assert returncode == 2 and "Traceback (most recent call last)" in stderr
  assert "drpm-train-weak: error: train_weak.batch_size" in stderr
  assert not os.path.exists(new)  # Nothing was created by any of them.
  one_line("drpm-evaluate-weak", *done["evaluate"], new,
           "trained model directory")
  one_line("drpm-dlib-evaluate", *done["dlib"], new, "no TF-Hub module")
  one_line("drpm-reproduce-table1", *done["table1"], "'nosuch'", "Presets:")
  one_line("drpm-table1-variants", *done["variants"], "'nosuch'")
  # The error names the valid datasets.
  one_line("drpm-visualize-dataset", *done["visualize"], "'nosuch'",
           "synthetic_mpi3d")
  assert not os.path.exists(tmp_path / "x.png")


def test_a_model_dir_that_cannot_be_created_is_one_line(tmp_path):
  read_only = tmp_path / "read_only"
  read_only.mkdir()
  read_only.chmod(0o555)
  if os.access(read_only, os.W_OK):
    pytest.skip("permissions do not restrict this user (root); "
                "tests/test_run_directory.py simulates the refusal")
  run = str(read_only / "run")
  done = cli_runs.run_all({"read_only": _train_cli(run)})
  cli_runs.assert_one_line("drpm-train-weak", *done["read_only"], run,
                           "not writable")


"""Table 1 runs: their commands, the skip logic, and what they train."""
import os

import gin
import pytest

from disentanglement_ext import run_layout
from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import runs

import fake_runs


def test_run_commands_use_the_gin_files(tmp_path):
  settings = presets.load_settings("quick")
  run = runs.enumerate_runs(settings, str(tmp_path))[5]
  commands = runs.run_commands(run, settings, dci=True)
  train = commands["train"]
  assert train[1:3] == ["-m", "disentanglement_ext.bin.train_weak"]
  configs = [train[i + 1] for i, a in enumerate(train) if a == "--gin_config"]
  assert [os.path.basename(c) for c in configs] == [
      "base.gin", run.method + ".gin", "ns{}.gin".format(run.n_s),
      "quick.gin"]
  assert all(os.path.dirname(c) == presets.CONFIG_DIR for c in configs)
  assert "train_weak.random_seed = {}".format(run.seed) in train
  evaluate = commands["evaluate"]
  assert evaluate[evaluate.index("--min_pairs_per_factor") + 1] == str(
      settings["eval_min_pairs"]) == "1000"
  assert "--split" not in evaluate
  assert commands["validate"] == evaluate + ["--split", "validation"]
  assert commands["dci"][-2] == os.path.join(presets.EVALUATION_CONFIG_DIR,
                                             "dci_quick.gin")
  assert os.path.isfile(commands["dci"][-2])


def test_skip_finished_and_detect_unfinished(tmp_path, fake_exports):
  settings = presets.load_settings("demo")
  grid = runs.enumerate_runs(settings, str(tmp_path))
  fake_runs.finish(grid[0], 0.1, 0.2, 0.5)
  fake_runs.finish(grid[1], 0.1, 0.2, 0.5, evaluated=False)
  assert runs.is_finished(grid[0].model_dir)
  assert not runs.is_finished(grid[1].model_dir)
  assert not runs.is_finished(grid[0].model_dir, dci=True)
  assert runs.missing_stages(grid[1].model_dir) == ["evaluate", "validate"]
  assert runs.missing_stages(grid[2].model_dir, dci=True) == [
      "train", "evaluate", "validate", "dci"]
  name, status, _ = runs.execute_run(grid[0], settings)
  assert (name, status) == (grid[0].name, "skipped")
  assert not os.path.exists(os.path.join(grid[0].model_dir,
                                         run_layout.SWEEP_LOG))


def test_paper_preset_needs_the_real_mpi3d_toy(tmp_path, monkeypatch):
  from disentanglement_ext import train  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path / "data"))
  settings = presets.load_settings("paper")
  run = runs.enumerate_runs(settings, str(tmp_path / "out"))[0]
  argv = runs.run_commands(run, settings)["train"]
  configs = [argv[i + 1] for i, a in enumerate(argv) if a == "--gin_config"]
  bindings = [argv[i + 1] for i, a in enumerate(argv) if a == "--gin_bindings"]
  gin.clear_config()
  try:
    with pytest.raises(FileNotFoundError) as error:
      train.train_with_gin(run.model_dir, False, configs, bindings)
  finally:
    gin.clear_config()
  message = str(error.value)
  assert "mpi3d_toy.npz" in message and "DISENTANGLEMENT_LIB_DATA" in message
  assert str(tmp_path / "data") in message
  # Nothing was trained or written for the run.
  assert not os.path.exists(os.path.join(run.model_dir, "checkpoints"))

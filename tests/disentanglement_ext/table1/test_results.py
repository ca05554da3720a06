"""What the sweep reads back from runs: records, cells, training curves."""
import os

import pytest

from disentanglement_ext.table1 import plots
from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import results
from disentanglement_ext.table1 import runs

import fake_runs


def test_records_and_cells_of_fake_runs(tmp_path):
  settings = presets.load_settings("quick")
  grid = {r.name: r for r in runs.enumerate_runs(settings, str(tmp_path))}
  fake_runs.finish(grid["adaptive_ns1_seed0"], 0.2, 0.5, 1.0, 2.0,
                   train_seconds=10.)
  fake_runs.finish(grid["adaptive_ns1_seed1"], 0.4, 0.7, 3.0, 4.0)
  fake_runs.finish(grid["drpm_ns0_seed0"], None, 0.3, 0.25, 0.5)
  fake_runs.finish(grid["drpm_ns5_seed0"], 0.9, 0.9, 0.0, evaluated=False)
  records = results.collect_results(list(grid.values()))
  assert sorted((r["method"], r["n_s"], r["seed"]) for r in records) == [
      ("adaptive", 1, 0), ("adaptive", 1, 1), ("drpm", 0, 0)]
  assert [r["train_seconds"] for r in records
          if r["seed"] == 0 and r["method"] == "adaptive"] == [10.]
  table = results.summarize(records)
  cell = table["adaptive", 1]
  assert cell["runs"] == 2
  assert cell["S"] == pytest.approx((0.3, 0.1414214, 2))
  assert cell["mse"] == pytest.approx((2.0, 1.4142136, 2))
  assert cell["num_shared_dims"] == pytest.approx((3.0, 1.4142136, 2))
  # n_s = 0 has no S column, whatever the run reported.
  assert table["drpm", 0]["S"] is None
  assert table["drpm", 0]["I"] == pytest.approx((0.3, 0., 1))
  assert table["drpm", 5]["runs"] == 0 and table["drpm", 5]["I"] is None
  assert results.table1_columns((0, 1)) == [(0, "I"), (1, "S"), (1, "I")]


def test_shared_dims_curves_from_tensorboard_scalars(tmp_path):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  settings = presets.load_settings("quick")
  grid = [r for r in runs.enumerate_runs(settings, str(tmp_path))
          if r.n_s == 3 and r.method in ("adaptive", "drpm")]
  for index, run in enumerate(grid):
    writer = tf.summary.create_file_writer(os.path.join(run.model_dir,
                                                        "tensorboard"))
    with writer.as_default():
      for step in (100, 200, 300):
        # drpm logs both scalars: the deterministic `_mode` one is read.
        tf.summary.scalar("aggregation/num_shared_dims", 9., step=step)
        if run.method == "drpm":
          tf.summary.scalar("aggregation/num_shared_dims_mode",
                            step / 100. + index, step=step)
    writer.close()
  drpm = [r for r in grid if r.method == "drpm"]
  assert results.read_shared_dims_curve(drpm[0].model_dir) == [
      (100, 1. + grid.index(drpm[0])), (200, 2. + grid.index(drpm[0])),
      (300, 3. + grid.index(drpm[0]))]
  ada = [r for r in grid if r.method == "adaptive"][0]
  assert results.read_shared_dims_curve(ada.model_dir) == [
      (100, 9.), (200, 9.), (300, 9.)]
  assert results.read_shared_dims_curve(str(tmp_path / "nothing")) == []
  path = str(tmp_path / "curves.png")
  plots.plot_shared_dims_curves(path, grid, ["adaptive", "drpm"], [1, 3],
                                "title")
  with open(path, "rb") as f:
    assert f.read(8) == fake_runs.PNG_MAGIC

"""The Table 1 report: Markdown, CSV and plots of fake runs."""
import csv
import os

import pytest

from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import report
from disentanglement_ext.table1 import runs

import fake_runs


def test_aggregation_of_fake_results(tmp_path, fake_exports):
  out = str(tmp_path)
  settings = presets.load_settings("quick")
  grid = {r.name: r for r in runs.enumerate_runs(settings, out)}
  # ADA, n_s = 1, two seeds; DRPM, n_s = 0, one seed; everything else missing.
  fake_runs.finish(grid["adaptive_ns1_seed0"], 0.2, 0.5, 1.0, 2.0)
  fake_runs.finish(grid["adaptive_ns1_seed1"], 0.4, 0.7, 3.0, 4.0)
  fake_runs.finish(grid["drpm_ns0_seed0"], None, 0.3, 0.25, 0.5)
  # A trained but unevaluated run is not counted.
  fake_runs.finish(grid["drpm_ns5_seed0"], 0.9, 0.9, 0.0, evaluated=False)
  text = report.write_report(out, settings, list(grid.values()), "CMD")
  with open(os.path.join(out, "table1_quick.md")) as f:
    assert f.read() == text
  lines = text.splitlines()
  header = [l for l in lines if l.startswith("| method | n_s=0")][0]
  assert header == ("| method | n_s=0: I | n_s=1: S | n_s=1: I | n_s=3: S | "
                    "n_s=3: I | n_s=5: S | n_s=5: I |")
  ada = [l for l in lines if l.startswith("| ADA |")][0]
  assert ada == ("| ADA | - | 0.300 ± 0.141 | 0.600 ± 0.141 | - | - | - | - |")
  drpm = [l for l in lines if l.startswith("| DRPM |")][0]
  assert drpm == "| DRPM | 0.300 ± 0.000 | - | - | - | - | - | - |"
  assert "| LABEL | - | - | - | - | - | - | - |" in lines
  assert "| HG | - | - | - | - | - | - | - |" in lines
  # Figure 5 table: MSE.
  assert "| ADA | - | 2.00 ± 1.41 | - | - |" in lines
  assert "- Finished runs: 3 of 32." in lines
  assert "- Command: `CMD`" in lines
  assert "steps" in text and "conv32" in text and "seeds 0, 1" in text

  with open(os.path.join(out, "table1_quick.csv")) as f:
    rows = list(csv.DictReader(f))
  assert [r["method"] for r in rows] == ["LABEL", "ADA", "HG", "DRPM"]
  assert "ns0_S_mean" not in rows[0]
  ada = rows[1]
  assert float(ada["ns1_S_mean"]) == pytest.approx(0.3, abs=1e-6)
  assert float(ada["ns1_S_std"]) == pytest.approx(0.1414214, abs=1e-6)
  assert float(ada["ns1_I_mean"]) == pytest.approx(0.6, abs=1e-6)
  assert float(ada["ns1_mse_mean"]) == pytest.approx(2.0, abs=1e-6)
  assert float(ada["ns1_mse_std"]) == pytest.approx(1.4142136, abs=1e-6)
  assert ada["ns1_runs"] == "2" and ada["ns3_runs"] == "0"
  assert ada["ns0_I_mean"] == "-" and ada["ns3_S_mean"] == "-"
  assert float(rows[3]["ns0_I_mean"]) == pytest.approx(0.3)
  assert rows[3]["ns5_S_mean"] == "-"

  from matplotlib import image  # pylint: disable=g-import-not-at-top
  for name in ("table1_quick.png", "figure5_quick.png"):
    path = os.path.join(out, name)
    with open(path, "rb") as f:
      assert f.read(8) == fake_runs.PNG_MAGIC
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_active_dims_and_per_factor_scores(tmp_path):
  out = str(tmp_path)
  settings = presets.load_settings("quick")
  grid = {r.name: r for r in runs.enumerate_runs(settings, out)}
  per_factor = [0.1 * j for j in range(7)]
  fake_runs.finish(grid["hg_ns1_seed0"], 0.2, 0.5, 1.0, 2.0, extra=dict(
      num_active_dims=3, num_shared_active_dims_mean=0.5,
      S_per_factor=per_factor, I_per_factor=[1.] * 7))
  fake_runs.finish(grid["hg_ns3_seed0"], 0.2, 0.5, 1.0, 2.0, extra=dict(
      num_active_dims=5, num_shared_active_dims_mean=1.5,
      S_per_factor=[x + 0.2 for x in per_factor], I_per_factor=[0.] * 7))
  # A run evaluated before these fields existed counts in no such cell.
  fake_runs.finish(grid["hg_ns1_seed1"], 0.2, 0.5, 1.0, 2.0)
  lines = report.write_report(out, settings, list(grid.values()),
                              "CMD").splitlines()
  active = lines.index("## Active latent dims")
  assert "| HG | - | 3.00 ± 0.00 | 5.00 ± 0.00 | - |" in lines[active:]
  assert "| HG | - | 0.50 ± 0.00 | 1.50 ± 0.00 | - |" in lines[active:]
  assert "| ADA | - | - | - | - |" in lines[active:]
  factors = lines.index("## Per factor")
  header = [l for l in lines[factors:] if l.startswith("| method | score")][0]
  assert "object_color" in header and "vertical_axis" in header
  assert ("| HG | S | 0.10 ± 0.14 | 0.20 ± 0.14 | 0.30 ± 0.14 | 0.40 ± 0.14 "
          "| 0.50 ± 0.14 | 0.60 ± 0.14 | 0.70 ± 0.14 |") in lines
  assert ("| HG | I |" + " 0.50 ± 0.71 |" * 7) in lines
  assert not [l for l in lines if l.startswith("| ADA | S")]


def test_no_active_dims_section_without_the_fields(tmp_path):
  settings = presets.load_settings("quick")
  grid = {r.name: r for r in runs.enumerate_runs(settings, str(tmp_path))}
  fake_runs.finish(grid["hg_ns1_seed0"], 0.2, 0.5, 1.0, 2.0)
  text = report.write_report(str(tmp_path), settings, list(grid.values()),
                             "CMD")
  assert "## Active latent dims" not in text and "## Per factor" not in text


def test_failed_runs_are_listed(tmp_path):
  settings = presets.load_settings("demo")
  grid = runs.enumerate_runs(settings, str(tmp_path))
  text = report.write_report(str(tmp_path), settings, grid, "CMD",
                             statuses=[(grid[0].name, "failed: train", 1.),
                                       (grid[1].name, "done", 2.)])
  assert ("Failed runs (see `<run>/table1_run.log`): {} (failed: "
          "train).".format(grid[0].name)) in text.splitlines()

"""drpm-table1-variants: the variants' sweeps and their validation report."""
import ast
import os

from disentanglement_ext import run_layout
from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import reproduce
from disentanglement_ext.table1 import runs
from disentanglement_ext.table1 import variants

import fake_runs
import pytest


def test_variant_report_of_fake_runs_uses_the_validation_pairs(
    tmp_path, monkeypatch, fake_exports):
  root = str(tmp_path / "runs")
  stage = variants.STAGES["scores"]
  settings = presets.load_settings("quick")
  # Every run of every variant finished (so nothing trains): S = 0.1 * index
  # on the validation pairs, something else on the test pairs.
  for index, (_, directory, methods, _) in enumerate(stage):
    grid = runs.enumerate_runs(
        presets.override_sweep(settings, methods, variants.N_S,
                               variants.SEEDS),
        variants.variant_output_dir(root, "quick", directory))
    assert len(grid) == 6
    for run in grid:
      fake_runs.finish(run, 0.1 * index + 0.1 * run.seed, 0.2, 1.0,
                       num_shared=float(run.n_s))
      fake_runs.write_json(os.path.join(run.model_dir,
                                        run_layout.EVAL_RESULTS),
                           {"S": 9., "I": 9.})
  calls = []
  real_reproduce = reproduce.reproduce
  monkeypatch.setattr(reproduce, "reproduce", lambda *args, **kwargs: (
      calls.append((args, kwargs)) or real_reproduce(*args, **kwargs)))
  report_path = str(tmp_path / "variants.md")
  text = variants.run_stage("quick", "scores", root, 2, report_path,
                            log=lambda m: None)
  assert len(calls) == len(stage)
  for (args, kwargs), (_, directory, methods, bindings) in zip(calls, stage):
    assert args == ("quick", variants.variant_output_dir(root, "quick",
                                                         directory))
    assert kwargs["methods"] == methods and kwargs["jobs"] == 2
    assert kwargs["gin_bindings"] == bindings
    assert (kwargs["n_s_values"], kwargs["seeds"]) == (variants.N_S,
                                                       variants.SEEDS)
  assert calls[0][1]["methods"] == ("hg",)
  assert "weak_vae.objective = 'dlib'" in calls[1][1]["gin_bindings"]
  with open(report_path) as f:
    assert f.read() == text
  rows = [l for l in text.splitlines() if l.startswith("| ")][1:]
  assert len(rows) == len(stage)
  # Seeds 0, 1 -> S = 0.1 i, 0.1 i + 0.1: mean 0.1 i + 0.05, std 0.071.
  for index, row in enumerate(rows):
    cells = row.split(" | ")
    assert cells[1] == "{:.3f} ± 0.071".format(0.1 * index + 0.05), row
    assert cells[3] == "1.00 ± 0.00"  # estimated shared dims at n_s = 1
  assert "9.000" not in text  # never the test pairs
  assert "VALIDATION" in text and "seeds 0, 1" in text


@pytest.mark.parametrize("stage", ["omega", "partition_kl"])
def test_prior_stages_vary_one_setting_against_the_shared_reference(stage):
  prior, scores = variants.STAGES[stage], variants.STAGES["scores"]
  reference = [v for v in scores if v[1] == "drpm_log_kl"][0]
  assert prior[0][1:] == reference[1:]
  directories = [v[1] for s in variants.STAGES.values() for v in s
                 if v[1] != "drpm_log_kl"]
  assert len(set(directories)) == len(directories)  # no run shared by accident
  for _, _, methods, bindings in prior[1:]:
    assert methods == ("drpm",) and len(bindings) == 1
  # Every binding names a real setting with a valid value.
  from disentanglement_ext import aggregation  # pylint: disable=g-import-not-at-top
  valid = {"drpm_aggregation.log_scores":
               aggregation.DRPMAggregator.LOG_SCORES,
           "drpm_aggregation.omega_input": aggregation.OMEGA_INPUTS,
           "drpm_aggregation.kl_estimator":
               aggregation.DRPMAggregator.KL_ESTIMATORS,
           "weak_vae.gamma": (0.,)}
  for _, _, _, bindings in prior:
    for binding in bindings:
      name, value = binding.split(" = ")
      assert ast.literal_eval(value) in valid[name], binding

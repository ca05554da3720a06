"""disentanglement_lib's OWN scripts in this venv, through the installed shim.

End to end with no environment variable: `drpm-train-weak` trains and exports
a tiny model, the venv's `dlib_evaluate` scores it, `dlib_aggregate_results`
collects the score; the shim comes from the `.pth` file every install of
drpm-tf puts into site-packages (setup.py).
"""
import json
import os
import re
import subprocess
import sys

import pytest

from disentanglement_ext import gin_configs

BIN = os.path.dirname(sys.executable)
QUICK_GIN = gin_configs.path("weak", "quick.gin")
MIG_QUICK = gin_configs.path("evaluation", "mig_quick.gin")


def _run(args, cwd):
  """Runs a console script of this venv as a user would: no PYTHONPATH."""
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  proc = subprocess.run(args, capture_output=True, text=True, env=env,
                        cwd=cwd, timeout=600)
  assert proc.returncode == 0, (args, proc.stderr[-3000:])
  return proc


def test_dlib_import_fails_without_the_shim(tmp_path):
  # The control: with the shim's finder removed, dlib dies on gin 0.5.
  code = "\n".join([
      "import sys",
      "sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ !=",
      "                    'disentanglement_ext.dlib_autoshim']",
      "import disentanglement_lib.evaluation.evaluate",
  ])
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                        text=True, env=env, cwd=str(tmp_path), timeout=300)
  assert proc.returncode != 0
  assert re.search(r"TypeError: configurable\(\) got an unexpected keyword "
                   r"argument '(white|black)list'", proc.stderr), proc.stderr


def test_dlib_evaluate_and_aggregate_results_on_a_trained_model(tmp_path):
  cwd = str(tmp_path)  # Away from the repository: the installed code only.
  model_dir = str(tmp_path / "run")
  _run([os.path.join(BIN, "drpm-train-weak"), "--model_dir", model_dir,
        "--gin_config", QUICK_GIN,
        "--gin_bindings", "train_weak.training_steps = 2",
        "--gin_bindings", "train_weak.batch_size = 4"], cwd)

  out_dir = os.path.join(model_dir, "metrics", "mig")
  _run([os.path.join(BIN, "dlib_evaluate"),
        "--input_dir", os.path.join(model_dir, "postprocessed", "mean"),
        "--output_dir", out_dir, "--gin_config", MIG_QUICK], cwd)
  with open(os.path.join(out_dir, "results", "json",
                         "evaluation_results.json")) as f:
    scores = json.load(f)
  assert 0. <= scores["discrete_mig"] <= 1., scores
  # `dataset.name = "auto"` resolved to our dataset inside dlib's own script.
  with open(os.path.join(out_dir, "results", "gin", "evaluation.gin")) as f:
    assert "dataset.name = 'synthetic_mpi3d'" in f.read()

  aggregated = str(tmp_path / "results.json")
  _run([os.path.join(BIN, "dlib_aggregate_results"),
        "--result_file_pattern",
        os.path.join(model_dir, "metrics", "*", "results", "aggregate",
                     "evaluation.json"),
        "--output_path", aggregated], cwd)
  with open(aggregated) as f:
    table = json.load(f)  # pandas' to_json: {column: {row: value}}
  (mig,) = table["evaluation_results.discrete_mig"].values()
  assert mig == pytest.approx(scores["discrete_mig"], rel=1e-8)  # 10 digits
  (name,) = table["evaluation_config.dataset.name"].values()
  assert name == "'synthetic_mpi3d'"

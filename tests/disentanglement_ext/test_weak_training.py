"""drpm-train-weak: clear errors, kill -9 + resume, exact resume, results layout."""
import json
import os
import signal
import subprocess
import sys
import time

import gin
import numpy as np
import pytest
import tensorflow as tf

from disentanglement_ext import gin_configs
from disentanglement_ext import run_layout
from disentanglement_ext import train

QUICK_GIN = gin_configs.path("weak", "quick.gin")


def _bindings(**overrides):
  values = dict(training_steps=20, batch_size=4, checkpoint_every=10,
                log_every=10, export=False)
  values.update(overrides)
  return ["train_weak.{} = {!r}".format(k, v) for k, v in values.items()]


@pytest.fixture(autouse=True)
def _clear_gin():
  gin.clear_config()
  yield
  gin.clear_config()


@pytest.mark.parametrize("n_s", [-2, 8, 2.5])
def test_n_s_out_of_range(tmp_path, n_s):
  with pytest.raises(ValueError, match=r"weak_pairs.n_s.*\[0, 7\]"):
    train.train_with_gin(str(tmp_path / "run"), False, [QUICK_GIN],
                         _bindings() + ["weak_pairs.n_s = {}".format(n_s)])


def test_unknown_aggregation(tmp_path):
  with pytest.raises(ValueError, match="Valid names: label, adaptive, hg, drpm"):
    train.train_with_gin(str(tmp_path / "run"), False, [QUICK_GIN],
                         _bindings() + ["weak_vae.aggregation = 'ada_vae'"])


def test_unknown_dataset(tmp_path):
  with pytest.raises(ValueError, match="synthetic_mpi3d"):
    train.train_with_gin(str(tmp_path / "run"), False, [QUICK_GIN],
                         _bindings() + ["dataset.name = 'mpi4d'"])


def _weights(model_dir, name):
  reader = tf.train.load_checkpoint(os.path.join(model_dir, "checkpoints",
                                                 name))
  return {key: reader.get_tensor(key)
          for key in reader.get_variable_to_shape_map()
          if "model" in key and "OPTIMIZER_SLOT" not in key}


def test_resume_is_exact_and_finished_runs_are_protected(tmp_path):
  model_dir = str(tmp_path / "run")
  bindings = _bindings() + ["weak_vae.aggregation = 'drpm'"]
  result = train.train_with_gin(model_dir, False, [QUICK_GIN], bindings)
  assert result["global_step"] == 20
  # dlib's layout.
  for path in ("results/json/train_results.json", "results/gin/train.gin",
               "results/json/train_config.json", "results/aggregate/train.json"):
    assert os.path.exists(os.path.join(model_dir, path)), path
  with open(os.path.join(model_dir, "results", "gin", "train.gin")) as f:
    operative = f.read()
  assert "dataset.name = 'synthetic_mpi3d'" in operative
  assert "weak_vae.aggregation = 'drpm'" in operative
  assert os.listdir(os.path.join(model_dir, "tensorboard"))
  with pytest.raises(ValueError, match="overwrite"):
    train.train_with_gin(model_dir, False, [QUICK_GIN], bindings)

  # Roll the run back to its step-10 checkpoint and resume: the same weights.
  reference = _weights(model_dir, "ckpt-20")
  checkpoint_dir = os.path.join(model_dir, "checkpoints")
  for name in os.listdir(checkpoint_dir):
    if name.startswith("ckpt-20"):
      os.remove(os.path.join(checkpoint_dir, name))
  tf.compat.v1.train.update_checkpoint_state(
      checkpoint_dir, os.path.join(checkpoint_dir, "ckpt-10"),
      all_model_checkpoint_paths=[os.path.join(checkpoint_dir, "ckpt-10")])
  os.remove(os.path.join(model_dir, run_layout.TRAIN_RESULTS))
  resumed = train.train_with_gin(model_dir, False, [QUICK_GIN], bindings)
  assert resumed["global_step"] == 20
  again = _weights(model_dir, "ckpt-20")
  assert reference.keys() == again.keys() and reference
  for key in reference:
    np.testing.assert_allclose(again[key], reference[key], rtol=1e-4,
                               atol=1e-6, err_msg=key)


def test_kill_9_then_rerun_resumes_and_finishes(tmp_path):
  model_dir = str(tmp_path / "run")
  steps = 60
  command = [os.path.join(os.path.dirname(sys.executable), "drpm-train-weak"),
             "--model_dir", model_dir, "--gin_config", QUICK_GIN]
  for binding in _bindings(training_steps=steps, checkpoint_every=5,
                           log_every=5):
    command += ["--gin_bindings", binding]
  command += ["--gin_bindings", "weak_vae.aggregation = 'adaptive'"]
  state = os.path.join(model_dir, "checkpoints", "checkpoint")
  proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  try:
    deadline = time.time() + 120
    while not os.path.exists(state) and time.time() < deadline:
      assert proc.poll() is None, "training exited before its 1st checkpoint"
      time.sleep(0.05)
    assert os.path.exists(state), "no checkpoint after 120 s"
  finally:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
  assert proc.returncode == -signal.SIGKILL
  assert not os.path.exists(os.path.join(model_dir, run_layout.TRAIN_RESULTS))
  latest = tf.train.latest_checkpoint(os.path.dirname(state))
  killed_at = int(latest.rsplit("-", 1)[1])
  assert 5 <= killed_at < steps
  # A checkpoint whose write was interrupted: files exist, but the atomic
  # `checkpoint` state file was never updated to point at them.
  checkpoint_dir = os.path.dirname(state)
  with open(os.path.join(checkpoint_dir, "ckpt-999.index"), "wb") as f:
    f.write(b"\x00truncated")
  with open(os.path.join(checkpoint_dir,
                         "ckpt-999.data-00000-of-00001"), "wb") as f:
    f.write(b"\x00")

  rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
  assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
  resumed_from = [line for line in rerun.stdout.splitlines()
                  if line.startswith("Resumed from")]
  assert resumed_from, rerun.stdout[-2000:]
  resumed_step = int(resumed_from[0].split("(step ")[1].rstrip(").")) 
  assert resumed_step == killed_at and "ckpt-999" not in resumed_from[0]
  assert "step {}/{}".format(steps, steps) in rerun.stdout
  with open(os.path.join(model_dir, run_layout.TRAIN_RESULTS)) as f:
    results = json.load(f)
  assert results["global_step"] == steps
  assert results["training_steps"] == steps
  assert tf.train.latest_checkpoint(checkpoint_dir).endswith(
      "ckpt-{}".format(steps))

"""train_weak.strategy: MirroredStrategy on 2 logical CPU devices computes the
same losses, gradients (Adam's moment slots) and weights as one device.

Logical devices must be configured before TF initializes its devices, so the
check runs in a fresh subprocess.
"""
import json
import os
import subprocess
import sys

from disentanglement_ext import gin_configs

SCRIPT = r"""
import json, os, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import gin
from disentanglement_ext import train

quick, out = sys.argv[1], sys.argv[2]
bindings = ["train_weak.training_steps = 3", "train_weak.batch_size = 8",
            "train_weak.checkpoint_every = 1", "train_weak.log_every = 1",
            "train_weak.export = False", "weak_vae.aggregation = 'adaptive'",
            "weak_pairs.n_s = 3", "train_weak.num_parallel_calls = 1"]
results = {}
for name, extra in (
    ("default", []),
    ("mirrored", ["train_weak.strategy = 'mirrored'",
                  "train_weak.devices = ['/cpu:0', '/cpu:1']"])):
  model_dir = os.path.join(out, name)
  results[name] = train.train_with_gin(model_dir, False, [quick],
                                       bindings + extra)
  gin.clear_config()
  for step in (1, 2, 3):
    reader = tf.train.load_checkpoint(
        os.path.join(model_dir, "checkpoints", "ckpt-{}".format(step)))
    np.savez(os.path.join(out, "{}_{}.npz".format(name, step)),
             **{k.replace("/", "|"): reader.get_tensor(k)
                for k in reader.get_variable_to_shape_map()
                if "model" in k or "optimizer" in k})
# The stochastic aggregation (own variables, per-replica sampling seeds) also
# trains under the same (cached) strategy in the same process.
results["mirrored_drpm"] = train.train_with_gin(
    os.path.join(out, "mirrored_drpm"), False, [quick],
    bindings + ["train_weak.strategy = 'mirrored'",
                "train_weak.devices = ['/cpu:0', '/cpu:1']",
                "weak_vae.aggregation = 'drpm'"])
gin.clear_config()
with open(os.path.join(out, "results.json"), "w") as f:
  json.dump(results, f)
"""


def test_mirrored_two_cpus_matches_single_device(tmp_path):
  import numpy as np  # pylint: disable=g-import-not-at-top
  out = str(tmp_path)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  # The replicas' collective ops must run concurrently.
  env.pop("TF_NUM_INTEROP_THREADS", None)
  proc = subprocess.run(
      [sys.executable, "-c", SCRIPT, gin_configs.path("weak", "quick.gin"),
       out],
      capture_output=True, text=True, cwd=out, timeout=300, env=env)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  assert "Strategy 'mirrored': 2 replica(s), 4 pairs each." in proc.stdout
  with open(os.path.join(out, "results.json")) as f:
    results = json.load(f)
  single, mirrored = results["default"], results["mirrored"]
  assert single["global_step"] == mirrored["global_step"] == 3
  for key in ("loss", "reconstruction_loss", "kl_loss",
              "aggregation_num_shared_dims"):
    np.testing.assert_allclose(mirrored[key], single[key], rtol=1e-5,
                               err_msg=key)
  drpm = results["mirrored_drpm"]
  assert drpm["global_step"] == 3 and drpm["aggregation"] == "drpm"
  assert np.isfinite(drpm["loss"]) and np.isfinite(drpm["aggregation_partition_kl"])
  for step in (1, 2, 3):
    a = np.load(os.path.join(out, "default_{}.npz".format(step)))
    b = np.load(os.path.join(out, "mirrored_{}.npz".format(step)))
    assert sorted(a.files) == sorted(b.files)
    # Model weights, the model's RNG state and Adam's moments.
    assert len([k for k in a.files if k.startswith("optimizer")]) > 10
    assert any("rng" in k for k in a.files), a.files
    for key in a.files:
      x, y = a[key], b[key]
      if x.dtype.kind not in "fc":
        np.testing.assert_array_equal(x, y, err_msg=key)
        continue
      # Adam's first moment m = (1 - beta1) * grad after step 1 is sensitive
      # to a sum-vs-mean error in the gradient reduction (the weights are not:
      # Adam normalizes the gradient scale).
      np.testing.assert_allclose(y, x, rtol=1e-5,
                                 atol=1e-5 * float(np.abs(x).max()) + 1e-12,
                                 err_msg="step {} {}".format(step, key))

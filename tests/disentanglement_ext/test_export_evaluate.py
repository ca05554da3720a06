"""End to end: train -> TF-Hub export -> dlib DCI (unchanged) -> S/I evaluation."""
import json
import os
import subprocess
import sys

import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from disentanglement_ext import aggregation
from disentanglement_ext import evaluate
from disentanglement_ext import export
from disentanglement_ext import gin_configs
from disentanglement_ext import train
from disentanglement_ext import weak_vae

QUICK_GIN = gin_configs.path("weak", "quick.gin")
DCI_QUICK = gin_configs.path("evaluation", "dci_quick.gin")
BIN = os.path.dirname(sys.executable)
N_S = {"label": 1, "adaptive": 3, "hg": 0, "drpm": 3}


@pytest.fixture(autouse=True)
def _clear_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def _hub_outputs(module_path, signature, inputs):
  with hub.eval_function_for_module(module_path) as f:
    return {k: np.array(v) for k, v in
            f(inputs, signature=signature, as_dict=True).items()}


@pytest.mark.parametrize("architecture", weak_vae.ARCHITECTURES)
def test_export_matches_keras(tmp_path, architecture):
  tf.keras.utils.set_random_seed(1)
  model = weak_vae.WeakVAE(aggregation="adaptive", architecture=architecture)
  model_dir = str(tmp_path / architecture)
  export.export_model(model, model_dir, dataset_name="synthetic_mpi3d")
  images = np.random.RandomState(0).rand(3, 64, 64, 3).astype(np.float32)
  mean, log_var = model.encode(images)
  enc = _hub_outputs(os.path.join(model_dir, "tfhub"), "gaussian_encoder",
                     {"images": images})
  np.testing.assert_allclose(enc["mean"], mean.numpy(), rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(enc["logvar"], log_var.numpy(), rtol=1e-4,
                             atol=1e-5)
  rep = _hub_outputs(os.path.join(model_dir, "postprocessed", "mean", "tfhub"),
                     "representation", {"images": images})
  np.testing.assert_allclose(rep["default"], mean.numpy(), rtol=1e-4,
                             atol=1e-5)
  latents = np.random.RandomState(1).randn(2, 10).astype(np.float32)
  dec = _hub_outputs(os.path.join(model_dir, "tfhub"), "decoder",
                     {"latent_vectors": latents})
  np.testing.assert_allclose(dec["images"], model.decode(latents).numpy(),
                             rtol=1e-4, atol=1e-4)
  rec = _hub_outputs(os.path.join(model_dir, "tfhub"), "reconstructions",
                     {"images": images})
  assert rec["images"].shape == (3,) + model.reconstruction_shape
  with open(os.path.join(model_dir, "postprocessed", "mean", "results", "gin",
                         "postprocess.gin")) as f:
    assert "dataset.name = 'synthetic_mpi3d'" in f.read()


@pytest.mark.parametrize("name", aggregation.AGGREGATIONS)
def test_end_to_end(tmp_path, name):
  model_dir = str(tmp_path / name)
  n_s = N_S[name]
  result = train.train_with_gin(model_dir, False, [QUICK_GIN], [
      "weak_vae.aggregation = '{}'".format(name),
      "weak_pairs.n_s = {}".format(n_s),
      "train_weak.training_steps = 24", "train_weak.batch_size = 8",
      "train_weak.checkpoint_every = 12", "train_weak.log_every = 12"])
  assert result["global_step"] == 24 and result["aggregation"] == name
  for path in ("tfhub/tfhub_module.pb",
               "postprocessed/mean/tfhub/tfhub_module.pb",
               "postprocessed/mean/results/gin/postprocess.gin",
               "postprocessed/mean/results/json/train_results.json"):
    assert os.path.exists(os.path.join(model_dir, path)), path

  # dlib's evaluation.evaluate, unchanged, with dataset.name = 'auto'.
  rep_dir = os.path.join(model_dir, "postprocessed", "mean")
  out_dir = os.path.join(model_dir, "metrics", "dci")
  if name == "adaptive":  # The console script once; in-process otherwise.
    proc = subprocess.run(
        [os.path.join(BIN, "drpm-dlib-evaluate"), "--input_dir", rep_dir,
         "--output_dir", out_dir, "--gin_config", DCI_QUICK],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
  else:
    evaluate.dlib_evaluate(rep_dir, out_dir, gin_config_files=[DCI_QUICK],
                           gin_bindings=["dataset.name = 'auto'"])
  with open(os.path.join(out_dir, "results", "json",
                         "evaluation_results.json")) as f:
    dci = json.load(f)
  for key in ("disentanglement", "completeness", "informativeness_test"):
    assert 0. <= dci[key] <= 1., dci
  with open(os.path.join(out_dir, "results", "gin", "evaluation.gin")) as f:
    assert "dataset.name = 'synthetic_mpi3d'" in f.read()

  # S / I evaluation (Table 1 protocol).
  weak = evaluate.evaluate_weak(model_dir, num_train=200, num_test=100)
  assert weak["aggregation"] == name and weak["n_s"] == n_s
  if n_s == 0:
    assert weak["S"] is None
  else:
    assert -1. <= weak["S"] <= 1.
  assert -1. <= weak["I"] <= 1.
  assert len(weak["S_per_factor"]) == len(weak["I_per_factor"]) == 7
  assert weak["true_num_shared_factors_mean"] == n_s
  assert 0. <= weak["num_shared_dims_mean"] <= 10.
  assert weak["num_shared_dims_mse"] >= 0.
  active = np.array(weak["active_dims_mask"], bool)
  assert weak["num_active_dims"] == active.sum()
  np.testing.assert_array_equal(
      active, np.array(weak["posterior_mean_variance"]) >
      evaluate.ACTIVE_DIM_VARIANCE)
  assert 0. <= weak["num_shared_active_dims_mean"] <= min(
      weak["num_shared_dims_mean"], active.sum()) + 1e-6
  with open(os.path.join(model_dir, "weak_evaluation", "results", "json",
                         "evaluation_results.json")) as f:
    assert json.load(f)["aggregation"] == name
  if name == "label":
    # LabelVAE knows one changed factor: one independent dim, 9 shared ones.
    assert weak["num_shared_dims_mean"] == 9.


def test_evaluate_weak_cli_refuses_to_overwrite(tmp_path):
  model_dir = str(tmp_path / "run")
  train.train_with_gin(model_dir, False, [QUICK_GIN], [
      "weak_vae.aggregation = 'hg'", "train_weak.training_steps = 2",
      "train_weak.batch_size = 4", "train_weak.export = False"])
  args = [os.path.join(BIN, "drpm-evaluate-weak"), "--model_dir", model_dir,
          "--num_train", "100", "--num_test", "60"]
  first = subprocess.run(args, capture_output=True, text=True, timeout=300)
  assert first.returncode == 0, first.stderr[-3000:]
  assert '"aggregation": "hg"' in first.stdout
  second = subprocess.run(args, capture_output=True, text=True, timeout=300)
  assert second.returncode != 0 and "overwrite" in second.stderr


def test_dlib_evaluate_never_deletes_an_output_dir_that_is_not_its_own(
    tmp_path):
  from drpm_tf import errors  # pylint: disable=g-import-not-at-top
  representation = tmp_path / "postprocessed" / "mean"
  (representation / "tfhub").mkdir(parents=True)
  (representation / "tfhub" / "saved_model.pb").write_bytes(b"")
  output = tmp_path / "metrics"
  (output / "results").mkdir(parents=True)
  with pytest.raises(errors.RunDirectoryError, match="--overwrite"):
    evaluate.dlib_evaluate(str(representation), str(output))
  (output / "my_notes.txt").write_text("keep")
  with pytest.raises(errors.RunDirectoryError,
                     match=r"Refusing to overwrite .*metrics.*my_notes.txt"):
    evaluate.dlib_evaluate(str(representation), str(output), overwrite=True)
  assert sorted(os.listdir(output)) == ["my_notes.txt", "results"]
  with pytest.raises(errors.RunDirectoryError, match="no TF-Hub module"):
    evaluate.dlib_evaluate(str(tmp_path / "missing"), str(tmp_path / "new"))


def test_active_dims_are_the_dims_whose_means_vary():
  rng = np.random.default_rng(0)
  scales = np.array([1., 0.05, 0.5, 0.])
  means = rng.normal(size=(4000, 4)) * scales + 3.
  variance, active = evaluate.active_dims(means)
  np.testing.assert_allclose(variance, scales ** 2, rtol=0.1, atol=1e-12)
  np.testing.assert_array_equal(active, [True, False, True, False])
  _, active = evaluate.active_dims(means, threshold=0.001)
  np.testing.assert_array_equal(active, [True, True, True, False])
  with pytest.raises(ValueError, match="means must be"):
    evaluate.active_dims(means[:1])

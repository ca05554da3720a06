"""drpm_tf.contrastive: the augmentation against scipy, the losses against
direct numpy sums, and contrastive pretraining resumed across a crash."""

import gin
import numpy as np
import pytest
from scipy import ndimage
from scipy import special
import tensorflow as tf

from drpm_tf import contrastive
from drpm_tf import errors
from drpm_tf import training


def _images(n=6, shape=(8, 8), seed=0):
  return np.random.default_rng(seed).uniform(
      size=(n,) + shape).astype(np.float32)


def test_random_affine_without_ranges_is_the_identity():
  x = _images().reshape(6, -1)
  out = contrastive.random_affine(x, (8, 8), [1, 2], max_rotation=0.,
                                  max_translation=0., scale=(1., 1.),
                                  max_shear=0.)
  np.testing.assert_allclose(out.numpy(), x, atol=1e-6)


@pytest.mark.parametrize('shape', [(8, 8), (12, 9)])
def test_random_affine_matches_scipy_bilinear_warps(shape):
  images = _images(shape=shape, seed=1)
  seed = [3, 4]
  ranges = dict(max_rotation=30., max_translation=0.2, scale=(0.75, 1.25),
                max_shear=10.)
  out = contrastive.random_affine(images.reshape(len(images), -1), shape,
                                  seed, **ranges).numpy()
  # The same draws, turned into the forward map independently: output pixel
  # p (x, y) shows input pixel A^{-1} (p - c - t) + c.
  u = 2. * tf.random.stateless_uniform([len(images), 5], seed).numpy() - 1.
  height, width = shape
  centre = np.array([(width - 1) / 2., (height - 1) / 2.])
  for i, image in enumerate(images):
    angle, shear = np.deg2rad(u[i, 0] * 30.), np.deg2rad(u[i, 1] * 10.)
    zoom = 1. + u[i, 2] * 0.25
    shift = np.array([u[i, 3] * 0.2 * width, u[i, 4] * 0.2 * height])
    rotation = np.array([[np.cos(angle), -np.sin(angle)],
                         [np.sin(angle), np.cos(angle)]])
    forward = zoom * rotation @ np.array([[1., np.tan(shear)], [0., 1.]])
    inverse_xy = np.linalg.inv(forward)
    offset_xy = centre - inverse_xy @ (centre + shift)
    # scipy indexes (row, col) = (y, x).
    swap = np.array([[0, 1], [1, 0]])
    expected = ndimage.affine_transform(
        image.astype(np.float64), swap @ inverse_xy @ swap,
        offset=swap @ offset_xy, order=1, mode='grid-constant', cval=0.)
    np.testing.assert_allclose(out[i].reshape(shape), expected, atol=1e-5)


def test_random_affine_is_a_pure_function_of_the_seed():
  x = _images().reshape(6, -1)
  a = contrastive.random_affine(x, (8, 8), [5, 6]).numpy()
  np.testing.assert_array_equal(a, contrastive.random_affine(
      x, (8, 8), [5, 6]).numpy())
  assert np.abs(a - contrastive.random_affine(x, (8, 8), [5, 7]).numpy()
               ).max() > 0.1


def _nt_xent_reference(a, b, temperature):
  rows = np.concatenate([a, b])
  rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
  n = len(a)
  total = 0.
  for i in range(2 * n):
    partner = (i + n) % (2 * n)
    others = [j for j in range(2 * n) if j != i]
    logits = rows[others] @ rows[i] / temperature
    total -= rows[partner] @ rows[i] / temperature - special.logsumexp(logits)
  return total / (2 * n)


@pytest.mark.parametrize('temperature', [0.5, 1.])
def test_nt_xent_matches_the_direct_sum(temperature):
  rng = np.random.default_rng(2)
  a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
  np.testing.assert_allclose(
      contrastive.nt_xent(a, b, temperature).numpy(),
      _nt_xent_reference(a, b, temperature), rtol=1e-6)


def test_cluster_contrast_adds_the_imbalance_of_each_view():
  rng = np.random.default_rng(3)
  c1, c2 = (special.softmax(rng.normal(size=(7, 4)), axis=1)
            for _ in range(2))
  imbalance = sum(np.log(4) + np.sum(c.mean(0) * np.log(c.mean(0)))
                  for c in (c1, c2))
  np.testing.assert_allclose(
      contrastive.cluster_contrast(c1, c2, 1.).numpy(),
      _nt_xent_reference(c1.T, c2.T, 1.) + imbalance, rtol=1e-6)
  # Balanced assignments add nothing.
  balanced = np.tile(np.eye(4), (2, 1))
  np.testing.assert_allclose(
      contrastive.cluster_contrast(balanced, balanced, 1.).numpy(),
      _nt_xent_reference(balanced.T, balanced.T, 1.), rtol=1e-6)


def test_bad_head_settings_name_the_binding():
  with pytest.raises(errors.ConfigError,
                     match='contrastive_pretraining.instance_temperature'):
    contrastive.ContrastiveHeads(8, 2, 3, (8, 8), instance_temperature=0.)
  with pytest.raises(errors.ConfigError, match='contrastive_pretraining.scale'):
    contrastive.ContrastiveHeads(8, 2, 3, (8, 8), scale=(1.2, 0.8))


_TINY = """
load_dataset.name = 'digits'
drpm_vae.encoder_units = (32, 32, 64)
drpm_vae.num_partition_samples = 2
drpm_vae.anneal_steps = 10
contrastive_pretraining.hidden_units = 16
fit_prior_mixture.num_restarts = 2
train_generative.prior_init = 'mixture'
train_generative.pretrain_objective = 'contrastive'
train_generative.batch_size = 64
train_generative.pretrain_batch_size = 64
train_generative.pretrain_steps = 6
train_generative.num_steps = 2
train_generative.checkpoint_every = 2
train_generative.progress = False
"""


class _Crash(Exception):
  pass


def _train(model_dir):
  gin.clear_config()
  gin.parse_config(_TINY)
  try:
    return training.train_generative(model_dir)
  finally:
    gin.clear_config()


def test_contrastive_pretraining_resumed_equals_uninterrupted(tmp_path,
                                                              monkeypatch):
  # Resuming at pretraining step 4 continues with the checkpointed heads and
  # their optimizer slots: re-initialized heads would give other weights.
  straight = _train(str(tmp_path / 'straight'))
  original = training._batch_indices  # pylint: disable=protected-access

  def crash_in_pretraining(num_examples, batch_size, step, seed, stream=()):
    if stream == training._PRETRAIN_STREAM and step == 5:  # pylint: disable=protected-access
      raise _Crash()
    return original(num_examples, batch_size, step, seed, stream)
  with monkeypatch.context() as patch:
    patch.setattr(training, '_batch_indices', crash_in_pretraining)
    with pytest.raises(_Crash):
      _train(str(tmp_path / 'resumed'))
  resumed = _train(str(tmp_path / 'resumed'))
  for a, b in zip(resumed.variables, straight.variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)


def test_contrastive_pretraining_trains_the_autoencoder(tmp_path):
  model_dir = str(tmp_path / 'run')
  gin.clear_config()
  gin.parse_config(_TINY)
  try:
    training.train_generative(model_dir, pretrain_steps=60)
  finally:
    gin.clear_config()
  model, data = training.load_trained_model(model_dir, stage='initialization')
  gin.clear_config()
  fresh = type(model)(input_dim=64, encoder_units=(32, 32, 64))
  held_out = data.x_test
  assert float(model.autoencoder_loss(held_out)) < 0.8 * float(
      fresh.autoencoder_loss(held_out))

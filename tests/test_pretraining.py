"""Autoencoder pretraining and the Gaussian-mixture initialization."""

import gin
import numpy as np
import pytest
from scipy import stats
import tensorflow as tf

from drpm_tf import datasets
from drpm_tf import pretraining
from drpm_tf import training
from drpm_tf.distributions import DifferentiableRandomPartition
from drpm_tf.models import DRPMVAE

_UNITS = (64, 64, 128)


def _blobs(rng, means, stds, sizes):
  """Gaussian blobs `[sum(sizes), d]` with diagonal stds, and their labels."""
  x = np.concatenate([m + s * rng.standard_normal((n, len(m)))
                      for m, s, n in zip(means, stds, sizes)])
  return x, np.repeat(np.arange(len(sizes)), sizes)


_MEANS = np.array([[0., 0.], [6., 0.], [0., 8.]])
_STDS = np.array([[1., 0.5], [0.5, 1.5], [0.8, 0.8]])
_SIZES = (3000, 1500, 4500)


def test_mixture_fit_recovers_separated_blobs():
  x, _ = _blobs(np.random.default_rng(0), _MEANS, _STDS, _SIZES)
  mixture = pretraining.fit_prior_mixture(x, 3, seed=0, num_restarts=3)
  order = np.argsort(mixture.means_[:, 0] + 10 * mixture.means_[:, 1])
  # Within 4 standard errors of the estimates.
  sizes = np.array(_SIZES)[:, None]
  assert np.all(np.abs(mixture.means_[order] - _MEANS) < 4 * _STDS /
                np.sqrt(sizes))
  assert np.all(np.abs(np.sqrt(mixture.covariances_[order]) / _STDS - 1) <
                4 / np.sqrt(2 * sizes))
  weights = sizes[:, 0] / sizes.sum()
  assert np.all(np.abs(mixture.weights_[order] - weights) <
                4 * np.sqrt(weights * (1 - weights) / sizes.sum()))


def test_warm_started_refit_keeps_the_component_order():
  x, _ = _blobs(np.random.default_rng(1), _MEANS, _STDS, _SIZES)
  # Start from the true components in a shuffled order, slightly off.
  order = [2, 0, 1]
  start = (_MEANS[order] + 0.5, _STDS[order] ** 2 * 2., np.full(3, 1 / 3))
  mixture = pretraining.fit_prior_mixture(x, 3, seed=0, warm_start=start)
  np.testing.assert_allclose(mixture.means_, _MEANS[order], atol=0.15)


def test_mixture_fit_rejects_bad_means():
  with pytest.raises(ValueError, match='means'):
    pretraining.fit_prior_mixture(np.zeros((2, 3)), 3)
  with pytest.raises(ValueError, match='finite'):
    pretraining.fit_prior_mixture(np.full((5, 2), np.nan), 3)


def _agreement(model, features, clusters, seed=0):
  """Share of elements that posterior partition samples put in subset `cluster`."""
  log_weights, log_scores = model.partition_parameters(
      tf.constant(features, tf.float32))
  partition = DifferentiableRandomPartition(log_weights, log_scores, 0.5).sample(
      200, seed=tf.constant([seed, 7])).numpy()  # [200, K, n]
  return partition[:, clusters, np.arange(len(clusters))].mean()


def test_initialized_heads_put_each_cluster_in_its_subset():
  rng = np.random.default_rng(0)
  k, units = 3, _UNITS[-1]
  model = DRPMVAE(input_dim=8, num_clusters=k, encoder_units=_UNITS)
  # ReLU features `h` around 3 centers; the mixture is fit to z_mean(h).
  centers = 3. * rng.standard_normal((k, units))
  labels = np.repeat(np.arange(k), [20, 30, 14])
  features = np.maximum(centers[labels] + rng.standard_normal(
      (len(labels), units)), 0.).astype(np.float32)
  means = model.z_mean(features).numpy()
  mixture = pretraining.fit_prior_mixture(means, k, seed=0, num_restarts=3)
  clusters = mixture.predict(means)
  np.testing.assert_array_equal(  # the 3 clusters, in some order
      np.sort(np.bincount(clusters)), [14, 20, 30])
  chance = _agreement(model, features, clusters)
  pretraining.initialize_partition_heads(model, mixture, score_scale=10.)
  # softmax(omega_head(h)) is the mixture's posterior with tied variances.
  tied = mixture.weights_ @ mixture.covariances_
  log_posterior = (-0.5 * np.sum((means[:, None] - mixture.means_) ** 2 / tied,
                                 axis=-1) + np.log(mixture.weights_))
  np.testing.assert_allclose(
      tf.nn.log_softmax(model.omega_head(features)).numpy(),
      log_posterior - np.logaddexp.reduce(log_posterior, axis=1,
                                          keepdims=True), atol=1e-3)
  # The DRPM fills subset 1 with the highest scores: cluster 0 scores highest.
  _, log_scores = model.partition_parameters(tf.constant(features))
  scores = [log_scores.numpy()[clusters == c].mean() for c in range(k)]
  assert scores[0] > scores[1] > scores[2]
  fitted = _agreement(model, features, clusters)
  assert fitted > 0.85 > 0.5 > chance
  # The same map without reversing the score outputs is wrong.
  model.score_head.kernel.assign(model.omega_head.kernel)
  model.score_head.bias.assign(model.omega_head.bias)
  assert _agreement(model, features, clusters) < 0.5


def test_posterior_variance_starts_below_every_prior():
  model = DRPMVAE(input_dim=8, num_clusters=2, latent_dim=3,
                  encoder_units=_UNITS)
  variances = np.array([[1., 4., 0.5], [2., 0.1, 3.]])
  pretraining.initialize_posterior_variance(model, variances, fraction=0.1)
  _, log_var, _ = model.encode(np.random.default_rng(0).uniform(size=(5, 8)))
  np.testing.assert_allclose(np.exp(log_var.numpy()),
                             np.tile([0.1, 0.01, 0.05], (5, 1)), rtol=1e-5)


_BINDINGS = f"""
load_dataset.name = 'digits'
drpm_vae.encoder_units = {_UNITS}
drpm_vae.num_partition_samples = 5
train_generative.batch_size = 64
train_generative.prior_init = 'mixture'
train_generative.pretrain_batch_size = 64
train_generative.progress = False
fit_prior_mixture.num_restarts = 2
"""


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
  """A model after 60 pretraining steps and the mixture initialization."""
  gin.clear_config()
  gin.parse_config(_BINDINGS)
  model_dir = str(tmp_path_factory.mktemp('pretrained'))
  # Stage 2 needs a step; the initialization model is stage 1's result.
  training.train_generative(model_dir, num_steps=1, pretrain_steps=60)
  gin.clear_config()
  model, _ = training.load_trained_model(model_dir, stage='initialization')
  gin.clear_config()
  return model


def test_pretraining_lowers_the_reconstruction_error(pretrained):
  data = datasets.load_dataset('digits')
  fresh = DRPMVAE(input_dim=64, encoder_units=_UNITS)
  before = float(fresh.autoencoder_loss(data.x_test))
  after = float(pretrained.autoencoder_loss(data.x_test))  # held-out images
  assert after < 0.7 * before


def test_mixture_initialization_puts_the_priors_on_the_fitted_mixture(
    pretrained):
  data = datasets.load_dataset('digits')
  means = pretraining.encode_dataset(pretrained, data.x_train)
  mixture = pretraining.fit_prior_mixture(means, 10, seed=0, num_restarts=2)
  np.testing.assert_allclose(pretrained.prior_means.numpy(), mixture.means_,
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(np.exp(pretrained.prior_log_vars.numpy()),
                             mixture.covariances_, rtol=1e-5)
  np.testing.assert_allclose(
      tf.nn.softmax(pretrained.prior_log_weights).numpy(), mixture.weights_,
      rtol=1e-5)
  # The model's cluster evidence is the mixture components' density (scipy).
  x = data.x_test[:20]
  mean = pretrained.encode(x)[0].numpy()
  expected = np.stack([stats.multivariate_normal(
      mixture.means_[k], np.diag(mixture.covariances_[k])).logpdf(mean)
                       for k in range(10)], axis=1)
  np.testing.assert_allclose(pretrained.cluster_log_likelihoods(x).numpy(),
                             expected, rtol=1e-4)
  # Without weights, the evaluation rule is the components' density argmax.
  np.testing.assert_array_equal(pretrained.predict_clusters(x),
                                expected.argmax(1))

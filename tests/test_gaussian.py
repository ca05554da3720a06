"""drpm_tf.gaussian.kl_per_dim against TFP's KL of Normals."""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from drpm_tf import gaussian

tfd = tfp.distributions


def _tfp_kl(mean, log_var, prior_mean, prior_log_var):
  return tfd.kl_divergence(
      tfd.Normal(mean, tf.exp(0.5 * log_var)),
      tfd.Normal(prior_mean, tf.exp(0.5 * prior_log_var))).numpy()


def _random(shape, seed):
  rng = np.random.RandomState(seed)
  return (rng.randn(*shape).astype(np.float64) * 2.,
          rng.uniform(-4., 3., shape).astype(np.float64))


def test_matches_tfp_for_two_gaussians():
  mean, log_var = _random([5, 7], 0)
  prior_mean, prior_log_var = _random([5, 7], 1)
  np.testing.assert_allclose(
      gaussian.kl_per_dim(mean, log_var, prior_mean, prior_log_var).numpy(),
      _tfp_kl(mean, log_var, prior_mean, prior_log_var), rtol=1e-10)


@pytest.mark.parametrize("given", ["none", "mean", "log_var"])
def test_the_standard_normal_prior_is_the_default(given):
  mean, log_var = _random([4, 6], 2)
  zeros = np.zeros_like(mean)
  kwargs = {"mean": dict(prior_mean=zeros),
            "log_var": dict(prior_log_var=zeros), "none": {}}[given]
  np.testing.assert_allclose(
      gaussian.kl_per_dim(mean, log_var, **kwargs).numpy(),
      _tfp_kl(mean, log_var, zeros, zeros), rtol=1e-10)


def test_broadcasts_posteriors_against_priors():
  mean, log_var = _random([3, 4], 3)         # n = 3 posteriors, d = 4
  prior_mean, prior_log_var = _random([2, 4], 4)  # K = 2 priors
  kl = tf.reduce_sum(gaussian.kl_per_dim(
      mean[None], log_var[None], prior_mean[:, None], prior_log_var[:, None]),
                     axis=-1).numpy()
  assert kl.shape == (2, 3)
  for k in range(2):
    for i in range(3):
      np.testing.assert_allclose(
          kl[k, i], _tfp_kl(mean[i], log_var[i], prior_mean[k],
                            prior_log_var[k]).sum(), rtol=1e-10)


def test_zero_for_equal_gaussians():
  mean, log_var = _random([8], 5)
  np.testing.assert_allclose(
      gaussian.kl_per_dim(mean, log_var, mean, log_var).numpy(), 0.,
      atol=1e-12)


def test_gradients_match_tfp():
  args = [tf.constant(a) for a in _random([6], 6) + _random([6], 7)]

  def gradients(kl_fn):
    with tf.GradientTape() as tape:
      tape.watch(args)
      kl = tf.reduce_sum(kl_fn(*args))
    return [g.numpy() for g in tape.gradient(kl, args)]

  ours = gradients(gaussian.kl_per_dim)
  tfps = gradients(lambda m, lv, pm, plv: tfd.kl_divergence(
      tfd.Normal(m, tf.exp(0.5 * lv)), tfd.Normal(pm, tf.exp(0.5 * plv))))
  for g, reference in zip(ours, tfps):
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, reference, rtol=1e-9, atol=1e-12)

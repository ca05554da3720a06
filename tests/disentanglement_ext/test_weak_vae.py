"""The weak VAE's objectives: the paper's eq. 6 accounting vs dlib's."""
import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from disentanglement_ext import aggregation
from disentanglement_ext import weak_vae

tfd = tfp.distributions
B, D = 4, 10


@pytest.fixture(autouse=True)
def _clear_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def _model(objective, aggregation_name="label"):
  return weak_vae.WeakVAE(aggregation=aggregation_name, architecture="conv32",
                          objective=objective, num_steps=10, seed=3)


def _images(seed=0):
  return tf.constant(np.random.RandomState(seed).rand(B, 64, 64, 3),
                     tf.float32)


def _reference_kl(mean, log_var):
  """KL(q || N(0, I)) summed over dims, by TFP (independent of our code)."""
  q = tfd.Normal(mean, tf.exp(0.5 * log_var))
  return tf.reduce_sum(tfd.kl_divergence(q, tfd.Normal(0., 1.)), axis=1)


@pytest.mark.parametrize("objective,copies", [("paper", 1), ("dlib", 2)])
def test_fully_shared_identical_views_count_the_kl_once(objective, copies):
  model = _model(objective)
  x = _images()
  no_changed_factor = tf.fill([B], tf.constant(-1, tf.int64))  # all shared
  terms = model.compute_losses(x, x, None, tf.constant(0, tf.int64),
                               known_factor=no_changed_factor)
  mean, log_var = model.encode(x)
  one_view = float(tf.reduce_mean(_reference_kl(mean, log_var)))
  assert one_view > 0.
  np.testing.assert_allclose(float(terms["kl_loss"]), copies * one_view,
                             rtol=1e-5)
  assert float(terms["aggregation/num_shared_dims"]) == D


@pytest.mark.parametrize("objective", weak_vae.OBJECTIVES)
def test_shared_dims_take_one_sample_under_the_paper_objective(objective):
  model = _model(objective)
  rng = np.random.RandomState(1)
  m1, m2 = (tf.constant(rng.randn(B, D), tf.float32) for _ in range(2))
  lv1, lv2 = (tf.constant(0.3 * rng.randn(B, D), tf.float32)
              for _ in range(2))
  known = tf.constant([0, 4, -1, 9])
  agg = model.aggregator(m1, lv1, m2, lv2, known_factor=known)
  seeds = tf.constant([[1, 2, 3], [4, 5, 6]])
  z1, z2 = model.sample_latents(agg, seeds)
  shared = agg.mask.numpy() == 1.
  z1, z2 = z1.numpy(), z2.numpy()
  assert np.all(z1[~shared] != z2[~shared])
  if objective == "paper":
    np.testing.assert_array_equal(z1[shared], z2[shared])
  else:
    assert np.all(z1[shared] != z2[shared])


def test_paper_kl_gradient_wrt_the_mask_is_the_saving_of_sharing():
  rng = np.random.RandomState(2)
  m1, m2 = (tf.constant(rng.randn(B, D), tf.float32) for _ in range(2))
  lv1, lv2 = (tf.constant(0.3 * rng.randn(B, D), tf.float32)
              for _ in range(2))
  mean, log_var = aggregation.average_posteriors(m1, lv1, m2, lv2)
  mask = tf.Variable(tf.cast(rng.rand(B, D) < 0.5, tf.float32))
  with tf.GradientTape() as tape:
    agg = aggregation.Aggregation(
        mean1=None, log_var1=None, mean2=None, log_var2=None, mean=mean,
        log_var=log_var, mask=mask, losses={}, metrics={})
    kl = tf.reduce_sum(weak_vae.latent_kl(agg, m1, lv1, m2, lv2, "paper"))
  grad = tape.gradient(kl, mask).numpy()

  def per_dim(mu, lv):
    return tfd.kl_divergence(tfd.Normal(mu, tf.exp(0.5 * lv)),
                             tfd.Normal(0., 1.)).numpy()

  expected = per_dim(mean, log_var) - per_dim(m1, lv1) - per_dim(m2, lv2)
  np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["hg", "drpm"])
def test_gradients_reach_the_aggregator_through_the_shared_once_kl(name):
  """gamma = 0: only the reconstruction and the eq. 6 KL accounting move
  omega (and the DRPM scores) through the straight-through mask."""
  with gin.unlock_config():
    gin.bind_parameter("weak_vae.gamma", 0.)
  model = _model("paper", name)
  aggregator = model.aggregator
  offset = tf.Variable(tf.zeros([D]))
  if name == "drpm":
    scores = aggregator.log_scores
    aggregator.log_scores = lambda kl: scores(kl) + offset
  x1, x2 = _images(3), _images(4)
  with tf.GradientTape() as tape:
    terms = model.compute_losses(x1, x2, None, tf.constant(2, tf.int64),
                                 seeds=tf.constant([[1, 2, 3, 4],
                                                    [5, 6, 7, 8]]))
    objective = terms["kl_loss"]
  kernel = aggregator.omega_layer.kernel
  grads = tape.gradient(objective, [kernel, offset])
  assert np.any(grads[0].numpy() != 0.)
  if name == "drpm":
    assert np.any(grads[1].numpy() != 0.)
  for grad in grads[:1 if name == "hg" else 2]:
    assert np.all(np.isfinite(grad.numpy()))


def test_unknown_objective_is_a_clear_error():
  with pytest.raises(ValueError, match="weak_vae.objective.*paper, dlib"):
    weak_vae.WeakVAE(architecture="conv32", objective="elbo")

"""Unit tests of the view aggregators (disentanglement_ext/aggregation.py)."""
import gin
import numpy as np
import pytest
import tensorflow as tf

from disentanglement_ext import aggregation
from disentanglement_ext import weak_vae

B, D, F = 6, 10, 7


def _posteriors(seed=0):
  rng = np.random.RandomState(seed)
  m1 = tf.constant(rng.randn(B, D), tf.float32)
  m2 = tf.constant(rng.randn(B, D), tf.float32)
  lv1 = tf.constant(0.3 * rng.randn(B, D), tf.float32)
  lv2 = tf.constant(0.3 * rng.randn(B, D), tf.float32)
  shared = tf.constant(rng.rand(B, F) < 0.4)
  return m1, lv1, m2, lv2, shared


def _posteriors_with_kl(kl):
  """Posteriors whose per-dim KL(q1 || q2) is exactly `kl` [B, D]."""
  kl = np.asarray(kl, np.float32)
  zeros = tf.zeros(kl.shape)
  return zeros, zeros, tf.constant(np.sqrt(2. * kl)), zeros


@pytest.mark.parametrize("name", aggregation.AGGREGATIONS)
def test_mask_shape_dtype_and_eq_49_50(name):
  m1, lv1, m2, lv2, shared = _posteriors()
  agg = aggregation.make_aggregator(name, D, num_steps=100)
  out = agg(m1, lv1, m2, lv2, step=5, shared_factors=shared,
            seed=tf.constant([3, 4]))
  mask = out.mask.numpy()
  assert out.mask.dtype == tf.float32 and mask.shape == (B, D)
  assert set(np.unique(mask)) <= {0., 1.}
  avg_mean, avg_log_var = aggregation.average_posteriors(m1, lv1, m2, lv2)
  shared_dims = mask == 1
  np.testing.assert_allclose(out.mean1.numpy()[shared_dims],
                             avg_mean.numpy()[shared_dims], rtol=1e-6)
  np.testing.assert_allclose(out.mean2.numpy()[shared_dims],
                             avg_mean.numpy()[shared_dims], rtol=1e-6)
  np.testing.assert_allclose(out.log_var1.numpy()[shared_dims],
                             avg_log_var.numpy()[shared_dims], rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(out.mean1.numpy()[~shared_dims],
                             m1.numpy()[~shared_dims])
  np.testing.assert_allclose(out.mean2.numpy()[~shared_dims],
                             m2.numpy()[~shared_dims])
  np.testing.assert_allclose(out.log_var2.numpy()[~shared_dims],
                             lv2.numpy()[~shared_dims])


@pytest.mark.parametrize("name", aggregation.AGGREGATIONS)
def test_gradients_finite(name):
  m1, lv1, m2, lv2, shared = _posteriors(1)
  agg = aggregation.make_aggregator(name, D, num_steps=100)
  inputs = [tf.Variable(t) for t in (m1, lv1, m2, lv2)]
  with tf.GradientTape() as tape:
    out = agg(*inputs, step=50, shared_factors=shared,
              seed=tf.constant([1, 2]))
    loss = (tf.reduce_sum(tf.square(out.mean1)) +
            tf.reduce_sum(tf.exp(out.log_var2)) +
            tf.add_n([0.] + list(out.losses.values())))
  variables = inputs + agg.trainable_variables
  grads = tape.gradient(loss, variables)
  for var, grad in zip(variables, grads):
    assert grad is not None, var.name
    assert np.all(np.isfinite(grad.numpy())), var.name
  if name in ("hg", "drpm"):
    # The Dense layer on the KLs learns (straight-through mask / KL terms).
    kernel_grad = grads[len(inputs)]
    assert np.any(kernel_grad.numpy() != 0)


def test_adaptive_threshold_on_constructed_kls():
  kl = np.tile(np.array([0., .1, .2, 4.9, 5.1, 6., 7., 8., 9., 10.],
                        np.float32), (B, 1))
  kl[1] = [10., 0., 10., 0., 2., 8., 4.99, 5., 5.01, 1.]  # threshold 5.
  kl[2] = 3.  # All equal -> all shared.
  m1, lv1, m2, lv2 = _posteriors_with_kl(kl)
  np.testing.assert_allclose(aggregation.per_dim_kl(m1, lv1, m2, lv2).numpy(),
                             kl, rtol=1e-5, atol=1e-6)
  out = aggregation.make_aggregator("adaptive", D, 1)(m1, lv1, m2, lv2)
  mask = out.mask.numpy()
  np.testing.assert_array_equal(mask[0], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
  # dlib's histogram bins: exactly at (min + max) / 2 is independent.
  np.testing.assert_array_equal(mask[1], [0, 1, 0, 1, 1, 0, 1, 0, 0, 1])
  np.testing.assert_array_equal(mask[2], np.ones(D))


def test_label_uses_number_of_changed_factors():
  rng = np.random.RandomState(0)
  kl = rng.permutation(np.arange(B * D, dtype=np.float32)).reshape(B, D)
  m1, lv1, m2, lv2 = _posteriors_with_kl(kl)
  shared = np.zeros((B, F), bool)
  for row in range(B):
    shared[row, rng.choice(F, size=row % (F + 1), replace=False)] = True
  out = aggregation.make_aggregator("label", D, 1)(
      m1, lv1, m2, lv2, shared_factors=tf.constant(shared))
  mask = out.mask.numpy()
  for row in range(B):
    changed = F - shared[row].sum()
    independent = np.argsort(-kl[row])[:changed]
    expected = np.ones(D)
    expected[independent] = 0.
    np.testing.assert_array_equal(mask[row], expected)
  with pytest.raises(ValueError, match="shared-factor"):
    aggregation.make_aggregator("label", D, 1)(m1, lv1, m2, lv2)


@pytest.mark.parametrize("scores,shared", [("kl", 1), ("neg_kl", 0),
                                           ("neg_log_kl", 0)])
def test_drpm_mask_is_the_sampled_shared_subset_and_kl_bounds_exact_kl(
    scores, shared):
  m1, lv1, m2, lv2, _ = _posteriors(2)
  with gin.unlock_config():
    gin.bind_parameter("drpm_aggregation.scores", scores)
  try:
    agg = aggregation.make_aggregator("drpm", D, num_steps=10, gamma=0.5)
  finally:
    gin.clear_config()
  assert agg.shared_subset == shared
  seed = tf.constant([7, 8])
  out = agg(m1, lv1, m2, lv2, step=3, seed=seed)
  kl = aggregation.per_dim_kl(m1, lv1, m2, lv2)
  posterior = agg.posterior(kl, 3)
  sample = posterior.sample_components(seed=seed)
  np.testing.assert_array_equal(out.mask.numpy(),
                                sample.partition[:, shared, :].numpy())
  np.testing.assert_array_equal(out.mask.numpy().sum(-1),
                                sample.counts[:, shared].numpy())
  # Whatever the score convention, the shared subset collects the low-KL dims:
  # with equal subset weights (zeroed omega layer, so subset sizes are
  # symmetric) and KLs far apart, low-KL dims are shared far more often.
  agg.omega_layer.set_weights([np.zeros_like(w)
                               for w in agg.omega_layer.get_weights()])
  far_apart = tf.constant(np.tile([0.01] * (D // 2) + [5.] * (D - D // 2),
                                  (64, 1)), tf.float32)
  mask, _, _ = agg.shared_mask(far_apart, 3, None, seed, True)
  mask = mask.numpy()
  assert mask[:, :D // 2].mean() > mask[:, D // 2:].mean() + 0.3
  # The Lemma-4 term upper-bounds the exact log q(Y) - log p(Y).
  exact = tf.reduce_mean(posterior.log_prob(sample.partition) -
                         agg.prior(3).log_prob(sample.partition))
  bound = out.metrics["partition_kl"]
  assert float(bound) >= float(exact) - 1e-4
  np.testing.assert_allclose(float(out.losses["partition_kl"]),
                             0.5 * float(bound), rtol=1e-6)
  # Temperature annealing 1 -> 0.5.
  assert float(agg.temperature(0)) == pytest.approx(1.0)
  assert float(agg.temperature(10)) == pytest.approx(0.5)
  assert float(agg.temperature(1000)) == pytest.approx(0.5)


def test_hg_shares_the_dims_with_smallest_kl():
  m1, lv1, m2, lv2, _ = _posteriors(3)
  agg = aggregation.make_aggregator("hg", D, num_steps=10)
  out = agg(m1, lv1, m2, lv2, step=10, seed=tf.constant([5, 6]))
  kl = aggregation.per_dim_kl(m1, lv1, m2, lv2).numpy()
  mask = out.mask.numpy()
  for row in range(B):
    k = int(mask[row].sum())
    expected = np.zeros(D)
    expected[np.argsort(kl[row], kind="stable")[:k]] = 1.
    np.testing.assert_array_equal(mask[row], expected)


def test_unknown_names_raise_clear_errors():
  with pytest.raises(ValueError, match="label, adaptive, hg, drpm"):
    aggregation.make_aggregator("ada", D, 1)
  with pytest.raises(ValueError, match="label, adaptive, hg, drpm"):
    weak_vae.WeakVAE(aggregation="nope", architecture="conv32")
  with pytest.raises(ValueError, match="conv64, conv32"):
    weak_vae.WeakVAE(architecture="conv16")

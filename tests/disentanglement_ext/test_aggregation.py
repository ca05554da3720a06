"""Unit tests of the view aggregators (disentanglement_ext/aggregation.py)."""
import gin
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from disentanglement_ext import aggregation
from disentanglement_ext import weak_vae
from drpm_tf import gaussian

B, D, F = 6, 10, 7


def _posteriors(seed=0):
  rng = np.random.RandomState(seed)
  m1 = tf.constant(rng.randn(B, D), tf.float32)
  m2 = tf.constant(rng.randn(B, D), tf.float32)
  lv1 = tf.constant(0.3 * rng.randn(B, D), tf.float32)
  lv2 = tf.constant(0.3 * rng.randn(B, D), tf.float32)
  shared = tf.constant(rng.rand(B, F) < 0.4)
  return m1, lv1, m2, lv2, shared


def _known_factor(shared):
  """The first changed factor of each pair, -1 if none changed."""
  changed = ~np.asarray(shared)
  return tf.constant(np.where(changed.any(1), changed.argmax(1), -1))


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
            known_factor=_known_factor(shared), seed=tf.constant([3, 4]))
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
  np.testing.assert_allclose(out.mean.numpy(), avg_mean.numpy(), rtol=1e-6)
  np.testing.assert_allclose(out.log_var.numpy(), avg_log_var.numpy(),
                             rtol=1e-6)


@pytest.mark.parametrize("name", aggregation.AGGREGATIONS)
def test_gradients_finite(name):
  m1, lv1, m2, lv2, shared = _posteriors(1)
  agg = aggregation.make_aggregator(name, D, num_steps=100)
  inputs = [tf.Variable(t) for t in (m1, lv1, m2, lv2)]
  with tf.GradientTape() as tape:
    out = agg(*inputs, step=50, shared_factors=shared,
              known_factor=_known_factor(shared), seed=tf.constant([1, 2]))
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
  np.testing.assert_allclose(gaussian.kl_per_dim(m1, lv1, m2, lv2).numpy(),
                             kl, rtol=1e-5, atol=1e-6)
  out = aggregation.make_aggregator("adaptive", D, 1)(m1, lv1, m2, lv2)
  mask = out.mask.numpy()
  np.testing.assert_array_equal(mask[0], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
  # dlib's histogram bins: exactly at (min + max) / 2 is independent.
  np.testing.assert_array_equal(mask[1], [0, 1, 0, 1, 1, 0, 1, 0, 0, 1])
  np.testing.assert_array_equal(mask[2], np.ones(D))


def test_label_makes_only_the_known_factor_independent():
  m1, lv1, m2, lv2, shared = _posteriors(4)
  known = np.array([0, 3, 6, -1, 2, 5])
  out = aggregation.make_aggregator("label", D, 1)(
      m1, lv1, m2, lv2, shared_factors=shared, known_factor=tf.constant(known))
  expected = np.ones((B, D))
  for row, j in enumerate(known):
    if j >= 0:
      expected[row, j] = 0.
  np.testing.assert_array_equal(out.mask.numpy(), expected)
  # dlib's aggregate_labels: the one-hot position keeps its own posterior.
  np.testing.assert_array_equal(out.mean1.numpy()[0, 0], m1.numpy()[0, 0])
  assert out.mask.numpy().sum(1).tolist() == [9, 9, 9, 10, 9, 9]
  with pytest.raises(ValueError, match="known changed factor"):
    aggregation.make_aggregator("label", D, 1)(m1, lv1, m2, lv2,
                                               shared_factors=shared)


def test_label_oracle_uses_number_of_changed_factors():
  rng = np.random.RandomState(0)
  kl = rng.permutation(np.arange(B * D, dtype=np.float32)).reshape(B, D)
  m1, lv1, m2, lv2 = _posteriors_with_kl(kl)
  shared = np.zeros((B, F), bool)
  for row in range(B):
    shared[row, rng.choice(F, size=row % (F + 1), replace=False)] = True
  with gin.unlock_config():
    gin.bind_parameter("label_aggregation.mode", "oracle_num_changed")
  try:
    agg = aggregation.make_aggregator("label", D, 1)
  finally:
    gin.clear_config()
  out = agg(m1, lv1, m2, lv2, shared_factors=tf.constant(shared))
  mask = out.mask.numpy()
  for row in range(B):
    changed = F - shared[row].sum()
    independent = np.argsort(-kl[row])[:changed]
    expected = np.ones(D)
    expected[independent] = 0.
    np.testing.assert_array_equal(mask[row], expected)
  with pytest.raises(ValueError, match="shared-factor"):
    agg(m1, lv1, m2, lv2)


def _fisher_mode(log_weights, d):
  """Mode of class 0's count by scipy's Fisher noncentral hypergeometric."""
  odds = np.exp(log_weights[..., 0] - log_weights[..., 1])
  support = np.arange(d + 1)
  return np.array([support[np.argmax(stats.nchypergeom_fisher(
      2 * d, d, d, o).pmf(support))] for o in np.ravel(odds)])


def test_two_class_mvhg_mode_matches_scipy():
  rng = np.random.RandomState(5)
  log_weights = rng.randn(40, 2).astype(np.float32) * 2.
  counts = aggregation.two_class_mvhg_mode(tf.constant(log_weights), D).numpy()
  np.testing.assert_array_equal(counts[:, 0], _fisher_mode(log_weights, D))
  np.testing.assert_array_equal(counts.sum(1), D)
  # A wrong reference (class 1's count) disagrees.
  assert np.any(counts[:, 1] != _fisher_mode(log_weights, D))


@pytest.mark.parametrize("name", aggregation.AGGREGATIONS)
def test_deterministic_masks_do_not_depend_on_the_seed(name):
  m1, lv1, m2, lv2, shared = _posteriors(6)
  agg = aggregation.make_aggregator(name, D, num_steps=10)
  masks = [agg(m1, lv1, m2, lv2, step=10, shared_factors=shared,
               known_factor=_known_factor(shared), seed=tf.constant(seed),
               deterministic=True).mask.numpy()
           for seed in ([0, 0], [1, 2], [99, 7])]
  for mask in masks[1:]:
    np.testing.assert_array_equal(masks[0], mask)
  if name in ("hg", "drpm"):
    # Sampled masks do depend on it (the deterministic ones are not samples).
    sampled = [agg(m1, lv1, m2, lv2, step=0, seed=tf.constant([s, 1]))
               .mask.numpy() for s in range(8)]
    assert any(not np.array_equal(sampled[0], m) for m in sampled[1:])


@pytest.mark.parametrize("name,log_scores", [("hg", None), ("drpm", "log_kl"),
                                             ("drpm", "kl"),
                                             ("drpm", "neg_kl")])
def test_deterministic_masks_are_the_mode_count_of_lowest_kl_dims(
    name, log_scores):
  m1, lv1, m2, lv2, _ = _posteriors(7)
  if log_scores:
    with gin.unlock_config():
      gin.bind_parameter("drpm_aggregation.log_scores", log_scores)
  # The omega head's initial weights decide whether the modes differ between
  # pairs (the last assert): fixed, not left to the tests run before.
  tf.keras.utils.set_random_seed(0)
  try:
    agg = aggregation.make_aggregator(name, D, num_steps=10)
  finally:
    gin.clear_config()
  # Spread the omega head so that the modes differ between pairs.
  kernel, bias = agg.omega_layer.get_weights()
  agg.omega_layer.set_weights([kernel * 3., bias + [0.5, -0.5]])
  out = agg(m1, lv1, m2, lv2, deterministic=True)
  kl = gaussian.kl_per_dim(m1, lv1, m2, lv2).numpy()
  first = _fisher_mode(agg.log_omega(tf.constant(kl)).numpy(), D)
  num_shared = D - first if name == "drpm" and log_scores != "neg_kl" else first
  expected = np.zeros((B, D))
  for row in range(B):
    expected[row, np.argsort(kl[row], kind="stable")[:num_shared[row]]] = 1.
  np.testing.assert_array_equal(out.mask.numpy(), expected)
  assert len(set(num_shared)) > 1


@pytest.mark.parametrize("log_scores,shared", [
    ("log_kl", 1), ("log_kl_stop_gradient", 1), ("kl", 1), ("neg_kl", 0)])
def test_drpm_mask_is_the_sampled_shared_subset_and_kl_bounds_exact_kl(
    log_scores, shared):
  m1, lv1, m2, lv2, _ = _posteriors(2)
  with gin.unlock_config():
    gin.bind_parameter("drpm_aggregation.log_scores", log_scores)
  try:
    agg = aggregation.make_aggregator("drpm", D, num_steps=10, gamma=0.5)
  finally:
    gin.clear_config()
  assert agg.shared_subset == shared
  seed = tf.constant([7, 8])
  out = agg(m1, lv1, m2, lv2, step=3, seed=seed)
  kl = gaussian.kl_per_dim(m1, lv1, m2, lv2)
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
  mask, _, _ = agg.shared_mask(far_apart, 3, seed, False)
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
  kl = gaussian.kl_per_dim(m1, lv1, m2, lv2).numpy()
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

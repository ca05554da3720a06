"""Tests of DifferentiableRandomPartition against brute-force enumeration.

The reference `_brute_force_log_probs` enumerates every (counts, permutation)
pair of the two-stage model (paper Definition 1) with numpy and accumulates
p(counts) p(pi) into the partition it produces (eq. 2). It shares no code with
the library.
"""

import collections
import itertools

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf
from scipy.special import gammaln, logsumexp

from drpm_tf.distributions import DifferentiableRandomPartition
from drpm_tf.distributions import drpm as drpm_lib

_ERRORS = (ValueError, tf.errors.InvalidArgumentError)


def _count_vectors(n, k):
  return [c for c in itertools.product(range(n + 1), repeat=k) if sum(c) == n]


def _mvhg_log_pmf(log_weights, n):
  """Exact log-pmf of the MVHG with m_k = n over all count vectors."""
  counts = np.array(_count_vectors(n, len(log_weights)))
  log_terms = (gammaln(n + 1) - gammaln(counts + 1) - gammaln(n - counts + 1) +
               counts * log_weights).sum(-1)
  return counts, log_terms - logsumexp(log_terms)


def _pl_log_prob(order, log_scores):
  ordered = log_scores[list(order)]
  return sum(ordered[r] - logsumexp(ordered[r:]) for r in range(len(order)))


def _brute_force_log_probs(log_weights, log_scores):
  """{partition key: log p(Y)} by enumerating eq. 2; key = tuple of subsets."""
  n = len(log_scores)
  counts, log_p_counts = _mvhg_log_pmf(np.asarray(log_weights), n)
  orders = list(itertools.permutations(range(n)))
  log_p_orders = [_pl_log_prob(o, np.asarray(log_scores)) for o in orders]
  log_p = collections.defaultdict(lambda: -np.inf)
  for c, lpc in zip(counts, log_p_counts):
    bounds = np.concatenate([[0], np.cumsum(c)])
    for order, lpo in zip(orders, log_p_orders):
      key = tuple(frozenset(order[bounds[k]:bounds[k + 1]])
                  for k in range(len(c)))
      log_p[key] = np.logaddexp(log_p[key], lpc + lpo)
  return dict(log_p)


def _to_matrix(key, n):
  y = np.zeros((len(key), n))
  for k, subset in enumerate(key):
    y[k, sorted(subset)] = 1.
  return y


def _to_key(y):
  return tuple(frozenset(np.flatnonzero(row).tolist()) for row in y)


def _random_params(seed, k, n, spread=1.5):
  rng = np.random.default_rng(seed)
  return rng.normal(size=k) * spread, rng.normal(size=n) * spread


@pytest.mark.parametrize('k,n,seed', [(2, 7, 0), (3, 6, 1), (3, 5, 2), (1, 4, 3),
                                      (3, 7, 4)])
def test_exact_log_prob_matches_enumeration(k, n, seed):
  log_weights, log_scores = _random_params(seed, k, n)
  reference = _brute_force_log_probs(log_weights, log_scores)
  keys = list(reference)
  ys = np.stack([_to_matrix(key, n) for key in keys])
  dist = DifferentiableRandomPartition(log_weights, log_scores, 0.5,
                                       validate_args=True)
  got = dist.log_prob(ys).numpy()
  np.testing.assert_allclose(got, [reference[key] for key in keys],
                             rtol=0., atol=1e-5)
  # Every partition with one subset per label: probabilities sum to one.
  assert len(keys) == k**n
  np.testing.assert_allclose(logsumexp(got), 0., atol=1e-9)


def test_exact_log_prob_with_extreme_score_spread_float64():
  log_weights = np.array([3., -2., 0.5])
  log_scores = np.array([-20., 15., 0., 8., -9., 25.])
  reference = _brute_force_log_probs(log_weights, log_scores)
  keys = list(reference)
  got = DifferentiableRandomPartition(log_weights, log_scores, 0.5).log_prob(
      np.stack([_to_matrix(key, 6) for key in keys])).numpy()
  want = np.array([reference[key] for key in keys])
  likely = want > -60.  # smaller log-probs are rounded away by the reference
  np.testing.assert_allclose(got[likely], want[likely], atol=1e-5, rtol=0.)


def test_log_prob_float32_close_to_float64():
  log_weights, log_scores = _random_params(5, 3, 6)
  ys = np.stack([_to_matrix(key, 6) for key in
                 _brute_force_log_probs(log_weights, log_scores)])
  lp64 = DifferentiableRandomPartition(log_weights, log_scores, 0.5).log_prob(ys)
  lp32 = DifferentiableRandomPartition(
      log_weights.astype(np.float32), log_scores.astype(np.float32),
      0.5).log_prob(ys.astype(np.float32))
  assert lp32.dtype == tf.float32
  np.testing.assert_allclose(lp32.numpy(), lp64.numpy(), atol=2e-4)


@pytest.mark.parametrize('k,n,seed', [(3, 6, 6), (4, 3, 13)])
def test_bounds_sandwich_exact_and_are_tight_for_singletons(k, n, seed):
  log_weights, log_scores = _random_params(seed, k, n)
  ys = np.stack([_to_matrix(key, n) for key in
                 _brute_force_log_probs(log_weights, log_scores)])
  dist = DifferentiableRandomPartition(log_weights, log_scores, 0.5)
  exact = dist.log_prob(ys).numpy()
  lower = dist.log_prob_lower_bound(ys).numpy()
  upper = dist.log_prob_upper_bound(ys).numpy()
  assert np.all(lower <= exact + 1e-9)
  assert np.all(exact <= upper + 1e-9)
  log_orderings = dist.log_num_orderings(ys).numpy()
  np.testing.assert_allclose(log_orderings,
                             gammaln(ys.sum(-1) + 1).sum(-1), atol=1e-12)
  np.testing.assert_allclose(upper - lower, log_orderings, atol=1e-9)
  # With at most one element per subset Pi_Y has one element: all three agree.
  single = log_orderings == 0.
  assert single.any() == (n <= k)
  np.testing.assert_allclose(lower[single], exact[single], atol=1e-6)
  # Otherwise the bounds are strict.
  assert np.all(lower[~single] < exact[~single])
  assert np.all(exact[~single] < upper[~single])


def test_lower_bound_uses_the_best_ordering_in_pi_y():
  """The lower bound equals max over Pi_Y of log p(n) + log PL(pi), enumerated."""
  log_weights, log_scores = _random_params(7, 3, 5)
  counts, log_p_counts = _mvhg_log_pmf(log_weights, 5)
  best = collections.defaultdict(lambda: -np.inf)
  for order in itertools.permutations(range(5)):
    log_p_order = _pl_log_prob(order, log_scores)
    for c, lpc in zip(counts, log_p_counts):
      bounds = np.concatenate([[0], np.cumsum(c)])
      key = tuple(frozenset(order[bounds[k]:bounds[k + 1]]) for k in range(3))
      best[key] = max(best[key], lpc + log_p_order)
  keys = list(best)
  dist = DifferentiableRandomPartition(log_weights, log_scores, 0.5)
  got = dist.log_prob_lower_bound(np.stack([_to_matrix(k, 5) for k in keys]))
  np.testing.assert_allclose(got.numpy(), [best[k] for k in keys], atol=1e-9)


def _chi_square_p_value(samples, log_probs_by_key):
  counts = collections.Counter(_to_key(y) for y in samples)
  keys = list(log_probs_by_key)
  expected = np.exp([log_probs_by_key[key] for key in keys]) * len(samples)
  observed = np.array([counts.get(key, 0) for key in keys], dtype=float)
  assert sum(counts.values()) == observed.sum(), 'sample outside the support'
  big = expected >= 5.
  observed = np.append(observed[big], observed[~big].sum())
  expected = np.append(expected[big], expected[~big].sum())
  return scipy.stats.chisquare(observed, expected).pvalue


def test_hard_sample_frequencies_match_exact_probabilities():
  log_weights = np.array([1.2, -0.8])
  log_scores = np.array([1.5, 0., -1., 0.5])
  reference = _brute_force_log_probs(log_weights, log_scores)
  dist = DifferentiableRandomPartition(log_weights, log_scores, 0.7)
  samples = dist.sample(20000, seed=42).numpy()
  assert _chi_square_p_value(samples, reference) > 1e-3
  # Power: the same samples are rejected against a wrong model (swapped weights).
  wrong = _brute_force_log_probs(log_weights[::-1], log_scores)
  assert _chi_square_p_value(samples, wrong) < 1e-6
  # And against exp of the (valid, but different) Lemma-4 lower bound, renormalized.
  keys = list(reference)
  lower = dist.log_prob_lower_bound(
      np.stack([_to_matrix(key, 4) for key in keys])).numpy()
  lower = dict(zip(keys, lower - logsumexp(lower)))
  assert _chi_square_p_value(samples, lower) < 1e-6


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_hard_samples_are_partitions_built_from_their_components(dtype):
  log_weights, log_scores = _random_params(8, 4, 9)
  dist = DifferentiableRandomPartition(log_weights.astype(dtype),
                                       log_scores.astype(dtype), 0.5)
  seed = tf.constant([3, 1])  # stateless: reproducible across calls
  sample = dist.sample_components([3, 5], seed=seed)
  y = sample.partition.numpy()
  counts = sample.counts.numpy()
  perm = sample.permutation.numpy()
  assert y.shape == (3, 5, 4, 9) and y.dtype == dtype
  assert counts.shape == (3, 5, 4) and perm.shape == (3, 5, 9, 9)
  assert set(np.unique(y)) <= {0., 1.}
  np.testing.assert_array_equal(y.sum(-2), 1.)  # one-hot columns
  np.testing.assert_array_equal(y.sum(-1), counts)  # row sums = counts
  np.testing.assert_array_equal(perm.sum(-1), 1.)
  np.testing.assert_array_equal(perm.sum(-2), 1.)
  # Definition 1: subset k holds the elements at ranks [c_{k-1}, c_k).
  order = perm.argmax(-1)
  bounds = np.concatenate([np.zeros((3, 5, 1)), np.cumsum(counts, -1)], -1)
  for idx in np.ndindex(3, 5):
    for k in range(4):
      members = order[idx][int(bounds[idx][k]):int(bounds[idx][k + 1])]
      np.testing.assert_array_equal(np.flatnonzero(y[idx][k]), np.sort(members))
  # `sample` with the same seed returns the same partitions.
  np.testing.assert_array_equal(dist.sample([3, 5], seed=seed).numpy(), y)


@pytest.mark.parametrize('hard', [True, False])
def test_sample_gradients_finite_and_nonzero_for_both_parameters(hard):
  log_weights = tf.Variable([0.3, -0.2, 0.1], dtype=tf.float32)
  log_scores = tf.Variable(np.linspace(-1., 1., 8), dtype=tf.float32)
  target = tf.constant(np.random.default_rng(0).normal(size=(3, 8)), tf.float32)
  with tf.GradientTape() as tape:
    dist = DifferentiableRandomPartition(log_weights, log_scores, 0.5, hard=hard)
    loss = tf.reduce_sum(dist.sample(16, seed=11) * target)
  grads = tape.gradient(loss, [log_weights, log_scores])
  for grad in grads:
    assert grad is not None
    assert np.all(np.isfinite(grad.numpy()))
    assert np.any(np.abs(grad.numpy()) > 1e-6)


def test_log_prob_gradient_matches_finite_differences():
  log_weights, log_scores = _random_params(9, 3, 6)
  y = _to_matrix((frozenset({0, 4}), frozenset({1, 2, 5}), frozenset({3})), 6)

  def log_prob(lw, ls):
    return DifferentiableRandomPartition(lw, ls, 0.5).log_prob(y)

  lw = tf.constant(log_weights)
  ls = tf.constant(log_scores)
  with tf.GradientTape() as tape:
    tape.watch([lw, ls])
    value = log_prob(lw, ls)
  grad_lw, grad_ls = tape.gradient(value, [lw, ls])
  eps = 1e-6
  for param, grad, other_first in ((log_weights, grad_lw, True),
                                   (log_scores, grad_ls, False)):
    numeric = []
    for i in range(len(param)):
      step = np.zeros_like(param)
      step[i] = eps
      if other_first:
        plus, minus = log_prob(param + step, ls), log_prob(param - step, ls)
      else:
        plus, minus = log_prob(lw, param + step), log_prob(lw, param - step)
      numeric.append((plus.numpy() - minus.numpy()) / (2 * eps))
    np.testing.assert_allclose(grad.numpy(), numeric, atol=1e-6)
    assert np.any(np.abs(grad.numpy()) > 1e-3)


def test_soft_samples_approach_hard_samples_as_temperature_decreases():
  log_weights, log_scores = _random_params(10, 3, 7)
  seed = tf.constant([5, 0])
  hard = DifferentiableRandomPartition(log_weights, log_scores, 0.5).sample(
      50, seed=seed).numpy()
  gaps = []
  for temperature in (1., 0.1, 0.01, 0.001):
    soft = DifferentiableRandomPartition(log_weights, log_scores, temperature,
                                         hard=False).sample(50, seed=seed).numpy()
    gaps.append(np.abs(soft - hard).mean())
  assert gaps[0] > gaps[1] > gaps[2] > gaps[3]
  assert gaps[3] < 0.01


def test_batch_shapes_broadcast():
  dist = DifferentiableRandomPartition(
      np.zeros((2, 1, 3)), np.zeros((4, 5)), np.full((2, 4), 0.5))
  assert dist.batch_shape == (2, 4) and dist.event_shape == (3, 5)
  y = dist.sample(6, seed=1)
  assert y.shape == (6, 2, 4, 3, 5)
  assert dist.log_prob(y).shape == (6, 2, 4)
  np.testing.assert_array_less(dist.log_prob_lower_bound(y),
                               dist.log_prob(y) + 1e-5)


def test_sampling_and_gradients_in_tf_function_and_xla():
  log_weights, log_scores = _random_params(11, 3, 10)
  log_weights = tf.Variable(log_weights.astype(np.float32))
  log_scores = tf.Variable(log_scores.astype(np.float32))
  seed = tf.constant([4, 2], tf.int32)
  target = tf.constant(np.random.default_rng(1).normal(size=(3, 10)), tf.float32)

  def draw(seed):
    with tf.GradientTape() as tape:
      dist = DifferentiableRandomPartition(log_weights, log_scores, 0.5)
      y = dist.sample(4, seed=seed)
      loss = tf.reduce_sum(y * target)
    return y, tape.gradient(loss, [log_weights, log_scores])

  eager, eager_grads = draw(seed)
  graph, graph_grads = tf.function(draw)(seed)
  np.testing.assert_array_equal(graph.numpy(), eager.numpy())
  for a, b in zip(graph_grads, eager_grads):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
  # XLA's stateless RNG kernels produce a different (equally valid) stream than
  # TF's for the same seed, so compare properties and determinism, not values.
  xla = tf.function(draw, jit_compile=True)
  y, grads = xla(seed)
  np.testing.assert_array_equal(xla(seed)[0].numpy(), y.numpy())
  np.testing.assert_array_equal(y.numpy().sum(-2), 1.)
  assert set(np.unique(y.numpy())) == {0., 1.}
  for grad in grads:
    assert np.all(np.isfinite(grad.numpy())) and np.any(grad.numpy() != 0.)


def test_extremes_large_partition_large_spread_low_temperature():
  rng = np.random.default_rng(12)
  log_weights = tf.Variable(rng.uniform(-50., 50., size=32).astype(np.float32))
  log_scores = tf.Variable(rng.uniform(-50., 50., size=1024).astype(np.float32))
  target = tf.constant(rng.normal(size=(32, 1024)).astype(np.float32))
  with tf.GradientTape(persistent=True) as tape:
    dist = DifferentiableRandomPartition(log_weights, log_scores, 0.05,
                                         validate_args=True)
    sample = dist.sample_components(seed=7)
    loss = tf.reduce_sum(sample.partition * target)
    log_prob = dist.log_prob(tf.stop_gradient(sample.partition))
  y = sample.partition.numpy()
  np.testing.assert_array_equal(y.sum(0), 1.)
  np.testing.assert_array_equal(y.sum(1), sample.counts.numpy())
  assert np.isfinite(log_prob.numpy())
  lower = dist.log_prob_lower_bound(y).numpy()
  upper = dist.log_prob_upper_bound(y).numpy()
  assert lower <= log_prob.numpy() <= upper
  for value in (loss, log_prob):
    for grad in tape.gradient(value, [log_weights, log_scores]):
      assert np.all(np.isfinite(grad.numpy()))
      assert np.any(grad.numpy() != 0.)


def test_assignment_matrix_interpolates_fractional_counts():
  counts = tf.constant([1.5, 2.5], tf.float64)
  blocks = drpm_lib._blocks(counts, 4)
  np.testing.assert_allclose(blocks.numpy(), [[1., .5, 0., 0.],
                                              [0., .5, 1., 1.]])


@pytest.mark.parametrize('kwargs,match', [
    (dict(log_weights=[0., np.inf], log_scores=[0., 1.]), 'log_weights'),
    (dict(log_weights=[0., 1.], log_scores=[np.nan, 1.]), 'log_scores'),
    (dict(log_weights=np.zeros([0]), log_scores=[0., 1.]), 'log_weights'),
    (dict(log_weights=[0., 1.], log_scores=np.zeros([0])), 'log_scores'),
    (dict(log_weights=[0., 1.], log_scores=[0., 1.], temperature=0.), 'temperature'),
    (dict(log_weights=[0., 1.], log_scores=[0., 1.], temperature=-1.), 'temperature'),
    (dict(log_weights=np.zeros([3, 2]), log_scores=np.zeros([4, 5])),
     'log_weights.*log_scores'),
])
def test_invalid_parameters_raise_naming_the_argument(kwargs, match):
  kwargs.setdefault('temperature', 0.5)
  with pytest.raises(_ERRORS, match=match):
    DifferentiableRandomPartition(validate_args=True, **kwargs)


@pytest.mark.parametrize('y', [
    [[1., 0., 1.], [0., 1., 1.]],  # element 2 in two subsets
    [[1., 0., 0.], [0., 1., 0.]],  # element 2 in none
    [[0.5, 0., 1.], [0.5, 1., 0.]],  # not 0/1
])
def test_log_prob_of_non_partition_raises(y):
  dist = DifferentiableRandomPartition([0., 1.], [0., 1., 2.], 0.5,
                                       validate_args=True)
  with pytest.raises(_ERRORS, match='partition'):
    dist.log_prob(y)


def test_lemma4_terms_match_enumeration():
  """Each public Lemma 4 term against its brute-force definition."""
  k, n = 3, 5
  log_weights, log_scores = _random_params(14, k, n)
  counts, log_p_counts = _mvhg_log_pmf(log_weights, n)
  orders = list(itertools.permutations(range(n)))
  log_p_orders = np.array([_pl_log_prob(o, log_scores) for o in orders])
  best_in_pi_y = collections.defaultdict(lambda: -np.inf)
  for order, lpo in zip(orders, log_p_orders):
    for c in counts:
      bounds = np.concatenate([[0], np.cumsum(c)])
      key = tuple(frozenset(order[bounds[j]:bounds[j + 1]]) for j in range(k))
      best_in_pi_y[key] = max(best_in_pi_y[key], lpo)
  keys = list(best_in_pi_y)
  ys = np.stack([_to_matrix(key, n) for key in keys])
  ys_counts = ys.sum(-1)
  dist = DifferentiableRandomPartition(log_weights, log_scores, 0.5)
  # log p(n; w) from counts (and the same from Y's row sums).
  want_counts = {tuple(c): lp for c, lp in zip(counts, log_p_counts)}
  np.testing.assert_allclose(
      dist.log_prob_counts(ys_counts).numpy(),
      [want_counts[tuple(c)] for c in ys_counts.astype(int)], atol=1e-9)
  # log |Pi_Y|: the number of orders that produce Y, counted.
  num_orders = collections.Counter()
  for order in orders:
    for c in counts:
      bounds = np.concatenate([[0], np.cumsum(c)])
      num_orders[tuple(frozenset(order[bounds[j]:bounds[j + 1]])
                       for j in range(k))] += 1
  want_orderings = np.log([num_orders[key] for key in keys])
  np.testing.assert_allclose(dist.log_num_orderings(ys).numpy(),
                             want_orderings, atol=1e-9)
  np.testing.assert_allclose(dist.log_num_orderings(counts=ys_counts).numpy(),
                             want_orderings, atol=1e-9)
  # max over Pi_Y, and the global max over all n! orders.
  np.testing.assert_allclose(dist.log_max_ordering_prob(ys).numpy(),
                             [best_in_pi_y[key] for key in keys], atol=1e-9)
  np.testing.assert_allclose(dist.log_max_permutation_prob().numpy(),
                             log_p_orders.max(), atol=1e-9)
  # The bounds are these terms combined.
  np.testing.assert_allclose(
      dist.log_prob_upper_bound(ys).numpy(),
      dist.log_prob_counts(ys_counts).numpy() + want_orderings +
      [best_in_pi_y[key] for key in keys], atol=1e-9)
  with pytest.raises(ValueError, match='exactly one'):
    dist.log_num_orderings(ys, counts=ys_counts)


def test_lemma4_terms_batch_shapes_and_gradients_through_counts():
  dist = DifferentiableRandomPartition(np.zeros((2, 3)), np.zeros((4, 1, 5)),
                                       0.5)
  assert dist.batch_shape == (4, 2)
  assert dist.log_max_permutation_prob().shape == (4, 2)
  counts = tf.Variable([[2., 2., 1.]], dtype=tf.float64)
  with tf.GradientTape() as tape:
    value = dist.log_prob_counts(counts) + dist.log_num_orderings(
        counts=counts)
  assert value.shape == (4, 2)
  grad = tape.gradient(value, counts).numpy()
  assert np.all(np.isfinite(grad)) and np.any(grad != 0.)


def _masked_reference(log_weights, log_scores, masked):
  """Enumerated log p(Y) with subset `masked` masked out (always empty)."""
  keep = [j for j in range(len(log_weights)) if j != masked]
  reduced = _brute_force_log_probs(np.asarray(log_weights)[keep], log_scores)
  return {key[:masked] + (frozenset(),) + key[masked:]: lp
          for key, lp in reduced.items()}


def test_masked_subset_log_prob_matches_enumeration():
  log_weights, log_scores = _random_params(15, 3, 5)
  log_weights[1] = -np.inf
  reference = _masked_reference(log_weights, log_scores, masked=1)
  keys = list(reference)
  dist = DifferentiableRandomPartition(log_weights, log_scores, 0.5,
                                       validate_args=True)
  got = dist.log_prob(np.stack([_to_matrix(key, 5) for key in keys])).numpy()
  np.testing.assert_allclose(got, [reference[key] for key in keys], atol=1e-6)
  np.testing.assert_allclose(logsumexp(got), 0., atol=1e-9)
  # A partition that puts an element into the masked subset is impossible.
  y = _to_matrix((frozenset({0, 1}), frozenset({2}), frozenset({3, 4})), 5)
  assert dist.log_prob(y).numpy() == -np.inf
  lower = dist.log_prob_lower_bound(
      np.stack([_to_matrix(key, 5) for key in keys])).numpy()
  assert np.all(lower <= got + 1e-9)


def test_masked_subset_samples_match_enumeration():
  log_weights = np.array([1.2, -np.inf, -0.8])
  log_scores = np.array([1.5, 0., -1., 0.5])
  reference = _masked_reference(log_weights, log_scores, masked=1)
  dist = DifferentiableRandomPartition(log_weights, log_scores, 0.7)
  samples = dist.sample(20000, seed=43).numpy()
  np.testing.assert_array_equal(samples[:, 1].sum(-1), 0.)
  assert _chi_square_p_value(samples, reference) > 1e-3
  # Power: against the same model with the subset not masked.
  unmasked = _brute_force_log_probs(np.array([1.2, 0., -0.8]), log_scores)
  assert _chi_square_p_value(samples, unmasked) < 1e-6


@pytest.mark.parametrize('hard', [True, False])
def test_masked_subset_gradients_are_finite_and_exact(hard):
  log_weights = tf.Variable([0.3, -np.inf, -0.2, 0.1], dtype=tf.float64)
  log_scores = tf.Variable(np.linspace(-1., 1., 6), dtype=tf.float64)
  target = tf.constant(np.random.default_rng(0).normal(size=(4, 6)))
  y = _to_matrix((frozenset({0, 4}), frozenset(), frozenset({1, 2, 5}),
                  frozenset({3})), 6)
  with tf.GradientTape(persistent=True) as tape:
    dist = DifferentiableRandomPartition(log_weights, log_scores, 0.5,
                                         hard=hard)
    sample = dist.sample(16, seed=12)
    loss = tf.reduce_sum(sample * target)
    log_prob = dist.log_prob(y)
  np.testing.assert_array_equal(sample.numpy()[:, 1], 0.)  # soft too
  for value in (loss, log_prob):
    grad_weights, grad_scores = tape.gradient(value, [log_weights, log_scores])
    assert np.all(np.isfinite(grad_weights.numpy()))
    assert np.all(np.isfinite(grad_scores.numpy()))
    assert grad_weights.numpy()[1] == 0.
  # The exact log p(Y) and its gradient are those of the DRPM without the
  # masked subset (an empty subset contributes nothing).
  reduced = tf.Variable([0.3, -0.2, 0.1], dtype=tf.float64)
  with tf.GradientTape() as reduced_tape:
    want = DifferentiableRandomPartition(reduced, log_scores, 0.5).log_prob(
        np.delete(y, 1, axis=0))
  np.testing.assert_allclose(log_prob.numpy(), want.numpy(), atol=1e-9)
  np.testing.assert_allclose(
      np.delete(tape.gradient(log_prob, log_weights).numpy(), 1),
      reduced_tape.gradient(want, reduced).numpy(), atol=1e-9)

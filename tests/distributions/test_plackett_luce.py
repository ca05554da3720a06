"""Tests for RelaxedPlackettLuce (Plackett-Luce over permutation matrices).

What is checked, and why each check can fail on a wrong implementation:

* ``log_prob`` against TFP's own ``PlackettLuce`` (scores = exp(log_scores),
  event = permutation vector; our matrix row r is the one-hot of the element at
  rank r, so the vector is ``argmax(matrix, -1)``) for all 24 permutations of
  n=4 and random permutations of n=7, plus normalisation over all n! cells and
  gradients of ``log_prob`` against TFP's gradient.
* Sampled hard permutations (n=4) are compared with the exact PL pmf by a
  chi-square test over the 24 cells (N=20000).  Power: the same observed
  counts are tested against two wrong distributions, PL with reversed scores
  (non-centrality ~4.5e5) and PL with scores scaled by 1.25 (~950, which is
  what a mis-scaled Gumbel noise would produce); both must be rejected with
  p < 1e-6, so a sampler with errors of that size fails.
* Validity of hard samples even under exact ties of the perturbed scores,
  row-stochastic soft samples converging to the hard ones as temperature -> 0
  (same stateless seed), ``mode``, gradients, validation, an extreme n=1024
  float32 case and XLA-compiled sampling agreeing with eager sampling.
"""
import itertools

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy import special, stats

from drpm_tf.distributions import RelaxedPlackettLuce

tfd = tfp.distributions
ERRORS = (ValueError, tf.errors.InvalidArgumentError)
N_CHI2 = 20000


def _seed(i):
  return tf.constant([i, 777], dtype=tf.int32)


def _pl(log_scores, temperature=0.5, hard=True, dtype=tf.float64, **kw):
  return RelaxedPlackettLuce(temperature=tf.constant(temperature, dtype),
                             log_scores=tf.constant(log_scores, dtype),
                             hard=hard, **kw)


def _perm_matrices(perms):
  """Index vectors [..., n] (element at rank r) -> permutation matrices."""
  perms = np.asarray(perms)
  return np.eye(perms.shape[-1])[perms]


def _np_pl_log_prob(perm, log_scores):
  s = np.asarray(log_scores)[list(perm)]
  return sum(s[r] - special.logsumexp(s[r:]) for r in range(len(s)))


def _assert_permutation_matrices(x, atol=0.0):
  """Hard samples must be exact 0/1 permutation matrices (straight-through
  values are hard + (soft - stop_gradient(soft)), exactly hard)."""
  x = np.asarray(x)
  np.testing.assert_allclose(x, np.round(x), rtol=0, atol=atol)
  r = np.round(x)
  assert np.all((r == 0) | (r == 1))
  np.testing.assert_array_equal(r.sum(-1), 1)
  np.testing.assert_array_equal(r.sum(-2), 1)


ALL_PERMS_4 = np.array(list(itertools.permutations(range(4))))
LOG_SCORES_4 = np.array([1.0, 0.3, -0.2, -1.1])


# ----------------------------------------------------------------------------
# 1. log_prob
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("n,num_perms", [(4, None), (7, 50)])
def test_log_prob_matches_tfp(n, num_perms):
  rng = np.random.default_rng(n)
  log_scores = rng.uniform(-3.0, 3.0, size=n)
  if num_perms is None:
    perms = np.array(list(itertools.permutations(range(n))))
  else:
    perms = np.stack([rng.permutation(n) for _ in range(num_perms)])
  d = _pl(log_scores)
  got = d.log_prob(_perm_matrices(perms)).numpy()
  assert got.shape == (len(perms),)
  want = tfd.PlackettLuce(scores=tf.exp(tf.constant(log_scores))).log_prob(
      tf.constant(perms, tf.int32)).numpy()
  np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
  want_np = [_np_pl_log_prob(p, log_scores) for p in perms[:10]]
  np.testing.assert_allclose(got[:10], want_np, atol=1e-9)
  if num_perms is None:
    np.testing.assert_allclose(np.exp(got).sum(), 1.0, atol=1e-9)


def test_log_prob_batch_broadcasting():
  log_scores = np.random.default_rng(0).normal(size=(3, 4))
  d = _pl(log_scores, temperature=[0.5, 1.0, 2.0])
  assert d.batch_shape == [3] and d.event_shape == [4, 4]
  lp = d.log_prob(_perm_matrices(ALL_PERMS_4)[:, None]).numpy()  # [24, 1, 4, 4]
  assert lp.shape == (24, 3)
  for b in range(3):
    want = [_np_pl_log_prob(p, log_scores[b]) for p in ALL_PERMS_4]
    np.testing.assert_allclose(lp[:, b], want, atol=1e-9)
  assert d.sample(5, seed=_seed(0)).shape == (5, 3, 4, 4)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
@pytest.mark.parametrize("hard", [True, False])
def test_dtypes(dtype, hard):
  d = _pl(LOG_SCORES_4, hard=hard, dtype=dtype)
  assert d.dtype == dtype
  x = d.sample(3, seed=_seed(1))
  assert x.dtype == dtype and x.shape == (3, 4, 4)
  lp = d.log_prob(tf.constant(_perm_matrices(ALL_PERMS_4), dtype))
  assert lp.dtype == dtype
  want = [_np_pl_log_prob(p, LOG_SCORES_4) for p in ALL_PERMS_4]
  np.testing.assert_allclose(lp.numpy(), want, atol=1e-5 if dtype == tf.float32 else 1e-9)


# ----------------------------------------------------------------------------
# 2. sampling: chi-square goodness of fit, with power checks
# ----------------------------------------------------------------------------
def _pl_probs(log_scores):
  return np.exp([_np_pl_log_prob(p, log_scores) for p in ALL_PERMS_4])


@pytest.mark.parametrize("jit", [False, True])
def test_sample_frequencies_match_plackett_luce(jit):
  d = _pl(LOG_SCORES_4, temperature=0.3, hard=True)
  sample = lambda s: d.sample(N_CHI2, seed=s)
  if jit:  # the XLA-compiled sampler must be exact as well
    sample = tf.function(sample, jit_compile=True)
  x = sample(_seed(2)).numpy()
  _assert_permutation_matrices(x)
  perms = np.argmax(x, axis=-1)  # [N, 4], element at each rank
  codes = perms @ (4 ** np.arange(4))
  cell_codes = ALL_PERMS_4 @ (4 ** np.arange(4))
  observed = np.array([(codes == c).sum() for c in cell_codes])
  assert observed.sum() == N_CHI2
  expected = N_CHI2 * _pl_probs(LOG_SCORES_4)
  assert expected.min() > 5  # no bin merging needed
  p_ok = stats.chisquare(observed, expected).pvalue
  assert p_ok > 1e-3, p_ok
  # Power: the same frequencies are incompatible with nearby wrong models.
  for wrong in (LOG_SCORES_4[::-1], 1.25 * LOG_SCORES_4):
    p_wrong = stats.chisquare(observed, N_CHI2 * _pl_probs(wrong)).pvalue
    assert p_wrong < 1e-6, (wrong, p_wrong)


# ----------------------------------------------------------------------------
# 3. validity of hard/soft samples
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("log_scores,dtype", [
    (np.zeros((64, 8)), tf.float32),           # equal scores, large batch
    (np.full((4, 6), 1e8), tf.float32),        # perturbed scores tie exactly
    (np.array([0.0, 0.0, 5.0, 5.0, -5.0]), tf.float64),
])
def test_hard_samples_are_permutations_even_with_ties(log_scores, dtype):
  d = _pl(log_scores, temperature=0.5, hard=True, dtype=dtype)
  x = d.sample(16, seed=_seed(3)).numpy()
  assert x.shape == (16,) + log_scores.shape + log_scores.shape[-1:]
  _assert_permutation_matrices(x)


def test_soft_samples_row_stochastic_and_approach_hard():
  log_scores = np.random.default_rng(4).normal(size=(8, 5))
  seed = _seed(5)
  hard = _pl(log_scores, temperature=1.0, hard=True).sample(16, seed=seed).numpy()
  hard_cold = _pl(log_scores, temperature=0.01, hard=True).sample(16, seed=seed).numpy()
  np.testing.assert_array_equal(hard, hard_cold)  # hard ignores temperature
  diffs = {}
  for t in (1.0, 0.01):
    soft = _pl(log_scores, temperature=t, hard=False).sample(16, seed=seed).numpy()
    assert np.all(np.isfinite(soft)) and np.all(soft >= 0) and np.all(soft <= 1 + 1e-12)
    np.testing.assert_allclose(soft.sum(-1), 1.0, atol=1e-9)
    diffs[t] = np.abs(soft - hard)
  assert diffs[1.0].mean() > 0.05, "soft samples look hard at T=1"
  assert diffs[0.01].mean() < diffs[1.0].mean()
  assert diffs[0.01].mean() < 0.05, diffs[0.01].mean()
  # Rows of the soft matrix pick the right element except for rare near-ties.
  assert np.mean(np.argmax(soft, -1) == np.argmax(hard, -1)) > 0.95


# ----------------------------------------------------------------------------
# 4. mode
# ----------------------------------------------------------------------------
def test_mode_sorts_log_scores_decreasingly():
  log_scores = np.random.default_rng(6).normal(size=(3, 6))
  mode = _pl(log_scores).mode().numpy()
  assert mode.shape == (3, 6, 6)
  _assert_permutation_matrices(mode)
  np.testing.assert_array_equal(np.argmax(mode, -1), np.argsort(-log_scores, axis=-1))


def test_mode_has_maximal_log_prob():
  d = _pl(LOG_SCORES_4[[2, 0, 3, 1]])
  lp_all = d.log_prob(_perm_matrices(ALL_PERMS_4)).numpy()
  lp_mode = d.log_prob(d.mode()).numpy()
  assert lp_mode >= lp_all.max() - 1e-12
  np.testing.assert_array_equal(np.argmax(d.mode().numpy(), -1), [1, 3, 0, 2])


# ----------------------------------------------------------------------------
# 5. gradients
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("hard", [True, False])
def test_sample_gradient_finite_nonzero(hard):
  log_scores = tf.constant(np.random.default_rng(7).normal(size=(2, 5)))
  v = tf.constant(np.random.default_rng(8).normal(size=(4, 2, 5, 5)))
  with tf.GradientTape() as tape:
    tape.watch(log_scores)
    d = RelaxedPlackettLuce(tf.constant(0.5, tf.float64), log_scores, hard=hard)
    loss = tf.reduce_sum(d.sample(4, seed=_seed(9)) * v)
  grad = tape.gradient(loss, log_scores)
  assert grad is not None
  assert np.all(np.isfinite(grad.numpy())) and np.any(np.abs(grad.numpy()) > 1e-8)


def test_log_prob_gradient_matches_tfp():
  rng = np.random.default_rng(10)
  log_scores = tf.constant(rng.normal(size=6) * 2.0)
  perms = np.stack([rng.permutation(6) for _ in range(5)])
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(log_scores)
    ours = RelaxedPlackettLuce(tf.constant(0.5, tf.float64), log_scores).log_prob(
        _perm_matrices(perms))
    ref = tfd.PlackettLuce(scores=tf.exp(log_scores)).log_prob(perms)
  g_ours = tape.jacobian(ours, log_scores).numpy()
  g_ref = tape.jacobian(ref, log_scores).numpy()
  np.testing.assert_allclose(g_ours, g_ref, atol=1e-9)


# ----------------------------------------------------------------------------
# 6. validation
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("log_scores,temperature,pattern", [
    ([0.0, np.inf, 1.0], 0.5, r"log_scores"),
    ([0.0, np.nan, 1.0], 0.5, r"log_scores"),
    ([-np.inf, 0.0, 1.0], 0.5, r"log_scores"),
    (np.zeros([0]), 0.5, r"log_scores"),
    ([0.0, 1.0, 2.0], 0.0, r"temperature"),
    ([0.0, 1.0, 2.0], -1.0, r"temperature"),
])
def test_invalid_parameters_raise(log_scores, temperature, pattern):
  with pytest.raises(ERRORS, match=pattern):
    d = _pl(log_scores, temperature=temperature, validate_args=True)
    d.sample(1, seed=_seed(0))
    d.log_prob(np.eye(len(log_scores)))


@pytest.mark.parametrize("matrix", [
    np.full((3, 3), 1.0 / 3.0),                       # soft, not 0/1
    np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 0, 1.0]]),  # repeated element
    np.array([[1.0, 1.0, 0], [0, 0, 0], [0, 0, 1.0]]),  # row sums wrong
    np.array([[2.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]),  # entry 2
])
def test_log_prob_of_non_permutation_raises(matrix):
  d = _pl([0.3, -0.2, 1.0], validate_args=True)
  d.log_prob(np.eye(3)[[2, 0, 1]])  # a valid permutation passes
  with pytest.raises(ERRORS, match=r"(?i)permutation"):
    d.log_prob(matrix)


# ----------------------------------------------------------------------------
# 7. extremes
# ----------------------------------------------------------------------------
def test_extreme_n1024_float32():
  n = 1024
  rng = np.random.default_rng(11)
  log_scores = tf.constant(rng.permutation(np.linspace(-50.0, 50.0, n))[None], tf.float32)
  v = tf.constant(rng.normal(size=(1, 1, n, n)), tf.float32)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(log_scores)
    d = RelaxedPlackettLuce(tf.constant(0.05, tf.float32), log_scores, hard=True)
    x = d.sample(1, seed=_seed(12))
    loss = tf.reduce_sum(x * v)
    lp = d.log_prob(tf.stop_gradient(x))
  x_np = x.numpy()
  assert x_np.shape == (1, 1, n, n)
  assert np.all(np.isfinite(x_np))
  _assert_permutation_matrices(x_np)
  lp_np = lp.numpy()
  assert lp_np.shape == (1, 1) and np.all(np.isfinite(lp_np)) and np.all(lp_np <= 0)
  for target in (loss, lp):
    grad = tape.gradient(target, log_scores)
    assert grad is not None and np.all(np.isfinite(grad.numpy()))


# ----------------------------------------------------------------------------
# 8. tf.function / XLA
# ----------------------------------------------------------------------------
# Note: TF 2.15's XLA kernels for stateless RNG ops draw a different stream
# than the eager kernels (tf.random.stateless_uniform itself differs between
# eager and jit_compile=True on CPU), so XLA samples cannot equal eager samples
# bit for bit.  Plain tf.function must match eager exactly; under XLA we check
# determinism per seed, seed sensitivity, validity, that hard and soft samples
# share the noise, and (test_sample_frequencies_match_plackett_luce[True])
# exactness of the distribution.
@pytest.mark.parametrize("hard", [True, False])
def test_sample_in_tf_function_matches_eager(hard):
  d = _pl(np.random.default_rng(13).normal(size=(2, 6)), temperature=0.3, hard=hard)
  seed = _seed(14)
  eager = d.sample(5, seed=seed).numpy()
  graph = tf.function(lambda s: d.sample(5, seed=s))(seed).numpy()
  assert graph.shape == eager.shape == (5, 2, 6, 6)
  np.testing.assert_allclose(graph, eager, rtol=1e-9, atol=1e-9)


def test_sample_xla_deterministic_and_valid():
  log_scores = np.random.default_rng(13).normal(size=(2, 6))
  d_hard = _pl(log_scores, temperature=0.01, hard=True)
  d_soft = _pl(log_scores, temperature=0.01, hard=False)
  hard_fn = tf.function(lambda s: d_hard.sample(50, seed=s), jit_compile=True)
  soft_fn = tf.function(lambda s: d_soft.sample(50, seed=s), jit_compile=True)
  a, b, c = hard_fn(_seed(14)).numpy(), hard_fn(_seed(14)).numpy(), hard_fn(_seed(15)).numpy()
  assert a.shape == (50, 2, 6, 6)
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)
  _assert_permutation_matrices(a)
  soft = soft_fn(_seed(14)).numpy()
  np.testing.assert_allclose(soft.sum(-1), 1.0, atol=1e-9)
  assert np.mean(np.argmax(soft, -1) == np.argmax(a, -1)) > 0.95
  perms = _perm_matrices(np.stack([np.random.default_rng(i).permutation(6)
                                   for i in range(2)]))
  lp = tf.function(lambda x: d_hard.log_prob(x), jit_compile=True)(tf.constant(perms))
  np.testing.assert_allclose(lp.numpy(), d_hard.log_prob(perms).numpy(), atol=1e-9)

"""Tests for the (relaxed) noncentral multivariate hypergeometric distribution.

What is checked, and why each check can fail on a wrong implementation:

* ``log_prob`` against independent references: scipy's univariate Fisher
  noncentral hypergeometric (K=2) and brute-force enumeration of the whole
  support, normalised in numpy (K=3, K=4, weights spread over +-3).  Any
  error in the binomial terms, the weights or the normaliser P0 shows up as an
  absolute error far above the 1e-6 tolerance.
* The exact sampler (and the hard values of the relaxed sampler, which must be
  exact samples whatever the temperature) is compared with the exact pmf by a
  chi-square goodness-of-fit test on N=20000 draws.  To show that this test has
  power, the same test is run on samples of the *merged-weight* approximate
  sampler of the official DRPM code (class k against all remaining classes
  merged into one group whose weight is the ball-weighted mean of their
  weights); for the chosen parameters its expected chi-square non-centrality
  is > 1000 (vs ~20 degrees of freedom), and the test must reject it with
  p < 1e-6.  A sampler with that approximation (or any error of similar size)
  therefore fails the test; a correct one passes with p > 1e-3.
* Relaxed samples: support constraints of the hard values, convergence of the
  soft values to the hard ones as temperature -> 0 under the same seed,
  finite non-zero gradients, batch shapes, argument validation, an extreme
  configuration (K=32, 1024 balls each, log-weights spread +-50, float32) and
  agreement of tf.function / XLA-compiled sampling with eager sampling.

All randomness uses stateless seeds, so the tests are deterministic.
"""
import itertools

import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from drpm_tf.distributions import mvhg as mvhg_lib
from drpm_tf.distributions import (NoncentralMultivariateHypergeometric,
                                   RelaxedNoncentralMultivariateHypergeometric)

ERRORS = (ValueError, tf.errors.InvalidArgumentError)
N_CHI2 = 20000


def _seed(i):
  return tf.constant([i, 20240], dtype=tf.int32)


def _exact(total_count, num_balls, log_weights, dtype=tf.float64, **kw):
  return NoncentralMultivariateHypergeometric(
      total_count=tf.constant(total_count, dtype),
      num_balls=tf.constant(num_balls, dtype),
      log_weights=tf.constant(log_weights, dtype), **kw)


def _relaxed(total_count, num_balls, log_weights, temperature=0.5, hard=True,
             dtype=tf.float64, **kw):
  return RelaxedNoncentralMultivariateHypergeometric(
      temperature=tf.constant(temperature, dtype),
      total_count=tf.constant(total_count, dtype),
      num_balls=tf.constant(num_balls, dtype),
      log_weights=tf.constant(log_weights, dtype), hard=hard, **kw)


MAKERS = {"exact": _exact, "relaxed": _relaxed}


# ----------------------------------------------------------------------------
# numpy references
# ----------------------------------------------------------------------------
def _support(num_balls, total_count):
  """All count vectors x with 0 <= x_k <= m_k and sum(x) == total_count."""
  return np.array(
      [x for x in itertools.product(*[range(int(m) + 1) for m in num_balls])
       if sum(x) == total_count], dtype=np.float64).reshape(-1, len(num_balls))


def _log_pmf_bruteforce(num_balls, total_count, log_weights):
  xs = _support(num_balls, total_count)
  m = np.asarray(num_balls, np.float64)
  unnorm = (special.gammaln(m + 1) - special.gammaln(xs + 1)
            - special.gammaln(m - xs + 1)).sum(-1) + xs @ np.asarray(log_weights)
  return xs, unnorm - special.logsumexp(unnorm)


def _codes(xs, num_balls):
  dims = tuple(int(m) + 1 for m in num_balls)
  return np.ravel_multi_index(tuple(np.round(xs).astype(np.int64).T), dims)


def _chisquare_pvalue(samples, num_balls, total_count, log_weights):
  """Chi-square GOF p-value of samples vs the exact pmf (bins with E < 5 merged)."""
  xs, log_p = _log_pmf_bruteforce(num_balls, total_count, log_weights)
  samples = np.asarray(samples, np.float64).reshape(-1, len(num_balls))
  n = samples.shape[0]
  # Every sample must lie in the support, otherwise the test fails outright.
  assert np.all(samples >= 0) and np.all(samples <= np.asarray(num_balls))
  np.testing.assert_allclose(samples.sum(-1), total_count, atol=1e-4)
  support_codes = _codes(xs, num_balls)
  order = np.argsort(support_codes)
  idx = np.searchsorted(support_codes[order], _codes(samples, num_balls))
  observed = np.bincount(order[idx], minlength=len(xs)).astype(np.float64)
  expected = n * np.exp(log_p)
  small = expected < 5
  obs_b, exp_b = list(observed[~small]), list(expected[~small])
  if small.any():
    o, e = observed[small].sum(), expected[small].sum()
    if e < 5:
      j = int(np.argmin(exp_b))
      obs_b[j] += o
      exp_b[j] += e
    else:
      obs_b.append(o)
      exp_b.append(e)
  exp_b = np.asarray(exp_b)
  exp_b *= n / exp_b.sum()
  return stats.chisquare(obs_b, exp_b).pvalue


def _merged_weight_sampler(num_balls, total_count, log_weights, n, rng):
  """Approximate sampler of the official DRPM/MVHG code (for the power check).

  For k = 1..K-1 in order, x_k is drawn from the univariate Fisher noncentral
  hypergeometric of class k (m_k balls, weight w_k) against all remaining
  classes merged into one group (sum of their balls, weight = ball-weighted
  mean of their weights, which is the plain mean when the m_k are equal);
  the last class takes the remainder.  This is NOT the exact distribution.
  """
  m = np.asarray(num_balls, np.int64)
  w = np.exp(np.asarray(log_weights, np.float64))
  k_classes = len(m)
  x = np.zeros((n, k_classes), np.int64)
  remaining = np.full(n, int(total_count))
  for k in range(k_classes - 1):
    m_rest = m[k + 1:].sum()
    w_rest = (m[k + 1:] * w[k + 1:]).sum() / m_rest
    values = np.arange(m[k] + 1)
    for r in np.unique(remaining):
      rows = np.nonzero(remaining == r)[0]
      p = stats.nchypergeom_fisher(m[k] + m_rest, m[k], r, w[k] / w_rest).pmf(values)
      x[rows, k] = rng.choice(values, size=len(rows), p=p / p.sum())
    remaining = remaining - x[:, k]
  x[:, -1] = remaining
  return x


# ----------------------------------------------------------------------------
# 1. / 2. exact log_prob
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("maker", ["exact", "relaxed"])
@pytest.mark.parametrize("m1,m2,n,lw1,lw2", [
    (5, 7, 6, 0.7, -0.4),
    (10, 3, 8, -2.0, 1.5),
    (20, 20, 15, 3.0, -3.0),
    (1, 1, 1, 0.0, 0.0),
    (30, 12, 25, 0.1, 0.0),
])
def test_log_prob_matches_scipy_k2(maker, m1, m2, n, lw1, lw2):
  d = MAKERS[maker](n, [m1, m2], [lw1, lw2])
  x1 = np.arange(max(0, n - m2), min(n, m1) + 1, dtype=np.float64)
  x = np.stack([x1, n - x1], axis=-1)
  got = d.log_prob(x).numpy()
  want = stats.nchypergeom_fisher(M=m1 + m2, n=m1, N=n,
                                  odds=np.exp(lw1 - lw2)).logpmf(x1)
  np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("maker", ["exact", "relaxed"])
@pytest.mark.parametrize("num_balls,total_count,seed", [
    ([4, 2, 5], 6, 0),
    ([3, 3, 3], 4, 1),
    ([6, 1, 4], 0, 2),   # degenerate: support is {0}
    ([2, 3, 1], 6, 3),   # degenerate: total_count == sum(num_balls)
    ([3, 5, 2, 4], 7, 4),
    ([4, 4, 4, 4], 9, 5),
])
def test_log_prob_matches_bruteforce(maker, num_balls, total_count, seed):
  rng = np.random.default_rng(seed)
  log_weights = rng.uniform(-3.0, 3.0, size=len(num_balls))
  log_weights[0], log_weights[-1] = 3.0, -3.0  # make sure the spread is +-3
  xs, want = _log_pmf_bruteforce(num_balls, total_count, log_weights)
  d = MAKERS[maker](total_count, num_balls, log_weights)
  got = d.log_prob(xs).numpy()
  np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
  np.testing.assert_allclose(np.exp(got).sum(), 1.0, atol=1e-9)
  # Adding a constant to all log-weights does not change the distribution.
  d_shift = MAKERS[maker](total_count, num_balls, log_weights + 2.5)
  np.testing.assert_allclose(d_shift.log_prob(xs).numpy(), want, atol=1e-6)


def test_log_prob_single_class():
  d = _exact(4.0, [7.0], [0.3])
  np.testing.assert_allclose(d.log_prob([4.0]).numpy(), 0.0, atol=1e-9)
  np.testing.assert_allclose(d.sample(3, seed=_seed(0)).numpy(), [[4.0]] * 3)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
@pytest.mark.parametrize("maker", ["exact", "relaxed"])
def test_dtypes(maker, dtype):
  num_balls, total_count, log_weights = [4, 2, 5], 6, [1.0, -0.5, 0.2]
  d = MAKERS[maker](total_count, num_balls, log_weights, dtype=dtype)
  assert d.dtype == dtype
  x = d.sample(4, seed=_seed(1))
  assert x.dtype == dtype
  xs, want = _log_pmf_bruteforce(num_balls, total_count, log_weights)
  lp = d.log_prob(tf.constant(xs, dtype))
  assert lp.dtype == dtype
  np.testing.assert_allclose(lp.numpy(), want, atol=1e-4 if dtype == tf.float32 else 1e-6)


# ----------------------------------------------------------------------------
# 3. exact sampling: chi-square goodness of fit, with a power check
# ----------------------------------------------------------------------------
CHI2_SETTINGS = [
    ([5, 5, 5], 6, [-1.5, 0.0, 2.0]),
    ([4, 6, 3, 5], 8, [-1.0, 2.0, 0.0, -2.0]),
]


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("maker", ["exact", "relaxed"])
@pytest.mark.parametrize("num_balls,total_count,log_weights", CHI2_SETTINGS)
def test_sampler_chisquare(maker, num_balls, total_count, log_weights, jit):
  d = MAKERS[maker](total_count, num_balls, log_weights)  # relaxed: T=0.5, hard
  sample = lambda s: d.sample(N_CHI2, seed=s)
  if jit:  # the XLA-compiled sampler must be exact as well
    sample = tf.function(sample, jit_compile=True)
  samples = sample(_seed(7)).numpy()
  assert samples.shape == (N_CHI2, len(num_balls))
  np.testing.assert_array_equal(samples, np.round(samples))  # exact integers
  pvalue = _chisquare_pvalue(samples, num_balls, total_count, log_weights)
  assert pvalue > 1e-3, f"{maker} sampler does not match the exact pmf, p={pvalue:.3g}"


@pytest.mark.parametrize("num_balls,total_count,log_weights", CHI2_SETTINGS)
def test_chisquare_rejects_merged_weight_sampler(num_balls, total_count, log_weights):
  """Power check: the same test on the official approximate sampler rejects."""
  rng = np.random.default_rng(0)
  samples = _merged_weight_sampler(num_balls, total_count, log_weights, N_CHI2, rng)
  pvalue = _chisquare_pvalue(samples, num_balls, total_count, log_weights)
  assert pvalue < 1e-6, pvalue


# ----------------------------------------------------------------------------
# 4. relaxed samples: constraints, temperature independence, soft -> hard
# ----------------------------------------------------------------------------
def test_relaxed_hard_samples_valid_and_temperature_independent():
  num_balls = np.array([3.0, 7.0, 2.0, 5.0])
  log_weights = np.array([0.5, -1.0, 2.0, 0.0])
  batch_total = np.array([0.0, 4.0, 10.0, 17.0])  # batch over total_count
  hard = {}
  for t in (1.0, 0.01):
    d = _relaxed(batch_total, num_balls, log_weights, temperature=t, hard=True)
    x = d.sample(64, seed=_seed(3)).numpy()
    assert x.shape == (64, 4, 4)
    assert np.all(np.isfinite(x))
    np.testing.assert_array_equal(x, np.round(x))  # exact integers
    assert np.all(x >= -1e-6) and np.all(x <= num_balls + 1e-6)
    np.testing.assert_allclose(x.sum(-1), np.broadcast_to(batch_total, (64, 4)), atol=1e-5)
    hard[t] = np.round(x)
  np.testing.assert_array_equal(hard[1.0], hard[0.01])


def test_relaxed_soft_approaches_hard_as_temperature_decreases():
  num_balls, total_count = [5.0, 5.0, 5.0, 5.0], 9.0
  log_weights = [1.0, -0.5, 0.0, 0.7]
  seed = _seed(11)
  hard = _relaxed(total_count, num_balls, log_weights, temperature=0.01,
                  hard=True).sample(32, seed=seed).numpy()
  diffs = {}
  for t in (1.0, 0.01):
    soft = _relaxed(total_count, num_balls, log_weights, temperature=t,
                    hard=False).sample(32, seed=seed).numpy()
    assert np.all(np.isfinite(soft))
    diffs[t] = np.abs(soft - hard)
  assert not np.allclose(diffs[1.0], 0.0, atol=1e-3), "soft samples look hard at T=1"
  assert diffs[0.01].mean() < diffs[1.0].mean()
  assert diffs[0.01].mean() < 0.05, diffs[0.01].mean()
  # All but a few near-ties must be essentially hard at T=0.01.
  assert np.mean(diffs[0.01] < 0.05) > 0.9


# ----------------------------------------------------------------------------
# 5. gradients
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("hard", [True, False])
def test_relaxed_sample_gradient(hard):
  log_weights = tf.constant([0.3, -1.2, 0.8, 0.0], tf.float64)
  v = tf.constant(np.random.default_rng(0).normal(size=(8, 4)), tf.float64)
  with tf.GradientTape() as tape:
    tape.watch(log_weights)
    d = RelaxedNoncentralMultivariateHypergeometric(
        temperature=tf.constant(0.5, tf.float64),
        total_count=tf.constant(7.0, tf.float64),
        num_balls=tf.constant([4.0, 4.0, 4.0, 4.0], tf.float64),
        log_weights=log_weights, hard=hard)
    loss = tf.reduce_sum(d.sample(8, seed=_seed(5)) * v)
  grad = tape.gradient(loss, log_weights)
  assert grad is not None
  grad = grad.numpy()
  assert np.all(np.isfinite(grad)) and np.any(np.abs(grad) > 1e-8), grad


def test_log_prob_gradient_matches_finite_differences():
  num_balls, total_count = [4.0, 2.0, 5.0], 6.0
  x = np.array([2.0, 1.0, 3.0])
  lw0 = np.array([0.4, -1.0, 1.3])
  lw = tf.constant(lw0)
  with tf.GradientTape() as tape:
    tape.watch(lw)
    lp = NoncentralMultivariateHypergeometric(
        total_count=tf.constant(total_count, tf.float64),
        num_balls=tf.constant(num_balls, tf.float64),
        log_weights=lw).log_prob(x)
  grad = tape.gradient(lp, lw).numpy()
  eps = 1e-5
  fd = [(_ref_log_prob(num_balls, total_count, lw0 + eps * e, x)
         - _ref_log_prob(num_balls, total_count, lw0 - eps * e, x)) / (2 * eps)
        for e in np.eye(3)]
  np.testing.assert_allclose(grad, fd, atol=1e-6)


def _ref_log_prob(num_balls, total_count, log_weights, x):
  xs, log_p = _log_pmf_bruteforce(num_balls, total_count, log_weights)
  return log_p[np.nonzero(np.all(xs == np.asarray(x), axis=-1))[0][0]]


# ----------------------------------------------------------------------------
# 6. batch shapes
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("maker", ["exact", "relaxed"])
def test_batch_shapes_and_broadcasting(maker):
  k = 4
  rng = np.random.default_rng(1)
  log_weights = rng.normal(size=(3, k))
  num_balls = [3.0, 4.0, 2.0, 5.0]
  d = MAKERS[maker](6.0, num_balls, log_weights)
  assert d.batch_shape == [3]
  assert d.event_shape == [k]
  x = d.sample((5,), seed=_seed(2))
  assert x.shape == (5, 3, k)
  np.testing.assert_allclose(tf.reduce_sum(x, -1).numpy(), 6.0, atol=1e-5)
  # log_prob of samples: [5, 3]; a single event broadcasts to [3];
  # [5, 1, K] broadcasts against batch [3] -> [5, 3].
  assert d.log_prob(x).shape == (5, 3)
  single = np.array([1.0, 2.0, 1.0, 2.0])
  lp_single = d.log_prob(single).numpy()
  assert lp_single.shape == (3,)
  for b in range(3):
    np.testing.assert_allclose(
        lp_single[b], _ref_log_prob(num_balls, 6, log_weights[b], single), atol=1e-6)
  xb = x.numpy()[:, :1, :]
  lp_b = d.log_prob(xb).numpy()
  assert lp_b.shape == (5, 3)
  for b in range(3):
    want = [_ref_log_prob(num_balls, 6, log_weights[b], xi) for xi in xb[:, 0]]
    np.testing.assert_allclose(lp_b[:, b], want, atol=1e-6)
  # Batched total_count and num_balls broadcast too.
  d2 = MAKERS[maker]([[2.0], [5.0]], num_balls, log_weights)
  assert d2.batch_shape == [2, 3]
  x2 = d2.sample(2, seed=_seed(4)).numpy()
  assert x2.shape == (2, 2, 3, k)
  np.testing.assert_allclose(x2.sum(-1), np.broadcast_to([[2.0], [5.0]], (2, 2, 3)), atol=1e-5)


# ----------------------------------------------------------------------------
# 7. validation
# ----------------------------------------------------------------------------
def _build_and_use(maker, total_count, num_balls, log_weights, temperature=0.5):
  kw = dict(validate_args=True)
  if maker == "relaxed":
    kw["temperature"] = temperature
  d = MAKERS[maker](total_count, num_balls, log_weights, **kw)
  d.sample(1, seed=_seed(0))
  d.log_prob(tf.zeros_like(tf.constant(log_weights, tf.float64)))
  return d


@pytest.mark.parametrize("maker", ["exact", "relaxed"])
@pytest.mark.parametrize("total_count,num_balls,log_weights,pattern", [
    (2.0, [2.0, 2.0, 2.0], [0.0, np.inf, 0.0], r"log_weights"),
    (2.0, [2.0, 2.0, 2.0], [0.0, np.nan, 0.0], r"log_weights"),
    # -inf masks a class out; here the other classes hold too few balls.
    (5.0, [2.0, 2.0, 2.0], [-np.inf, 0.0, 0.0], r"log_weights"),
    (0.0, np.zeros([0]), np.zeros([0]), r"log_weights|num_balls"),
    (-1.0, [2.0, 2.0, 2.0], [0.0, 0.0, 0.0], r"total_count"),
    (7.0, [2.0, 2.0, 2.0], [0.0, 0.0, 0.0], r"total_count"),
    (2.5, [2.0, 2.0, 2.0], [0.0, 0.0, 0.0], r"total_count"),
    (2.0, [-1.0, 2.0, 2.0], [0.0, 0.0, 0.0], r"num_balls"),
    (2.0, [1.5, 2.0, 2.0], [0.0, 0.0, 0.0], r"num_balls"),
    (2.0, [2.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0], r"num_balls|log_weights"),
])
def test_invalid_parameters_raise(maker, total_count, num_balls, log_weights, pattern):
  with pytest.raises(ERRORS, match=pattern):
    _build_and_use(maker, total_count, num_balls, log_weights)


@pytest.mark.parametrize("temperature", [0.0, -1.0, np.nan])
def test_invalid_temperature_raises(temperature):
  with pytest.raises(ERRORS, match=r"temperature"):
    _build_and_use("relaxed", 2.0, [2.0, 2.0, 2.0], [0.0, 0.0, 0.0],
                   temperature=temperature)


@pytest.mark.parametrize("maker", ["exact", "relaxed"])
@pytest.mark.parametrize("counts", [
    [-1.0, 4.0, 3.0],   # negative
    [1.5, 2.5, 2.0],    # non-integer
    [1.0, 1.0, 1.0],    # does not sum to total_count
    [6.0, 0.0, 0.0],    # exceeds num_balls
])
def test_invalid_counts_raise(maker, counts):
  d = MAKERS[maker](6.0, [5.0, 5.0, 5.0], [0.0, 1.0, -1.0], validate_args=True)
  d.log_prob([2.0, 2.0, 2.0])  # valid input passes
  with pytest.raises(ERRORS, match=r"(?i)count|value|sample|event|support"):
    d.log_prob(counts)


# ----------------------------------------------------------------------------
# 8. extremes
# ----------------------------------------------------------------------------
def test_extreme_large_k_and_spread_float32():
  k, m, n = 32, 1024.0, 1024.0
  log_weights = tf.constant(np.linspace(-50.0, 50.0, k)[
      np.random.default_rng(0).permutation(k)], tf.float32)
  v = tf.constant(np.random.default_rng(1).normal(size=(1, k)), tf.float32)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(log_weights)
    d = RelaxedNoncentralMultivariateHypergeometric(
        temperature=tf.constant(0.05, tf.float32),
        total_count=tf.constant(n, tf.float32),
        num_balls=tf.fill([k], tf.constant(m, tf.float32)),
        log_weights=log_weights, hard=True)
    x = d.sample(1, seed=_seed(9))
    loss = tf.reduce_sum(x * v)
    lp = d.log_prob(tf.stop_gradient(x))
  x_np = x.numpy()
  assert x_np.shape == (1, k)
  assert np.all(np.isfinite(x_np))
  np.testing.assert_array_equal(x_np, np.round(x_np))
  assert np.all(x_np >= 0) and np.all(x_np <= m)
  np.testing.assert_allclose(x_np.sum(), n, atol=1e-2)
  assert np.isfinite(lp.numpy()).all() and lp.numpy().item() <= 1e-3
  for target in (loss, lp):
    grad = tape.gradient(target, log_weights)
    assert grad is not None and np.all(np.isfinite(grad.numpy()))


# ----------------------------------------------------------------------------
# 9. tf.function / XLA
# ----------------------------------------------------------------------------
# Note: TF 2.15's XLA kernels for stateless RNG ops draw a different stream
# than the eager kernels (tf.random.stateless_uniform itself differs between
# eager and jit_compile=True on CPU), so XLA samples cannot equal eager samples
# bit for bit.  Plain tf.function must match eager exactly; under XLA we check
# determinism per seed, seed sensitivity and validity here, and exactness of
# the distribution in test_sampler_chisquare[...-True].
TF_FUNCTION_CASES = [("exact", None), ("relaxed", True), ("relaxed", False)]


def _tf_function_dist(maker, hard):
  kw = {} if hard is None else {"hard": hard}
  return MAKERS[maker]([3.0, 6.0], [4.0, 2.0, 5.0], [[0.5, -1.0, 1.5]], **kw)


@pytest.mark.parametrize("maker,hard", TF_FUNCTION_CASES)
def test_sample_in_tf_function_matches_eager(maker, hard):
  d = _tf_function_dist(maker, hard)
  seed = _seed(13)
  eager = d.sample(6, seed=seed).numpy()
  graph = tf.function(lambda s: d.sample(6, seed=s))(seed).numpy()
  assert graph.shape == eager.shape == (6, 2, 3)
  np.testing.assert_allclose(graph, eager, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("maker,hard", TF_FUNCTION_CASES)
def test_sample_xla_deterministic_and_valid(maker, hard):
  d = _tf_function_dist(maker, hard)
  fn = tf.function(lambda s: d.sample(200, seed=s), jit_compile=True)
  a, b, c = fn(_seed(13)).numpy(), fn(_seed(13)).numpy(), fn(_seed(14)).numpy()
  assert a.shape == (200, 2, 3)
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)
  assert np.all(np.isfinite(a)) and np.all(a >= -1e-9) and np.all(a <= [4.0, 2.0, 5.0])
  np.testing.assert_allclose(a.sum(-1), np.broadcast_to([3.0, 6.0], (200, 2)), atol=1e-6)
  if hard is not False:
    np.testing.assert_array_equal(a, np.round(a))
  # log_prob compiles and agrees with eager.
  x = np.round(a[:5]) if hard is not False else np.array([[2.0, 0.0, 1.0], [2.0, 1.0, 3.0]])
  lp_fn = tf.function(lambda v: d.log_prob(v), jit_compile=True)
  np.testing.assert_allclose(lp_fn(tf.constant(x)).numpy(), d.log_prob(x).numpy(), atol=1e-9)


# ----------------------------------------------------------------------------
# 10. masking a class out with a -inf log-weight
# ----------------------------------------------------------------------------
MASKED_SETTING = ([4, 6, 3, 5], 8, [-1.0, -np.inf, 0.5, -2.0])


def _masked_reference(num_balls, total_count, log_weights):
  """Support of the full urn and its log-pmf: the masked class removed."""
  keep = np.isfinite(log_weights)
  xs = _support(num_balls, total_count)
  log_p = np.full(len(xs), -np.inf)
  reduced_xs, reduced_log_p = _log_pmf_bruteforce(
      np.asarray(num_balls)[keep], total_count, np.asarray(log_weights)[keep])
  for x, lp in zip(reduced_xs, reduced_log_p):
    full = np.zeros(len(num_balls))
    full[keep] = x
    log_p[np.all(xs == full, axis=-1)] = lp
  return xs, log_p


@pytest.mark.parametrize("threshold", [0, 10**9])  # recurrence, convolutions
@pytest.mark.parametrize("maker", ["exact", "relaxed"])
def test_masked_class_log_prob_matches_the_urn_without_it(maker, threshold,
                                                          monkeypatch):
  monkeypatch.setattr(mvhg_lib, "_CONVOLUTION_MAX_WORK", threshold)
  num_balls, total_count, log_weights = [5, 5, 5], 5, [0.3, -np.inf, -0.7]
  xs, want = _masked_reference(num_balls, total_count, log_weights)
  d = MAKERS[maker](total_count, num_balls, log_weights, validate_args=True)
  got = d.log_prob(xs).numpy()
  np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
  np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)],
                             atol=1e-9)
  assert np.all(np.isfinite(d.sample(10, seed=_seed(3)).numpy()))


@pytest.mark.parametrize("maker", ["exact", "relaxed"])
def test_masked_class_sampler_chisquare(maker):
  num_balls, total_count, log_weights = MASKED_SETTING
  samples = MAKERS[maker](total_count, num_balls, log_weights).sample(
      N_CHI2, seed=_seed(8)).numpy()
  np.testing.assert_array_equal(samples[:, 1], 0.)
  keep = np.isfinite(log_weights)
  pvalue = _chisquare_pvalue(samples[:, keep], np.asarray(num_balls)[keep],
                             total_count, np.asarray(log_weights)[keep])
  assert pvalue > 1e-3, pvalue
  # Power: the same samples against the urn with the class unmasked.
  wrong = np.where(keep, log_weights, 0.)
  with pytest.raises(AssertionError):
    assert _chisquare_pvalue(samples, num_balls, total_count, wrong) > 1e-6


@pytest.mark.parametrize("hard", [True, False])
def test_masked_class_relaxed_counts_and_gradients(hard):
  num_balls, total_count, log_weights = MASKED_SETTING
  lw = tf.constant(log_weights, tf.float64)
  v = tf.constant(np.random.default_rng(3).normal(size=(16, 4)), tf.float64)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(lw)
    d = _relaxed(total_count, num_balls, lw, hard=hard)
    counts = d.sample(16, seed=_seed(4))
    loss = tf.reduce_sum(counts * v)
    log_prob = tf.reduce_sum(d.log_prob(tf.stop_gradient(tf.round(counts))))
  np.testing.assert_array_equal(counts.numpy()[:, 1], 0.)  # exactly, soft too
  np.testing.assert_allclose(counts.numpy().sum(-1), total_count, atol=1e-9)
  for value in (loss, log_prob):
    grad = tape.gradient(value, lw).numpy()
    assert np.all(np.isfinite(grad)) and grad[1] == 0.
    assert np.all(np.abs(grad[[0, 2, 3]]) > 1e-8)


def test_masked_class_log_prob_gradient_matches_finite_differences():
  num_balls, total_count, log_weights = MASKED_SETTING
  x = np.array([2.0, 0.0, 3.0, 3.0])
  lw = tf.constant(log_weights, tf.float64)
  with tf.GradientTape() as tape:
    tape.watch(lw)
    lp = _exact(total_count, num_balls, lw).log_prob(x)
  grad = tape.gradient(lp, lw).numpy()
  keep = np.isfinite(log_weights)
  reduced = np.asarray(log_weights)[keep]
  eps = 1e-5
  fd = [(_ref_log_prob(np.asarray(num_balls)[keep], total_count,
                       reduced + eps * e, x[keep]) -
         _ref_log_prob(np.asarray(num_balls)[keep], total_count,
                       reduced - eps * e, x[keep])) / (2 * eps)
        for e in np.eye(len(reduced))]
  np.testing.assert_allclose(grad[keep], fd, atol=1e-6)
  assert grad[1] == 0.


def test_validation_rejects_nan_and_plus_inf_but_accepts_minus_inf():
  for bad in (np.nan, np.inf):
    with pytest.raises(ERRORS, match="log_weights"):
      _build_and_use("exact", 2.0, [2.0, 2.0, 2.0], [0.0, bad, 0.0])
  d = _relaxed(2.0, [2.0, 2.0, 2.0], [0.0, -np.inf, 0.0], validate_args=True)
  np.testing.assert_array_equal(d.sample(5, seed=_seed(1)).numpy()[:, 1], 0.)
  assert np.isfinite(d.log_prob([1.0, 0.0, 1.0]).numpy())

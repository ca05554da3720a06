"""Fisher's noncentral multivariate hypergeometric distribution: exact and relaxed.

`NoncentralMultivariateHypergeometric` samples and scores counts exactly;
`RelaxedNoncentralMultivariateHypergeometric` adds Gumbel-softmax relaxed
(reparameterized) samples on top of the same exact conditionals. The class
docstrings give the mathematics; the helpers below compute the log-space
"suffix tables" both classes share.
"""

import numpy as np
import tensorflow as tf
from tensorflow_probability.python.bijectors import softplus as softplus_bijector
from tensorflow_probability.python.distributions import distribution
from tensorflow_probability.python.internal import assert_util
from tensorflow_probability.python.internal import dtype_util
from tensorflow_probability.python.internal import parameter_properties
from tensorflow_probability.python.internal import prefer_static as ps
from tensorflow_probability.python.internal import reparameterization
from tensorflow_probability.python.internal import samplers
from tensorflow_probability.python.internal import tensor_util

from drpm_tf.distributions import _numerics

__all__ = [
    'NoncentralMultivariateHypergeometric',
    'RelaxedNoncentralMultivariateHypergeometric',
]


# Below this many batch members x classes x (support points)^2, the O(K N^2)
# convolutions (a few vectorized ops, no compilation) beat the O(K^2 N) power
# recurrence (an XLA-compiled loop: ~0.2 ms per call, ~0.5 s to compile per
# shape). Measured on 2 CPU cores; both are exact.
_CONVOLUTION_MAX_WORK = 30_000


def _class_log_terms(num_balls, log_weights, support_size):
  """`f[..., k, x] = log C(m_k, x) + x log w_k` for `x = 0..support_size-1`."""
  x = tf.range(support_size, dtype=log_weights.dtype)
  return (_numerics.log_binomial(num_balls[..., None], x) +
          _numerics.log_weight_terms(x, log_weights[..., None]))


def _suffix_log_tables(class_log_terms, first=True):
  """`[log E_1, ..., log E_K]`, each `[..., T + 1]`, from `[..., K, T + 1]` terms.

  With `first=False`, `log E_1` (only needed for the normalizer, not for
  sampling) is not computed and the list starts with `None`.
  """
  num_classes = class_log_terms.shape[-2]
  tables = [class_log_terms[..., num_classes - 1, :]]
  for k in range(num_classes - 2, -1 if first else 0, -1):
    tables.append(_numerics.log_convolve(class_log_terms[..., k, :],
                                         tables[-1]))
  if not first:
    tables.append(None)
  return tables[::-1]


def _equal_balls_suffix_log_tables(log_weights, num_balls, size, first=True):
  """`_suffix_log_tables` when every class has `num_balls` balls.

  Then `E_k(z) = Q_k(z)^m` with `Q_k(z) = prod_{j>=k} (1 + w_j z)` of degree
  `K - k + 1`, and `_numerics.log_power_coefficients` gives every table in
  `O(K size)`: `O(K^2 n)` in all instead of `O(K n^2)` (the DRPM's case,
  `m_k = n` balls and `n` draws).
  """
  num_classes = log_weights.shape[-1]
  dtype = log_weights.dtype
  batch = tf.shape(log_weights)[:-1]
  minus_inf = tf.constant(-np.inf, dtype)
  # Suffix products Q_K, Q_{K-1}, ...: multiplying by (1 + w_k z) shifts.
  log_q = tf.concat(
      [tf.zeros(tf.concat([batch, [1]], 0), dtype),
       tf.fill(tf.concat([batch, [num_classes]], 0), minus_inf)], axis=-1)
  suffix = []
  for k in range(num_classes - 1, -1 if first else 0, -1):
    shifted = tf.concat([tf.fill(tf.concat([batch, [1]], 0), minus_inf),
                         log_q[..., :-1] + log_weights[..., k:k + 1]], axis=-1)
    log_q = _numerics.safe_logsumexp(tf.stack([log_q, shifted], -1), -1)
    suffix.append(log_q)
  if not suffix:  # a single class needs no table to be sampled
    return [None]
  tables = _numerics.log_power_coefficients(tf.stack(suffix, axis=-2),
                                            float(num_balls), size)
  tables = tf.unstack(tables, axis=-2)[::-1]
  return ([] if first else [None]) + tables


def _select(table, index):
  """`table[..., index]` for an integer-valued float `index` of shape `[...]`."""
  positions = tf.range(table.shape[-1], dtype=index.dtype)
  hit = tf.equal(positions, index[..., None])
  return tf.reduce_sum(tf.where(hit, table, tf.zeros([], table.dtype)), axis=-1)


def _sample_counts(class_log_terms, tables, total_count, n, seed,
                   temperature=None, hard=True):
  """Sequential Gumbel-(arg)max sampling over classes from exact conditionals.

  Args:
    class_log_terms: `[B..., K, T + 1]`, see `_class_log_terms`.
    tables: suffix tables from `_suffix_log_tables`, each `[B..., T + 1]`.
    total_count: `[B...]` float, integer-valued.
    n: number of samples.
    seed: stateless seed.
    temperature: `None` for exact (non-differentiable) samples, else a
      `[B...]` Gumbel-softmax temperature.
    hard: straight-through hard counts when relaxed.

  Returns:
    `[n, B..., K]` counts.
  """
  dtype = class_log_terms.dtype
  num_classes = class_log_terms.shape[-2]
  size = class_log_terms.shape[-1]
  values = tf.range(size, dtype=dtype)
  batch_shape = ps.shape(total_count)
  sample_batch = ps.concat([[n], batch_shape], axis=0)
  remaining = tf.broadcast_to(total_count, sample_batch)
  seeds = samplers.split_seed(seed, n=max(num_classes - 1, 1))
  minus_inf = tf.constant(-np.inf, dtype)
  counts = []
  for k in range(num_classes - 1):
    # Index t_k - x into E_{k+1}; x > t_k is infeasible.
    shift = remaining[..., None] - values
    feasible = shift >= 0.
    following = tf.broadcast_to(tables[k + 1],
                                ps.concat([sample_batch, [size]], axis=0))
    index = tf.cast(tf.where(feasible, shift, tf.zeros([], dtype)), tf.int32)
    following = tf.gather(following, index, batch_dims=ps.rank(following) - 1)
    logits = tf.where(feasible, class_log_terms[..., k, :] + following,
                      minus_inf)
    perturbed = logits + _numerics.gumbel(ps.shape(logits), dtype, seeds[k])
    hard_count = tf.cast(tf.argmax(perturbed, axis=-1), dtype)
    if temperature is None:
      count = hard_count
    else:
      soft = tf.nn.softmax(perturbed / temperature[..., None], axis=-1)
      soft_count = tf.reduce_sum(soft * values, axis=-1)
      # Parenthesized so the forward value is exactly the hard count.
      count = (hard_count + (soft_count - tf.stop_gradient(soft_count))
               if hard else soft_count)
    counts.append(count)
    remaining = remaining - hard_count
  counts.append(total_count - tf.add_n(counts) if counts else
                tf.broadcast_to(total_count, sample_batch))
  return tf.stack(counts, axis=-1)




def _urn_parameter_properties():
  """`parameter_properties` of the urn, shared by both classes."""
  return dict(
      total_count=parameter_properties.ParameterProperties(
          shape_fn=lambda sample_shape: sample_shape[:-1],
          default_constraining_bijector_fn=parameter_properties
          .BIJECTOR_NOT_IMPLEMENTED),
      num_balls=parameter_properties.ParameterProperties(
          event_ndims=1,
          default_constraining_bijector_fn=parameter_properties
          .BIJECTOR_NOT_IMPLEMENTED),
      log_weights=parameter_properties.ParameterProperties(event_ndims=1))


class _NoncentralMultivariateHypergeometricBase(
    distribution.AutoCompositeTensorDistribution):
  """Parameters, exact tables, `log_prob` and checks shared by both MVHGs."""

  # Their static values fix the support size, so the CompositeTensor type spec
  # keeps them static: a distribution passed through a `tf.function` boundary
  # is rebuilt with the same support.
  _composite_tensor_shape_params = ('total_count', 'num_balls')

  def __init__(self, total_count, num_balls, log_weights, temperature, hard,
               reparameterization_type, validate_args, allow_nan_stats,
               parameters, name):
    with tf.name_scope(name) as name:
      named = dict(total_count=total_count, num_balls=num_balls,
                   log_weights=log_weights)
      if temperature is not None:
        named['temperature'] = temperature
      dtype = _numerics.parameter_dtype(**named)
      self._log_weights = tensor_util.convert_nonref_to_tensor(
          log_weights, dtype=dtype, name='log_weights')
      self._num_balls = tensor_util.convert_nonref_to_tensor(
          num_balls, dtype=dtype, name='num_balls')
      self._total_count = tensor_util.convert_nonref_to_tensor(
          total_count, dtype=dtype, name='total_count')
      self._temperature = (
          None if temperature is None else
          tensor_util.convert_nonref_to_tensor(temperature, dtype=dtype,
                                               name='temperature'))
      self._hard = bool(hard)
      self._num_classes = _numerics.static_last_dim(self._log_weights,
                                                    'log_weights')
      self._support_size = self._static_support_size()
      super().__init__(
          dtype=dtype,
          reparameterization_type=reparameterization_type,
          validate_args=validate_args,
          allow_nan_stats=allow_nan_stats,
          parameters=parameters,
          name=name)

  def _static_support_size(self):
    total = tf.get_static_value(self._total_count)
    if total is None:
      total = tf.get_static_value(self._num_balls)
      total = None if total is None else np.sum(total, axis=-1)
    if total is None:
      raise ValueError(
          'Argument `total_count` (or else `num_balls`) must be statically '
          'known: its maximum fixes the support size of the distribution.')
    total = np.max(total) if np.size(total) else 0
    if not np.isfinite(total) or total < 0:
      raise ValueError(f'Argument `total_count` must be finite and >= 0, got '
                       f'a maximum of {total}.')
    return int(total) + 1

  @property
  def total_count(self):
    return self._total_count

  @property
  def num_balls(self):
    return self._num_balls

  @property
  def log_weights(self):
    return self._log_weights

  def _event_shape(self):
    return tf.TensorShape([self._num_classes])

  def _event_shape_tensor(self):
    return tf.constant([self._num_classes], dtype=tf.int32)

  def _broadcast_params(self):
    batch_shape = self.batch_shape_tensor()
    event = ps.concat([batch_shape, [self._num_classes]], axis=0)
    return (tf.broadcast_to(self._total_count, batch_shape),
            tf.broadcast_to(self._num_balls, event),
            tf.broadcast_to(self._log_weights, event))

  def _equal_num_balls(self):
    """The common number of balls per class when static and usable, else None.

    The power recurrence needs every class to have the same `m` balls and at
    most `m + 1` draws (true for the DRPM: `m = n` balls, `n` draws).
    """
    num_balls = tf.get_static_value(self._num_balls)
    if num_balls is None or np.size(num_balls) == 0:
      return None
    m = np.ravel(num_balls)[0]
    if not np.all(num_balls == m) or self._support_size - 1 > m + 1:
      return None
    return float(m)

  def _tables(self, first=True):
    total_count, num_balls, log_weights = self._broadcast_params()
    terms = _class_log_terms(num_balls, log_weights, self._support_size)
    m = self._equal_num_balls()
    batch_size = self.batch_shape.num_elements()
    if m is not None and (batch_size is None or
                          batch_size * self._num_classes *
                          self._support_size**2 >= _CONVOLUTION_MAX_WORK):
      tables = _equal_balls_suffix_log_tables(log_weights, m,
                                              self._support_size, first)
    else:
      tables = _suffix_log_tables(terms, first=first)
    return total_count, terms, tables

  def log_normalizer(self, name='log_normalizer'):
    """`log P0`, the log-normalizer of the pmf, shape `batch_shape`."""
    with self._name_and_control_scope(name):
      total_count, _, tables = self._tables()
      return _select(tables[0], total_count)

  def _log_prob(self, counts):
    counts = tf.convert_to_tensor(counts, dtype=self.dtype)
    log_numerator = tf.reduce_sum(
        _numerics.log_binomial(self._num_balls, counts) +
        _numerics.log_weight_terms(counts, self._log_weights), axis=-1)
    total_count, _, tables = self._tables()
    return log_numerator - _select(tables[0], total_count)

  def _sample_counts_n(self, n, seed, temperature=None, hard=True):
    total_count, terms, tables = self._tables(first=False)
    if temperature is not None:
      temperature = tf.broadcast_to(temperature, ps.shape(total_count))
    return _sample_counts(terms, tables, total_count, n,
                          samplers.sanitize_seed(seed),
                          temperature=temperature, hard=hard)

  def _default_event_space_bijector(self):
    return None

  def _sample_control_dependencies(self, counts):
    if not self.validate_args:
      return []
    counts = tf.convert_to_tensor(counts, dtype=self.dtype)
    return [
        assert_util.assert_non_negative(
            counts, message='Argument `counts` must be non-negative'),
        assert_util.assert_equal(
            counts, tf.round(counts),
            message='Argument `counts` must be integer-valued.'),
        assert_util.assert_less_equal(
            counts, tf.convert_to_tensor(self._num_balls),
            message='Argument `counts` must not exceed `num_balls`.'),
        assert_util.assert_near(
            tf.reduce_sum(counts, axis=-1),
            tf.convert_to_tensor(self._total_count),
            atol=0.5, rtol=0.,
            message='Argument `counts` must sum to `total_count`'),
    ]

  def _static_shape_checks(self):
    if self._num_classes < 1:
      raise ValueError('Argument `log_weights` must have a final dimension '
                       f'K >= 1 (number of classes), got {self._num_classes}.')
    balls_k = (tf.compat.dimension_value(self._num_balls.shape[-1])
               if self._num_balls.shape.rank else None)
    if balls_k is not None and balls_k not in (1, self._num_classes):
      raise ValueError(
          'Argument `num_balls` must have the same final dimension as '
          f'`log_weights` ({self._num_classes}), got shape '
          f'{self._num_balls.shape}.')
    try:
      tf.broadcast_static_shape(
          tf.broadcast_static_shape(self._num_balls.shape[:-1],
                                    self._log_weights.shape[:-1]),
          self._total_count.shape)
    except ValueError as e:
      raise ValueError(
          'Arguments `total_count` [...], `num_balls` [..., K] and '
          '`log_weights` [..., K] must have broadcastable batch shapes, got '
          f'{self._total_count.shape}, {self._num_balls.shape}, '
          f'{self._log_weights.shape}.') from e

  def _parameter_control_dependencies(self, is_init):
    if is_init:
      self._static_shape_checks()
    assertions = []
    if not self.validate_args:
      return assertions
    weights_changed = is_init != tensor_util.is_ref(self._log_weights)
    counts_changed = (is_init != tensor_util.is_ref(self._num_balls) or
                      is_init != tensor_util.is_ref(self._total_count))
    log_weights = tf.convert_to_tensor(self._log_weights)
    num_balls = tf.convert_to_tensor(self._num_balls)
    total_count = tf.convert_to_tensor(self._total_count)
    if weights_changed:
      assertions.append(assert_util.assert_equal(
          tf.reduce_all(~tf.math.is_nan(log_weights) &
                        (log_weights < np.inf)), True,
          message='Argument `log_weights` must be finite, or -inf to mask a '
          'class out (got NaN or +inf).'))
    if counts_changed:
      assertions += [
          assert_util.assert_non_negative(
              num_balls, message='Argument `num_balls` must be non-negative'),
          assert_util.assert_equal(
              num_balls, tf.round(num_balls),
              message='Argument `num_balls` must be integer-valued.'),
          assert_util.assert_non_negative(
              total_count,
              message='Argument `total_count` must be non-negative'),
          assert_util.assert_equal(
              total_count, tf.round(total_count),
              message='Argument `total_count` must be integer-valued.'),
          assert_util.assert_less_equal(
              total_count, tf.reduce_sum(num_balls, axis=-1),
              message='Argument `total_count` must not exceed '
              '`sum(num_balls)`.'),
      ]
    if weights_changed or counts_changed:
      unmasked = tf.where(log_weights > -np.inf, num_balls,
                          tf.zeros([], num_balls.dtype))
      assertions.append(assert_util.assert_less_equal(
          total_count, tf.reduce_sum(unmasked, axis=-1),
          message='Argument `log_weights` masks out (with -inf) classes '
          'holding so many balls that fewer than `total_count` remain.'))
    if (self._temperature is not None and
        is_init != tensor_util.is_ref(self._temperature)):
      assertions.append(assert_util.assert_positive(
          self._temperature, message='Argument `temperature` must be > 0'))
    return assertions


class NoncentralMultivariateHypergeometric(
    _NoncentralMultivariateHypergeometricBase):
  """Fisher's noncentral multivariate hypergeometric distribution (exact).

  An urn holds `m_k = num_balls[k]` balls of class `k = 1..K`, each ball of
  class `k` with importance `w_k = exp(log_weights[k])`; `N = total_count`
  balls are drawn. The event is the vector of counts `x` `[K]` (floating
  dtype, integer values summing to `N`). `log_prob` is exact, with the
  normalizer computed by log-space polynomial arithmetic (never by enumerating
  the support); `sample` is exact and not differentiable (see
  `RelaxedNoncentralMultivariateHypergeometric` for reparameterized samples).

  A class whose log-weight is `-inf` is masked out: it never receives a ball,
  and the other classes follow the MVHG without it.

  #### Mathematical Details

  The probability mass function ([1], [2]; [4], eq. 7-10) is

  ```none
  p(x; w, m) = prod_k C(m_k, x_k) w_k^{x_k} / P0,   sum_k x_k = N,  0 <= x_k <= m_k,
  P0 = [z^N] prod_k (1 + w_k z)^{m_k}.
  ```

  Sampling is sequential over classes, from the exact conditionals. With the
  "suffix tables" `E_k(t) = [z^t] prod_{j>=k} (1 + w_j z)^{m_j}`,

  ```none
  p(x_k = x | x_1..x_{k-1}) ∝ C(m_k, x) w_k^x E_{k+1}(t_k - x),   t_k = N - sum_{j<k} x_j,
  ```

  and Gumbel-argmax on these conditionals draws exact samples; `E_1(N) = P0`.
  All tables come from `K - 1` log-space convolutions, `O(K N^2)` per
  parameter set and shared by every sample. When every class has the same
  number of balls `m` and `N <= m + 1` (the DRPM's case, `m = N = n`),
  `E_k = Q_k^m` with `Q_k(z) = prod_{j>=k} (1 + w_j z)` of degree `<= K`, and
  J.C.P. Miller's recurrence for the coefficients of a power [5], whose terms
  are all non-negative in that range, gives every table in `O(K N)` log-space
  operations (`O(K^2 N)` in all). The sampler of [3] instead merges classes
  `k+1..K` into one class of averaged weight, which is biased whenever the
  weights differ; nothing here is approximate.

  The largest `total_count` (or, failing that, the largest `sum(num_balls)`)
  must be known statically: it fixes the support size `N + 1` of the tables,
  which keeps every op XLA-compatible.

  #### Examples

  ```python
  import numpy as np
  from drpm_tf.distributions import NoncentralMultivariateHypergeometric

  dist = NoncentralMultivariateHypergeometric(
      total_count=6., num_balls=[5., 5., 5.], log_weights=[-1., 0., 2.])
  counts = dist.sample(1000, seed=(1, 2))  # [1000, 3], each row sums to 6
  dist.log_prob([1., 2., 3.])              # exact log-pmf
  # The second class masked out: its count is always 0.
  masked = NoncentralMultivariateHypergeometric(
      total_count=6., num_balls=[5., 5., 5.], log_weights=[-1., -np.inf, 2.])
  ```

  #### References

  [1]: Ronald A. Fisher. The Logic of Inductive Inference. Journal of the
       Royal Statistical Society, 98(1):39-82, 1935.

  [2]: Jean Chesson. A Non-Central Multivariate Hypergeometric Distribution
       Arising from Biased Sampling with Application to Selective Predation.
       Journal of Applied Probability, 13(4):795-797, 1976.

  [3]: Thomas M. Sutter, Laura Manduchi, Alain Ryser, Julia E. Vogt. Learning
       Group Importance using the Differentiable Hypergeometric Distribution.
       International Conference on Learning Representations (ICLR), 2023.
       https://arxiv.org/abs/2203.01629

  [4]: Thomas M. Sutter, Alain Ryser, Joram Liebeskind, Julia E. Vogt.
       Variational Partitioning. Published as: Differentiable Random Partition
       Models. Advances in Neural Information Processing Systems 36 (NeurIPS),
       2023. https://arxiv.org/abs/2305.16841

  [5]: Donald E. Knuth. The Art of Computer Programming, Volume 2:
       Seminumerical Algorithms, 3rd edition, Section 4.7 (J.C.P. Miller's
       formula for the power of a power series). Addison-Wesley, 1997.
  """

  def __init__(self, total_count, num_balls, log_weights, validate_args=False,
               allow_nan_stats=True,
               name='NoncentralMultivariateHypergeometric'):
    """Builds a batch of Fisher noncentral MVHG distributions.

    Args:
      total_count: `[...]` number of balls drawn (integer-valued).
      num_balls: `[..., K]` number of balls per class (integer-valued).
      log_weights: `[..., K]` log class importances `log w`; `-inf` masks a
        class out.
      validate_args: Python `bool`: check parameters (and `log_prob` inputs)
        at run time, including after a `tf.Variable` parameter changes.
      allow_nan_stats: see `tfp.distributions.Distribution`.
      name: op name scope.

    Raises:
      TypeError: if the parameters are not float32 or float64.
      ValueError: if the support size is not static, `log_weights` has no
        static last dimension `K >= 1`, or the shapes do not broadcast.
    """
    parameters = dict(locals())
    super().__init__(
        total_count, num_balls, log_weights, temperature=None, hard=True,
        reparameterization_type=reparameterization.NOT_REPARAMETERIZED,
        validate_args=validate_args, allow_nan_stats=allow_nan_stats,
        parameters=parameters, name=name)

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    return _urn_parameter_properties()

  def _sample_n(self, n, seed=None):
    return tf.stop_gradient(self._sample_counts_n(n, seed))


class RelaxedNoncentralMultivariateHypergeometric(
    _NoncentralMultivariateHypergeometricBase):
  """Reparameterized Fisher noncentral MVHG (exact conditionals + Gumbel-softmax).

  The distribution of `NoncentralMultivariateHypergeometric` (same
  parameters, same exact `log_prob` of integer counts), with samples that are
  differentiable w.r.t. `log_weights` (and `temperature`). With `hard=True`
  (default) the sampled counts are the exact discrete sample in the forward
  pass and carry the relaxed counts' gradient (straight-through); with
  `hard=False` they are the relaxed counts, which approach the hard ones as
  `temperature -> 0`. `temperature` is `[...]` and broadcasts with the batch.
  A class whose log-weight is `-inf` is masked out: its count is exactly 0,
  hard or soft, and gradients w.r.t. the other log-weights stay finite.

  #### Mathematical Details

  Classes are sampled in order from the exact conditionals of
  `NoncentralMultivariateHypergeometric`, with logits
  `l_k(x) = log C(m_k, x) + x log w_k + log E_{k+1}(t_k - x)` over
  `x = 0..N`. The hard count is `argmax_x (l_k(x) + g_x)` with standard
  Gumbel noise `g`, an exact sample; the relaxed count is the Gumbel-softmax
  ([6], [7]) mean

  ```none
  x~_k = sum_x x softmax((l_k + g) / tau)_x.
  ```

  The sequential structure (the remaining total `t_k`) follows the hard
  sample, which has the exact law; the last class takes `N` minus the other
  classes, so the counts always sum to `N` ([3], [4]).

  #### Examples

  ```python
  import tensorflow as tf
  from drpm_tf.distributions import RelaxedNoncentralMultivariateHypergeometric

  log_weights = tf.Variable([-1., 0., 2.])
  with tf.GradientTape() as tape:
    dist = RelaxedNoncentralMultivariateHypergeometric(
        temperature=0.5, total_count=6., num_balls=[5., 5., 5.],
        log_weights=log_weights)
    counts = dist.sample(16, seed=(1, 2))  # integer counts, [16, 3]
    loss = tf.reduce_sum(counts * [1., 2., 3.])
  tape.gradient(loss, log_weights)         # straight-through gradient
  ```

  #### References

  [1]: Ronald A. Fisher. The Logic of Inductive Inference. Journal of the
       Royal Statistical Society, 98(1):39-82, 1935.

  [2]: Jean Chesson. A Non-Central Multivariate Hypergeometric Distribution
       Arising from Biased Sampling with Application to Selective Predation.
       Journal of Applied Probability, 13(4):795-797, 1976.

  [3]: Thomas M. Sutter, Laura Manduchi, Alain Ryser, Julia E. Vogt. Learning
       Group Importance using the Differentiable Hypergeometric Distribution.
       International Conference on Learning Representations (ICLR), 2023.
       https://arxiv.org/abs/2203.01629

  [4]: Thomas M. Sutter, Alain Ryser, Joram Liebeskind, Julia E. Vogt.
       Variational Partitioning. Published as: Differentiable Random Partition
       Models. Advances in Neural Information Processing Systems 36 (NeurIPS),
       2023. https://arxiv.org/abs/2305.16841

  [5]: Donald E. Knuth. The Art of Computer Programming, Volume 2:
       Seminumerical Algorithms, 3rd edition, Section 4.7 (J.C.P. Miller's
       formula for the power of a power series). Addison-Wesley, 1997.

  [6]: Eric Jang, Shixiang Gu, Ben Poole. Categorical Reparameterization with
       Gumbel-Softmax. International Conference on Learning Representations
       (ICLR), 2017. https://arxiv.org/abs/1611.01144

  [7]: Chris J. Maddison, Andriy Mnih, Yee Whye Teh. The Concrete
       Distribution: A Continuous Relaxation of Discrete Random Variables.
       International Conference on Learning Representations (ICLR), 2017.
       https://arxiv.org/abs/1611.00712
  """

  def __init__(self, temperature, total_count, num_balls, log_weights,
               hard=True, validate_args=False, allow_nan_stats=True,
               name='RelaxedNoncentralMultivariateHypergeometric'):
    """Builds a batch of relaxed Fisher noncentral MVHG distributions.

    Args:
      temperature: `[...]` positive Gumbel-softmax temperature.
      total_count: `[...]` number of balls drawn (integer-valued).
      num_balls: `[..., K]` number of balls per class (integer-valued).
      log_weights: `[..., K]` log class importances; `-inf` masks a class out.
      hard: Python `bool`: return straight-through hard counts (default) or
        soft counts.
      validate_args: Python `bool`: check parameters (and `log_prob` inputs)
        at run time, including after a `tf.Variable` parameter changes.
      allow_nan_stats: see `tfp.distributions.Distribution`.
      name: op name scope.

    Raises:
      TypeError: if the parameters are not float32 or float64.
      ValueError: if the support size is not static, `log_weights` has no
        static last dimension `K >= 1`, or the shapes do not broadcast.
    """
    parameters = dict(locals())
    super().__init__(
        total_count, num_balls, log_weights, temperature=temperature,
        hard=hard,
        reparameterization_type=reparameterization.FULLY_REPARAMETERIZED,
        validate_args=validate_args, allow_nan_stats=allow_nan_stats,
        parameters=parameters, name=name)

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    properties = _urn_parameter_properties()
    # pylint: disable=g-long-lambda
    properties['temperature'] = parameter_properties.ParameterProperties(
        shape_fn=lambda sample_shape: sample_shape[:-1],
        default_constraining_bijector_fn=(
            lambda: softplus_bijector.Softplus(low=dtype_util.eps(dtype))))
    # pylint: enable=g-long-lambda
    return properties

  @property
  def temperature(self):
    return self._temperature

  @property
  def hard(self):
    return self._hard

  def _sample_n(self, n, seed=None):
    return self._sample_counts_n(n, seed, temperature=self._temperature,
                                 hard=self._hard)

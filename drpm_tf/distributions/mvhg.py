"""Fisher's noncentral multivariate hypergeometric distribution: exact and relaxed.

An urn holds `m_k` balls of class `k = 1..K`, each class with importance
`w_k = exp(log_weights[k])`; `N = total_count` balls are drawn. The counts `x`
follow (paper eq. 7-10)

```none
p(x; w, m) = prod_k C(m_k, x_k) w_k^{x_k} / P0,   sum_k x_k = N,  0 <= x_k <= m_k,
P0 = [z^N] prod_k (1 + w_k z)^{m_k}.
```

#### Exact sequential conditionals

With `E_k(t) = [z^t] prod_{j>=k} (1 + w_j z)^{m_j}` (the "suffix tables"),

```none
p(x_k = x | x_1..x_{k-1}) ∝ C(m_k, x) w_k^x E_{k+1}(t_k - x),   t_k = N - sum_{j<k} x_j.
```

All `E_k` come from `K - 1` log-space convolutions (`O(K N^2)` per parameter
set, shared by every sample), and `E_1(N) = P0`. When every class has the same
number of balls `m` and `N <= m + 1` (the DRPM: `m = N = n`), `E_k = Q_k^m`
with `Q_k(z) = prod_{j>=k} (1 + w_j z)` of degree `<= K`, and J.C.P. Miller's
recurrence for the coefficients of a power, whose terms are all non-negative
in that range, gives every table in `O(K N)` log-space operations: `O(K^2 N)`
in all. Gumbel-argmax on these
conditionals yields exact samples. The official implementation instead merges
classes `k+1..K` into one class of averaged weight, which is biased whenever
the weights differ; nothing here is approximate.

`RelaxedNoncentralMultivariateHypergeometric` replaces each argmax by a
Gumbel-softmax over `x = 0..N` with temperature `tau`; the relaxed count of a
class is `sum_x x softmax((logits + g) / tau)`. The sequential structure (the
remaining total `t_k`) follows the hard sample, which has the exact law. With
`hard=True` the returned counts are the exact hard counts in the forward pass
and carry the relaxed counts' gradient (straight-through). The last class takes
`N` minus the other classes, so counts always sum to `N`.
"""

import numpy as np
import tensorflow as tf
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


# Below this many batch members x classes x support points the O(K N^2)
# convolutions (a few large vectorized ops) beat the O(K^2 N) recurrence, whose
# N sequential steps each cost a fixed ~0.1 ms on a CPU. Both are exact.
_RECURRENCE_MIN_WORK = 20_000


def _class_log_terms(num_balls, log_weights, support_size):
  """`f[..., k, x] = log C(m_k, x) + x log w_k` for `x = 0..support_size-1`."""
  x = tf.range(support_size, dtype=log_weights.dtype)
  return (_numerics._log_binomial(num_balls[..., None], x) +  # pylint: disable=protected-access
          x * log_weights[..., None])


def _suffix_log_tables(class_log_terms, first=True):
  """`[log E_1, ..., log E_K]`, each `[..., T + 1]`, from `[..., K, T + 1]` terms.

  With `first=False`, `log E_1` (only needed for the normalizer, not for
  sampling) is not computed and the list starts with `None`.
  """
  num_classes = class_log_terms.shape[-2]
  tables = [class_log_terms[..., num_classes - 1, :]]
  for k in range(num_classes - 2, -1 if first else 0, -1):
    tables.append(_numerics._log_convolve(class_log_terms[..., k, :],  # pylint: disable=protected-access
                                          tables[-1]))
  if not first:
    tables.append(None)
  return tables[::-1]


# A graph function even when called eagerly: the recurrence is a loop of small
# ops, which op-by-op eager execution (and its gradient tape) makes slow.
@tf.function(autograph=False)
def _log_power_coefficients(log_q, exponent, size):
  """`log [z^t] Q(z)^exponent` for `t = 0..size-1`, with `Q(0) = 1`.

  `log_q` `[..., d + 1]` holds `log q_i` (`log q_0 = 0`, `-inf` allowed). With
  `P = Q^m`, `P' Q = m Q' P` gives J.C.P. Miller's recurrence

  ```none
  p_0 = 1,   p_t = (1 / t) sum_{i=1}^{min(d, t)} ((m + 1) i - t) q_i p_{t-i},
  ```

  whose terms are all non-negative for `t <= m + 1`, so it runs in log space
  without cancellation: `O(size * d)` instead of `O(size^2)` per table.
  Requires `size - 1 <= exponent + 1`.
  """
  degree = log_q.shape[-1] - 1
  dtype = log_q.dtype
  batch = tf.shape(log_q)[:-1]
  i = tf.range(1, degree + 1, dtype=dtype)
  log_q = log_q[..., 1:]
  minus_inf = tf.constant(-np.inf, dtype)
  # window[..., j] = log p_{t-1-j}: the last `degree` coefficients.
  window = tf.concat(
      [tf.zeros(tf.concat([batch, [1]], 0), dtype),
       tf.fill(tf.concat([batch, [degree - 1]], 0), minus_inf)], axis=-1)
  coefficients = tf.TensorArray(dtype, size=size).write(0, tf.zeros(batch,
                                                                    dtype))

  def step(t, window, coefficients):
    t_float = tf.cast(t, dtype)
    used = i <= t_float
    weight = tf.where(used, (exponent + 1.) * i - t_float, tf.ones([], dtype))
    terms = tf.where(used, tf.math.log(weight) + log_q + window, minus_inf)
    value = _numerics._safe_logsumexp(terms, axis=-1) - tf.math.log(t_float)  # pylint: disable=protected-access
    window = tf.concat([value[..., None], window[..., :-1]], axis=-1)
    return t + 1, window, coefficients.write(t, value)

  _, _, coefficients = tf.while_loop(
      lambda t, *_: t < size, step, (tf.constant(1), window, coefficients),
      maximum_iterations=size - 1)
  stacked = coefficients.stack()  # [size, ...]
  rank = tf.rank(stacked)
  return tf.transpose(stacked, tf.concat([tf.range(1, rank), [0]], 0))


def _equal_balls_suffix_log_tables(log_weights, num_balls, size, first=True):
  """`_suffix_log_tables` when every class has `num_balls` balls.

  Then `E_k(z) = Q_k(z)^m` with `Q_k(z) = prod_{j>=k} (1 + w_j z)` of degree
  `K - k + 1`, and `_log_power_coefficients` gives every table in
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
    log_q = _numerics._safe_logsumexp(tf.stack([log_q, shifted], -1), -1)  # pylint: disable=protected-access
    suffix.append(log_q)
  if not suffix:  # a single class needs no table to be sampled
    return [None]
  tables = _log_power_coefficients(tf.stack(suffix, axis=-2),
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
    perturbed = logits + _numerics._gumbel(ps.shape(logits), dtype, seeds[k])  # pylint: disable=protected-access
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


class NoncentralMultivariateHypergeometric(distribution.Distribution):
  """Fisher's noncentral multivariate hypergeometric distribution (exact).

  Shapes: `log_weights`, `num_balls`: `[..., K]`; `total_count`: `[...]`;
  event = counts `[K]` (floating dtype, integer values summing to
  `total_count`). `log_prob` is exact, with the normalizer `P0` computed by
  log-space polynomial convolution (not by enumerating the support);
  `sample` is exact (see the module docstring) and not differentiable.

  The largest `total_count` (or, failing that, the largest `sum(num_balls)`)
  must be known statically: it fixes the support size `T + 1` of the tables,
  which keeps every op XLA-compatible.
  """

  def __init__(self, total_count, num_balls, log_weights, validate_args=False,
               allow_nan_stats=True,
               name='NoncentralMultivariateHypergeometric'):
    """Builds a batch of Fisher noncentral MVHG distributions.

    Args:
      total_count: `[...]` number of balls drawn (integer-valued).
      num_balls: `[..., K]` number of balls per class (integer-valued).
      log_weights: `[..., K]` log class importances `log w`.
      validate_args: check parameters (and `log_prob` inputs) at run time.
      allow_nan_stats: see `tfp.distributions.Distribution`.
      name: op name scope.
    """
    parameters = dict(locals())
    with tf.name_scope(name) as name:
      self._init_params(total_count, num_balls, log_weights)
      super().__init__(
          dtype=self._log_weights.dtype,
          reparameterization_type=reparameterization.NOT_REPARAMETERIZED,
          validate_args=validate_args,
          allow_nan_stats=allow_nan_stats,
          parameters=parameters,
          name=name)

  def _init_params(self, total_count, num_balls, log_weights, extra=()):
    dtype = dtype_util.common_dtype(
        [total_count, num_balls, log_weights, *extra], dtype_hint=tf.float32)
    if not dtype_util.is_floating(dtype):
      raise TypeError('Argument `log_weights` must have a floating dtype, '
                      f'got {dtype}.')
    self._log_weights = tensor_util.convert_nonref_to_tensor(
        log_weights, dtype=dtype, name='log_weights')
    self._num_balls = tensor_util.convert_nonref_to_tensor(
        num_balls, dtype=dtype, name='num_balls')
    self._total_count = tensor_util.convert_nonref_to_tensor(
        total_count, dtype=dtype, name='total_count')
    self._num_classes = _numerics._static_last_dim(self._log_weights,  # pylint: disable=protected-access
                                                   'log_weights')
    self._support_size = self._static_support_size()

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

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    return dict(
        total_count=parameter_properties.ParameterProperties(
            default_constraining_bijector_fn=parameter_properties
            .BIJECTOR_NOT_IMPLEMENTED),
        num_balls=parameter_properties.ParameterProperties(
            event_ndims=1,
            default_constraining_bijector_fn=parameter_properties
            .BIJECTOR_NOT_IMPLEMENTED),
        log_weights=parameter_properties.ParameterProperties(event_ndims=1))

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
                          batch_size * self._num_classes * self._support_size
                          >= _RECURRENCE_MIN_WORK):
      tables = _equal_balls_suffix_log_tables(log_weights, m,
                                              self._support_size, first)
    else:
      tables = _suffix_log_tables(terms, first=first)
    return total_count, terms, tables

  def log_normalizer(self, name='log_normalizer'):
    """`log P0`, the log-normalizer of eq. 8, shape `batch_shape`."""
    with self._name_and_control_scope(name):
      total_count, _, tables = self._tables()
      return _select(tables[0], total_count)

  def _log_prob(self, counts):
    counts = tf.convert_to_tensor(counts, dtype=self.dtype)
    log_numerator = tf.reduce_sum(
        _numerics._log_binomial(self._num_balls, counts) +  # pylint: disable=protected-access
        counts * self._log_weights, axis=-1)
    total_count, _, tables = self._tables()
    return log_numerator - _select(tables[0], total_count)

  def _sample_n(self, n, seed=None):
    total_count, terms, tables = self._tables(first=False)
    return tf.stop_gradient(_sample_counts(
        terms, tables, total_count, n, samplers.sanitize_seed(seed)))

  def _default_event_space_bijector(self):
    return None

  def _sample_control_dependencies(self, counts):
    if not self.validate_args:
      return []
    counts = tf.convert_to_tensor(counts, dtype=self.dtype)
    return [
        assert_util.assert_non_negative(
            counts, message='Argument `counts` must be non-negative.'),
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
            message='Argument `counts` must sum to `total_count`.'),
    ]

  def _parameter_control_dependencies(self, is_init):
    assertions = []
    if is_init:
      if self._num_classes < 1:
        raise ValueError('Argument `log_weights` must have a final dimension '
                         f'K >= 1 (number of classes), got {self._num_classes}.')
      balls_k = tf.compat.dimension_value(self._num_balls.shape[-1]) \
          if self._num_balls.shape.rank else None
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
    if not self.validate_args:
      return assertions
    if is_init != tensor_util.is_ref(self._log_weights):
      assertions.append(assert_util.assert_equal(
          tf.reduce_all(tf.math.is_finite(self._log_weights)), True,
          message='Argument `log_weights` must be finite.'))
    if (is_init != tensor_util.is_ref(self._num_balls) or
        is_init != tensor_util.is_ref(self._total_count)):
      num_balls = tf.convert_to_tensor(self._num_balls)
      total_count = tf.convert_to_tensor(self._total_count)
      assertions += [
          assert_util.assert_non_negative(
              num_balls, message='Argument `num_balls` must be non-negative.'),
          assert_util.assert_equal(
              num_balls, tf.round(num_balls),
              message='Argument `num_balls` must be integer-valued.'),
          assert_util.assert_non_negative(
              total_count,
              message='Argument `total_count` must be non-negative.'),
          assert_util.assert_equal(
              total_count, tf.round(total_count),
              message='Argument `total_count` must be integer-valued.'),
          assert_util.assert_less_equal(
              total_count, tf.reduce_sum(num_balls, axis=-1),
              message='Argument `total_count` must not exceed '
              '`sum(num_balls)`.'),
      ]
    return assertions


class RelaxedNoncentralMultivariateHypergeometric(
    NoncentralMultivariateHypergeometric):
  """Reparameterized Fisher noncentral MVHG (exact conditionals + Gumbel-softmax).

  `sample` is differentiable w.r.t. `log_weights`. With `hard=True` (default)
  the sampled counts are the exact discrete sample in the forward pass
  (straight-through); with `hard=False` they are the relaxed counts, which
  approach the hard ones as `temperature -> 0`. `log_prob` is the exact log-pmf
  of integer counts. Shapes as in `NoncentralMultivariateHypergeometric`;
  `temperature` is `[...]` and broadcasts with the batch.
  """

  def __init__(self, temperature, total_count, num_balls, log_weights,
               hard=True, validate_args=False, allow_nan_stats=True,
               name='RelaxedNoncentralMultivariateHypergeometric'):
    """Builds a batch of relaxed Fisher noncentral MVHG distributions.

    Args:
      temperature: `[...]` positive Gumbel-softmax temperature.
      total_count: `[...]` number of balls drawn (integer-valued).
      num_balls: `[..., K]` number of balls per class (integer-valued).
      log_weights: `[..., K]` log class importances.
      hard: return straight-through hard counts (default) or soft counts.
      validate_args: check parameters (and `log_prob` inputs) at run time.
      allow_nan_stats: see `tfp.distributions.Distribution`.
      name: op name scope.
    """
    parameters = dict(locals())
    with tf.name_scope(name) as name:
      self._init_params(total_count, num_balls, log_weights,
                        extra=(temperature,))
      self._temperature = tensor_util.convert_nonref_to_tensor(
          temperature, dtype=self._log_weights.dtype, name='temperature')
      self._hard = bool(hard)
      distribution.Distribution.__init__(
          self,
          dtype=self._log_weights.dtype,
          reparameterization_type=reparameterization.FULLY_REPARAMETERIZED,
          validate_args=validate_args,
          allow_nan_stats=allow_nan_stats,
          parameters=parameters,
          name=name)

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    properties = super()._parameter_properties(dtype, num_classes)
    properties['temperature'] = parameter_properties.ParameterProperties(
        default_constraining_bijector_fn=parameter_properties
        .BIJECTOR_NOT_IMPLEMENTED)
    return properties

  @property
  def temperature(self):
    return self._temperature

  @property
  def hard(self):
    return self._hard

  def _sample_n(self, n, seed=None):
    total_count, terms, tables = self._tables(first=False)
    temperature = tf.broadcast_to(self._temperature, ps.shape(total_count))
    return _sample_counts(terms, tables, total_count, n,
                          samplers.sanitize_seed(seed),
                          temperature=temperature, hard=self._hard)

  def _parameter_control_dependencies(self, is_init):
    assertions = super()._parameter_control_dependencies(is_init)
    if self.validate_args and is_init != tensor_util.is_ref(self._temperature):
      assertions.append(assert_util.assert_positive(
          self._temperature, message='Argument `temperature` must be > 0.'))
    return assertions

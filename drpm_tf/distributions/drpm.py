"""The differentiable random partition model (DRPM, paper Definition 1, Prop. 3).

A partition of `n` elements into at most `K` ordered subsets is the assignment
matrix `Y` `[K, n]` (`Y[k, i] = 1` iff element `i` is in subset `k`). The DRPM
samples it in two stages:

1. subset sizes `counts ~ MVHG(log_weights)` with `m_k = n` balls per class and
   `n` draws (Fisher noncentral MVHG, `mvhg.py`);
2. an order `pi ~ PL(log_scores)` of the elements (`plackett_luce.py`);

and fills the subsets in that order: subset `k` holds the elements at ranks
`[c_{k-1}, c_k)`, `c_k = counts_1 + ... + counts_k`, i.e. `Y = B(counts) pi`
with the block matrix `B[k, r] = 1[c_{k-1} <= r < c_k]`. For relaxed counts,
`B[k, r] = clip(c_k - r, 0, 1) - clip(c_{k-1} - r, 0, 1)` (the fraction of
rank slot `[r, r + 1)` covered by block `k`), which is exact for integer counts
and differentiable in them. Building `Y` costs `O(K n)` for `B` and `O(K n^2)`
for the product; no `n x n x n` shift tensor is ever formed. The exact MVHG
tables of the counts stage cost `O(K^2 n)` per parameter set (`m_k = n`, see
`mvhg.py`), the NeuralSort relaxation `O(n^2)` per sample.

#### Exact likelihood

`p(Y) = p(counts; w) sum_{pi in Pi_Y} p(pi; s)` (eq. 2). Under PL the next
`|S|` ranks hold exactly the set `S` of the remaining set `R = S + T` with
probability (an exponential race, `s_T = sum_{j in T} s_j`)

```none
I(S, T) = int_0^1 prod_{i in S} (1 - u^{s_i / s_T}) du,    I(S, {}) = 1,
```

so `p(Y) = p(counts) prod_k I(S_k, S_{k+1} + ... + S_K)`. Substituting
`u = exp(-e^v)` gives an integrand that is smooth and decays double
exponentially for `v -> +inf` and at least exponentially for `v -> -inf`, so
the trapezoidal rule on a fixed grid in `v` converges geometrically. It is
evaluated in log space and normalized by the same rule applied to the empty
product (whose integral is exactly 1), which cancels most discretization
error. `log_prob_lower_bound` / `log_prob_upper_bound` are Lemma 4 with the
maximum over `pi in Pi_Y` (attained by sorting each subset by decreasing score).
"""

import collections

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
from drpm_tf.distributions import mvhg
from drpm_tf.distributions import plackett_luce

__all__ = ['DifferentiableRandomPartition', 'DRPMSample']

DRPMSample = collections.namedtuple('DRPMSample',
                                    ['partition', 'counts', 'permutation'])
DRPMSample.__doc__ = """A DRPM sample with its two stages.

Fields: `partition` `Y` `[..., K, n]`, `counts` `[..., K]`, `permutation`
`[..., n, n]` (row `r` = one-hot of the element at rank `r`).
"""

# Trapezoidal grid in v = log(-log u) for the block integrals. The integrand's
# log-derivative is >= 1 - e^v (so < e^-39 of its peak below v = -40) and its
# peak is below v = log(n + 1); past log(n + 1) + 4.5 it is < e^-80 of the peak.
# Step 0.25 makes the discretization error ~exp(-pi^2 / h) ~ 1e-17.
_GRID_LOW = -40.
_GRID_HIGH_MARGIN = 4.5
_GRID_STEP = 0.25


def _assignment_matrix(counts, permutation):
  """`Y = B(counts) pi`: `[..., K]` counts and `[..., n, n]` permutation."""
  n = permutation.shape[-1]
  upper = tf.cumsum(counts, axis=-1)
  lower = upper - counts
  ranks = tf.range(n, dtype=counts.dtype)
  blocks = (tf.clip_by_value(upper[..., None] - ranks, 0., 1.) -
            tf.clip_by_value(lower[..., None] - ranks, 0., 1.))
  return tf.matmul(blocks, permutation)


def _quadrature_grid(num_elements, dtype):
  high = np.log(num_elements + 1.) + _GRID_HIGH_MARGIN
  return tf.constant(np.arange(_GRID_LOW, high + _GRID_STEP, _GRID_STEP), dtype)


def _log_block_integrals(partition, log_scores):
  """`sum_k log I(S_k, S_{>k})` for hard assignment matrices `[..., K, n]`."""
  dtype = partition.dtype
  minus_inf = tf.constant(-np.inf, dtype)
  member = partition > 0.5
  # later[k, i]: element i sits in a subset after k, i.e. in T_k.
  later = tf.cumsum(partition, axis=-2, exclusive=True, reverse=True) > 0.5
  log_s_later = _numerics._safe_logsumexp(  # pylint: disable=protected-access
      tf.where(later, log_scores[..., None, :], minus_inf), axis=-1)  # [..., K]
  has_later = tf.math.is_finite(log_s_later)
  log_s_later = tf.where(has_later, log_s_later, tf.zeros([], dtype))
  # Each element's own subset's log s_T, and whether that T is non-empty.
  own_log_s_later = tf.reduce_sum(
      tf.where(member, log_s_later[..., None], tf.zeros([], dtype)), axis=-2)
  own_has_later = tf.reduce_any(member & has_later[..., None], axis=-2)
  grid = _quadrature_grid(partition.shape[-1], dtype)
  log_ratio = log_scores - own_log_s_later  # log(s_i / s_T)
  factors = _numerics._log1mexp_of_exp(log_ratio[..., None] + grid)  # pylint: disable=protected-access
  factors = tf.where(own_has_later[..., None], factors, tf.zeros([], dtype))
  base = grid - tf.exp(grid)  # log of the integrand of the empty product
  log_integrand = tf.matmul(partition, factors) + base  # [..., K, grid]
  log_integrals = (_numerics._safe_logsumexp(log_integrand, axis=-1) -  # pylint: disable=protected-access
                   tf.reduce_logsumexp(base))
  return tf.reduce_sum(
      tf.where(has_later, log_integrals, tf.zeros([], dtype)), axis=-1)


def _max_log_prob_ordering(partition, log_scores):
  """`max_{pi in Pi_Y} log PL(pi; s)`: each subset sorted by decreasing score."""
  n = partition.shape[-1]
  batch_shape = ps.broadcast_shape(ps.shape(partition)[:-2],
                                   ps.shape(log_scores)[:-1])
  log_scores = tf.broadcast_to(log_scores, ps.concat([batch_shape, [n]], 0))
  partition = tf.broadcast_to(
      partition, ps.concat([batch_shape, ps.shape(partition)[-2:]], 0))
  block = tf.argmax(partition, axis=-2, output_type=tf.int32)  # [..., n]
  by_score = tf.argsort(log_scores, axis=-1, direction='DESCENDING',
                        stable=True)
  by_block = tf.argsort(tf.gather(block, by_score, batch_dims=ps.rank(block) - 1),
                        axis=-1, stable=True)
  order = tf.gather(by_score, by_block, batch_dims=ps.rank(block) - 1)
  return plackett_luce._log_prob_of_ordered_scores(  # pylint: disable=protected-access
      tf.gather(log_scores, order, batch_dims=ps.rank(block) - 1))


class DifferentiableRandomPartition(distribution.Distribution):
  """Two-stage differentiable random partition model (DRPM).

  Shapes: `log_weights` `[..., K]` (MVHG over subset sizes with `m_k = n`),
  `log_scores` `[..., n]` (Plackett-Luce over the element order),
  `temperature` `[...]`; event = assignment matrix `Y` `[K, n]`.

  `sample` is differentiable w.r.t. both parameters; with `hard=True` every
  sample is an exact partition (one-hot columns, row sums = sampled counts)
  with straight-through gradients. `sample_components` also returns the
  sampled counts and permutation. `log_prob(Y)` is the exact `log p(Y)`;
  `log_prob_lower_bound` / `log_prob_upper_bound` are the bounds of Lemma 4.
  """

  def __init__(self, log_weights, log_scores, temperature, hard=True,
               validate_args=False, allow_nan_stats=True,
               name='DifferentiableRandomPartition'):
    """Builds a batch of DRPMs.

    Args:
      log_weights: `[..., K]` log group importances `log omega`.
      log_scores: `[..., n]` log element scores `log s`.
      temperature: `[...]` positive relaxation temperature (MVHG and PL).
      hard: straight-through hard partitions (default) or soft ones.
      validate_args: check parameters (and `log_prob` inputs) at run time.
      allow_nan_stats: see `tfp.distributions.Distribution`.
      name: op name scope.
    """
    parameters = dict(locals())
    with tf.name_scope(name) as name:
      dtype = dtype_util.common_dtype([log_weights, log_scores, temperature],
                                      dtype_hint=tf.float32)
      if not dtype_util.is_floating(dtype):
        raise TypeError('Arguments `log_weights` and `log_scores` must have a '
                        f'floating dtype, got {dtype}.')
      self._log_weights = tensor_util.convert_nonref_to_tensor(
          log_weights, dtype=dtype, name='log_weights')
      self._log_scores = tensor_util.convert_nonref_to_tensor(
          log_scores, dtype=dtype, name='log_scores')
      self._temperature = tensor_util.convert_nonref_to_tensor(
          temperature, dtype=dtype, name='temperature')
      self._num_subsets = _numerics._static_last_dim(self._log_weights,  # pylint: disable=protected-access
                                                     'log_weights')
      self._num_elements = _numerics._static_last_dim(self._log_scores,  # pylint: disable=protected-access
                                                      'log_scores')
      self._hard = bool(hard)
      super().__init__(
          dtype=dtype,
          reparameterization_type=reparameterization.FULLY_REPARAMETERIZED,
          validate_args=validate_args,
          allow_nan_stats=allow_nan_stats,
          parameters=parameters,
          name=name)

  @classmethod
  def _parameter_properties(cls, dtype, num_classes=None):
    return dict(
        log_weights=parameter_properties.ParameterProperties(event_ndims=1),
        log_scores=parameter_properties.ParameterProperties(event_ndims=1),
        temperature=parameter_properties.ParameterProperties(
            default_constraining_bijector_fn=parameter_properties
            .BIJECTOR_NOT_IMPLEMENTED))

  @property
  def log_weights(self):
    return self._log_weights

  @property
  def log_scores(self):
    return self._log_scores

  @property
  def temperature(self):
    return self._temperature

  @property
  def hard(self):
    return self._hard

  def _event_shape(self):
    return tf.TensorShape([self._num_subsets, self._num_elements])

  def _event_shape_tensor(self):
    return tf.constant([self._num_subsets, self._num_elements], tf.int32)

  def _broadcast_params(self):
    batch_shape = self.batch_shape_tensor()
    return (
        tf.broadcast_to(self._log_weights,
                        ps.concat([batch_shape, [self._num_subsets]], 0)),
        tf.broadcast_to(self._log_scores,
                        ps.concat([batch_shape, [self._num_elements]], 0)),
        tf.broadcast_to(self._temperature, batch_shape))

  def counts_distribution(self, log_weights=None, temperature=None):
    """The relaxed MVHG over subset sizes (`m_k = n`, `n` draws)."""
    log_weights = self._log_weights if log_weights is None else log_weights
    temperature = self._temperature if temperature is None else temperature
    n = tf.constant(self._num_elements, self.dtype)
    return mvhg.RelaxedNoncentralMultivariateHypergeometric(
        temperature=temperature,
        total_count=n,
        num_balls=tf.fill([self._num_subsets], n),
        log_weights=log_weights,
        hard=self._hard)

  def permutation_distribution(self, log_scores=None, temperature=None):
    """The relaxed Plackett-Luce over the element order."""
    return plackett_luce.RelaxedPlackettLuce(
        temperature=self._temperature if temperature is None else temperature,
        log_scores=self._log_scores if log_scores is None else log_scores,
        hard=self._hard)

  def _sample_components_n(self, n, seed):
    log_weights, log_scores, temperature = self._broadcast_params()
    counts_seed, permutation_seed = samplers.split_seed(
        samplers.sanitize_seed(seed), n=2)
    counts = self.counts_distribution(log_weights, temperature).sample(
        n, seed=counts_seed)
    permutation = self.permutation_distribution(log_scores, temperature).sample(
        n, seed=permutation_seed)
    return DRPMSample(_assignment_matrix(counts, permutation), counts,
                      permutation)

  def _sample_n(self, n, seed=None):
    return self._sample_components_n(n, seed).partition

  def sample_components(self, sample_shape=(), seed=None,
                        name='sample_components'):
    """Samples `DRPMSample(partition, counts, permutation)` jointly.

    Args:
      sample_shape: shape of the sample batch, prepended to every field.
      seed: Python int or stateless seed.
      name: op name scope.

    Returns:
      `DRPMSample` with `partition` `sample_shape + batch + [K, n]`, `counts`
      `sample_shape + batch + [K]`, `permutation` `sample_shape + batch +
      [n, n]`; `partition == B(counts) @ permutation`.
    """
    with self._name_and_control_scope(name):
      sample_shape = ps.reshape(
          ps.convert_to_shape_tensor(sample_shape, dtype=tf.int32), [-1])
      sample = self._sample_components_n(ps.reduce_prod(sample_shape), seed)
      return DRPMSample(*[
          tf.reshape(x, ps.concat([sample_shape, ps.shape(x)[1:]], 0))
          for x in sample])

  def _counts(self, partition):
    return tf.reduce_sum(partition, axis=-1)

  def _log_prob_counts(self, partition):
    return self.counts_distribution().log_prob(self._counts(partition))

  def _log_prob(self, partition):
    partition = tf.convert_to_tensor(partition, dtype=self.dtype)
    return (self._log_prob_counts(partition) +
            _log_block_integrals(partition, self._log_scores))

  def _log_num_orderings(self, partition):
    return tf.reduce_sum(tf.math.lgamma(self._counts(partition) + 1.), -1)

  def log_num_orderings(self, partition, name='log_num_orderings'):
    """`log |Pi_Y| = sum_k log(n_k!)` (eq. 3), shape `partition.shape[:-2]`."""
    with self._name_and_control_scope(name, partition):
      return self._log_num_orderings(
          tf.convert_to_tensor(partition, dtype=self.dtype))

  def log_prob_lower_bound(self, partition, name='log_prob_lower_bound'):
    """Lemma 4: `log p(n) + max_{pi in Pi_Y} log p(pi)` <= `log p(Y)`."""
    with self._name_and_control_scope(name, partition):
      partition = tf.convert_to_tensor(partition, dtype=self.dtype)
      return (self._log_prob_counts(partition) +
              _max_log_prob_ordering(partition, self._log_scores))

  def log_prob_upper_bound(self, partition, name='log_prob_upper_bound'):
    """Lemma 4: `log p(Y)` <= `log |Pi_Y| + log p(n) + max_{pi in Pi_Y} log p(pi)`."""
    with self._name_and_control_scope(name, partition):
      partition = tf.convert_to_tensor(partition, dtype=self.dtype)
      return (self._log_prob_counts(partition) +
              _max_log_prob_ordering(partition, self._log_scores) +
              self._log_num_orderings(partition))

  def _default_event_space_bijector(self):
    return None

  def _sample_control_dependencies(self, partition):
    if not self.validate_args:
      return []
    partition = tf.convert_to_tensor(partition, dtype=self.dtype)
    ones = tf.ones([], self.dtype)
    message = ('Argument `partition` must be an assignment matrix [K, n] of a '
               'partition (0/1 entries, every column one-hot).')
    return [
        assert_util.assert_equal(
            tf.reduce_all((partition == 0.) | (partition == ones)), True,
            message=message),
        assert_util.assert_equal(tf.reduce_sum(partition, axis=-2), ones,
                                 message=message),
    ]

  def _parameter_control_dependencies(self, is_init):
    if is_init:
      if self._num_subsets < 1:
        raise ValueError('Argument `log_weights` must have a final dimension '
                         f'K >= 1 (number of subsets), got {self._num_subsets}.')
      if self._num_elements < 1:
        raise ValueError('Argument `log_scores` must have a final dimension '
                         f'n >= 1 (number of elements), got '
                         f'{self._num_elements}.')
      try:
        tf.broadcast_static_shape(
            tf.broadcast_static_shape(self._log_weights.shape[:-1],
                                      self._log_scores.shape[:-1]),
            self._temperature.shape)
      except ValueError as e:
        raise ValueError(
            'Arguments `log_weights` [..., K], `log_scores` [..., n] and '
            '`temperature` [...] must have broadcastable batch shapes, got '
            f'{self._log_weights.shape}, {self._log_scores.shape}, '
            f'{self._temperature.shape}.') from e
    assertions = []
    if not self.validate_args:
      return assertions
    for param, name in ((self._log_weights, 'log_weights'),
                        (self._log_scores, 'log_scores')):
      if is_init != tensor_util.is_ref(param):
        assertions.append(assert_util.assert_equal(
            tf.reduce_all(tf.math.is_finite(param)), True,
            message=f'Argument `{name}` must be finite.'))
    if is_init != tensor_util.is_ref(self._temperature):
      assertions.append(assert_util.assert_positive(
          self._temperature, message='Argument `temperature` must be > 0.'))
    return assertions

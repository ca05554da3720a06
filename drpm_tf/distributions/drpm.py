"""The differentiable random partition model (DRPM): sampling and exact likelihood.

`DifferentiableRandomPartition` combines the relaxed MVHG of `mvhg.py` (subset
sizes) with the relaxed Plackett-Luce of `plackett_luce.py` (element order);
its docstring gives the mathematics. The helpers below build the assignment
matrix, the exact log-likelihood's block integrals and the Lemma 4 terms.
"""

import collections

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

from drpm_tf.distributions import _neural_sort
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


def _blocks(counts, num_elements):
  """`B(counts)` `[..., K, n]`: the share of rank slot `[r, r + 1)` in block `k`."""
  upper = tf.cumsum(counts, axis=-1)
  lower = upper - counts
  ranks = tf.range(num_elements, dtype=counts.dtype)
  return (tf.clip_by_value(upper[..., None] - ranks, 0., 1.) -
          tf.clip_by_value(lower[..., None] - ranks, 0., 1.))


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
  log_s_later = _numerics.safe_logsumexp(
      tf.where(later, log_scores[..., None, :], minus_inf), axis=-1)  # [..., K]
  has_later = tf.math.is_finite(log_s_later)
  log_s_later = tf.where(has_later, log_s_later, tf.zeros([], dtype))
  # Each element's own subset's log s_T, and whether that T is non-empty.
  own_log_s_later = tf.reduce_sum(
      tf.where(member, log_s_later[..., None], tf.zeros([], dtype)), axis=-2)
  own_has_later = tf.reduce_any(member & has_later[..., None], axis=-2)
  grid = _quadrature_grid(partition.shape[-1], dtype)
  log_ratio = log_scores - own_log_s_later  # log(s_i / s_T)
  factors = _numerics.log1mexp_of_exp(log_ratio[..., None] + grid)
  factors = tf.where(own_has_later[..., None], factors, tf.zeros([], dtype))
  base = grid - tf.exp(grid)  # log of the integrand of the empty product
  log_integrand = tf.matmul(partition, factors) + base  # [..., K, grid]
  log_integrals = (_numerics.safe_logsumexp(log_integrand, axis=-1) -
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
  by_score = _neural_sort.descending_order(log_scores)
  by_block = tf.argsort(tf.gather(block, by_score, batch_dims=ps.rank(block) - 1),
                        axis=-1, stable=True)
  order = tf.gather(by_score, by_block, batch_dims=ps.rank(block) - 1)
  return _numerics.log_prob_of_ordered_scores(
      tf.gather(log_scores, order, batch_dims=ps.rank(block) - 1))


def _counts(partition):
  return tf.reduce_sum(partition, axis=-1)


class DifferentiableRandomPartition(
    distribution.AutoCompositeTensorDistribution):
  """Two-stage differentiable random partition model (DRPM).

  A batch of distributions over the partitions of `n` elements into `K`
  ordered, possibly empty subsets. The event is the assignment matrix `Y`
  `[K, n]` (`Y[k, i] = 1` iff element `i` is in subset `k`). Shapes:
  `log_weights` `[..., K]`, `log_scores` `[..., n]`, `temperature` `[...]`,
  broadcast against each other's batch dimensions.

  `sample` is differentiable w.r.t. both parameters (and `temperature`); with
  `hard=True` (default) every sample is an exact partition (one-hot columns,
  row sums = sampled counts) with straight-through gradients.
  `sample_components` also returns the sampled counts and permutation.
  `log_prob(Y)` is the exact `log p(Y)`; the terms of Lemma 4 are available
  one by one (`log_prob_counts`, `log_num_orderings`,
  `log_max_ordering_prob`, `log_max_permutation_prob`) and combined in
  `log_prob_lower_bound` / `log_prob_upper_bound`. A subset whose log-weight
  is `-inf` is masked out: it is empty with probability 1.

  #### Mathematical Details

  Sampling has two stages ([1], Definition 1 and Proposition 3):

  1. subset sizes `n ~ MVHG(w)`, Fisher's noncentral multivariate
     hypergeometric with `m_k = n` balls per subset and `n` draws
     (`counts_distribution`);
  2. an order `pi ~ PL(s)` of the elements (`permutation_distribution`);

  then subset `k` holds the elements at ranks `[c_{k-1}, c_k)`,
  `c_k = n_1 + ... + n_k`, i.e. `Y = B(n) pi` with the block matrix
  `B[k, r] = 1[c_{k-1} <= r < c_k]`. For relaxed counts
  `B[k, r] = clip(c_k - r, 0, 1) - clip(c_{k-1} - r, 0, 1)`, the fraction of
  rank slot `[r, r + 1)` covered by block `k`, which is exact for integer
  counts and differentiable in them. With `hard=True`, `B pi` is a gather
  (`O(K n)`); its gradient is that of `B pi_tau` with the NeuralSort matrix
  `pi_tau` (`O(K n^2)`, no `n x n x n` tensor is ever formed). The exact MVHG
  tables cost `O(K^2 n)` per parameter set and are shared by all samples.

  The exact likelihood is `p(Y) = p(n; w) sum_{pi in Pi_Y} p(pi; s)` ([1],
  eq. 2). Under Plackett-Luce the next `|S|` ranks hold exactly the set `S` of
  the remaining set `R = S + T` with probability (an exponential race,
  `s_T = sum_{j in T} s_j`)

  ```none
  I(S, T) = int_0^1 prod_{i in S} (1 - u^{s_i / s_T}) du,    I(S, {}) = 1,
  ```

  so `p(Y) = p(n; w) prod_k I(S_k, S_{k+1} + ... + S_K)`. Substituting
  `u = exp(-e^v)` gives an integrand that is smooth and decays double
  exponentially for `v -> +inf` and at least exponentially for `v -> -inf`, so
  the trapezoidal rule on a fixed grid in `v` converges geometrically. It is
  evaluated in log space and normalized by the same rule applied to the empty
  product (whose integral is exactly 1), which cancels most discretization
  error.

  Lemma 4 of [1] bounds `p(Y)` by `p(n; w) p(pi; s)` for any `pi` in
  `Pi_Y` (the orders that produce `Y`) from below and by
  `|Pi_Y| p(n; w) max_pi p(pi; s)` from above, `|Pi_Y| = prod_k n_k!`. The
  bounds here take the maximum over `Pi_Y` (each subset sorted by decreasing
  score), which is tighter than the global maximum and still valid;
  `log_max_permutation_prob` gives the global one.

  #### Examples

  ```python
  import tensorflow as tf
  from drpm_tf.distributions import DifferentiableRandomPartition

  log_weights = tf.Variable([0., 1., -1.])         # K = 3 subsets
  log_scores = tf.Variable(tf.linspace(-2., 2., 8))  # n = 8 elements
  with tf.GradientTape() as tape:
    drpm = DifferentiableRandomPartition(log_weights, log_scores,
                                         temperature=0.5)
    sample = drpm.sample_components(16, seed=(1, 2))
    y = sample.partition                            # [16, 3, 8], one-hot columns
    loss = tf.reduce_sum(y * tf.random.normal([3, 8]))
  tape.gradient(loss, [log_weights, log_scores])   # both finite
  drpm.log_prob(tf.stop_gradient(y))               # exact log p(Y), [16]
  drpm.log_prob_counts(sample.counts)              # log p(n; w)
  # Mask the last subset out: it is always empty.
  DifferentiableRandomPartition([0., 1., -float('inf')], log_scores, 0.5)
  ```

  #### References

  [1]: Thomas M. Sutter, Alain Ryser, Joram Liebeskind, Julia E. Vogt.
       Variational Partitioning. Published as: Differentiable Random Partition
       Models. Advances in Neural Information Processing Systems 36 (NeurIPS),
       2023. https://arxiv.org/abs/2305.16841

  [2]: Thomas M. Sutter, Laura Manduchi, Alain Ryser, Julia E. Vogt. Learning
       Group Importance using the Differentiable Hypergeometric Distribution.
       International Conference on Learning Representations (ICLR), 2023.
       https://arxiv.org/abs/2203.01629

  [3]: Aditya Grover, Eric Wang, Aaron Zweig, Stefano Ermon. Stochastic
       Optimization of Sorting Networks via Continuous Relaxations.
       International Conference on Learning Representations (ICLR), 2019.
       https://arxiv.org/abs/1903.08850
  """

  def __init__(self, log_weights, log_scores, temperature, hard=True,
               validate_args=False, allow_nan_stats=True,
               name='DifferentiableRandomPartition'):
    """Builds a batch of DRPMs.

    Args:
      log_weights: `[..., K]` log group importances `log w`; `-inf` masks a
        subset out (at least one must be finite).
      log_scores: `[..., n]` log element scores `log s`.
      temperature: `[...]` positive relaxation temperature (MVHG and PL).
      hard: Python `bool`: straight-through hard partitions (default) or soft
        ones.
      validate_args: Python `bool`: check parameters (and `log_prob` inputs)
        at run time, including after a `tf.Variable` parameter changes.
        Passed on to `counts_distribution` and `permutation_distribution`.
      allow_nan_stats: see `tfp.distributions.Distribution`; passed on too.
      name: op name scope.

    Raises:
      TypeError: if the parameters are not float32 or float64.
      ValueError: if `log_weights` or `log_scores` has no static last
        dimension >= 1, or the batch shapes do not broadcast.
    """
    parameters = dict(locals())
    with tf.name_scope(name) as name:
      dtype = _numerics.parameter_dtype(log_weights=log_weights,
                                        log_scores=log_scores,
                                        temperature=temperature)
      self._log_weights = tensor_util.convert_nonref_to_tensor(
          log_weights, dtype=dtype, name='log_weights')
      self._log_scores = tensor_util.convert_nonref_to_tensor(
          log_scores, dtype=dtype, name='log_scores')
      self._temperature = tensor_util.convert_nonref_to_tensor(
          temperature, dtype=dtype, name='temperature')
      self._num_subsets = _numerics.static_last_dim(self._log_weights,
                                                    'log_weights')
      self._num_elements = _numerics.static_last_dim(self._log_scores,
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
    # pylint: disable=g-long-lambda
    return dict(
        log_weights=parameter_properties.ParameterProperties(
            event_ndims=1, shape_fn=lambda sample_shape: sample_shape[:-1]),
        log_scores=parameter_properties.ParameterProperties(
            event_ndims=1,
            shape_fn=lambda sample_shape: ps.concat(
                [sample_shape[:-2], sample_shape[-1:]], axis=0)),
        temperature=parameter_properties.ParameterProperties(
            shape_fn=lambda sample_shape: sample_shape[:-2],
            default_constraining_bijector_fn=(
                lambda: softplus_bijector.Softplus(low=dtype_util.eps(dtype)))))
    # pylint: enable=g-long-lambda

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
    """The relaxed MVHG over subset sizes (`m_k = n` balls, `n` draws)."""
    log_weights = self._log_weights if log_weights is None else log_weights
    temperature = self._temperature if temperature is None else temperature
    n = tf.constant(self._num_elements, self.dtype)
    return mvhg.RelaxedNoncentralMultivariateHypergeometric(
        temperature=temperature,
        total_count=n,
        num_balls=tf.fill([self._num_subsets], n),
        log_weights=log_weights,
        hard=self._hard,
        validate_args=self.validate_args,
        allow_nan_stats=self.allow_nan_stats)

  def permutation_distribution(self, log_scores=None, temperature=None):
    """The relaxed Plackett-Luce over the element order."""
    return plackett_luce.RelaxedPlackettLuce(
        temperature=self._temperature if temperature is None else temperature,
        log_scores=self._log_scores if log_scores is None else log_scores,
        hard=self._hard,
        validate_args=self.validate_args,
        allow_nan_stats=self.allow_nan_stats)

  def _sample_components_n(self, n, seed, with_permutation=True):
    log_weights, log_scores, temperature = self._broadcast_params()
    counts_seed, permutation_seed = samplers.split_seed(
        samplers.sanitize_seed(seed), n=2)
    counts = self.counts_distribution(log_weights, temperature).sample(
        n, seed=counts_seed)
    # The Plackett-Luce stage, from the same noise as
    # `permutation_distribution().sample(n, seed=permutation_seed)`: the
    # partition needs the perturbed scores themselves.
    perturbed = log_scores + _numerics.gumbel(
        ps.concat([[n], ps.shape(log_scores)], 0), self.dtype,
        samplers.sanitize_seed(permutation_seed))
    order = _neural_sort.descending_order(perturbed)
    blocks = _blocks(counts, self._num_elements)
    if self._hard:
      partition = _neural_sort.straight_through_sort_product(
          blocks, perturbed, temperature, order)
      permutation = (_neural_sort.straight_through_sort(
          perturbed, temperature, order) if with_permutation else None)
    else:
      permutation = _neural_sort.neural_sort(perturbed, temperature, order)
      partition = tf.matmul(blocks, permutation)
    return DRPMSample(partition, counts, permutation)

  def _sample_n(self, n, seed=None):
    return self._sample_components_n(n, seed,
                                     with_permutation=False).partition

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
      [n, n]`; `partition == B(counts) @ permutation`. Inside a `tf.function`
      an unused `permutation` costs nothing; `sample` never forms it.
    """
    with self._name_and_control_scope(name):
      sample_shape = ps.reshape(
          ps.convert_to_shape_tensor(sample_shape, dtype=tf.int32), [-1])
      sample = self._sample_components_n(ps.reduce_prod(sample_shape), seed)
      return DRPMSample(*[
          tf.reshape(x, ps.concat([sample_shape, ps.shape(x)[1:]], 0))
          for x in sample])

  def _log_prob(self, partition):
    partition = tf.convert_to_tensor(partition, dtype=self.dtype)
    return (self.counts_distribution().log_prob(_counts(partition)) +
            _log_block_integrals(partition, self._log_scores))

  def log_prob_counts(self, counts, name='log_prob_counts'):
    """`log p(n; w)`: the exact MVHG log-probability of subset sizes.

    Args:
      counts: `[..., K]` subset sizes (e.g. `DRPMSample.counts`, or
        `tf.reduce_sum(Y, -1)`), broadcasting with the batch. Gradients flow
        through straight-through counts.
      name: op name scope.

    Returns:
      `log p(n; w)`, shape `broadcast(counts.shape[:-1], batch_shape)`.
    """
    with self._name_and_control_scope(name):
      log_prob = self.counts_distribution().log_prob(counts)
      # The counts do not depend on `log_scores`, whose batch dims still count.
      return log_prob + tf.zeros(self.batch_shape_tensor(), self.dtype)

  def log_num_orderings(self, partition=None, counts=None,
                        name='log_num_orderings'):
    """`log |Pi_Y| = sum_k log(n_k!)` ([1], eq. 3), from `Y` or its counts.

    Args:
      partition: `[..., K, n]` assignment matrices `Y`; or else
      counts: `[..., K]` their subset sizes (gradients flow through
        straight-through counts).
      name: op name scope.

    Returns:
      `log |Pi_Y|`, shape `partition.shape[:-2]` (or `counts.shape[:-1]`).
    """
    if (partition is None) == (counts is None):
      raise ValueError('Pass exactly one of `partition` and `counts`.')
    with self._name_and_control_scope(name):
      if counts is None:
        counts = _counts(tf.convert_to_tensor(partition, dtype=self.dtype))
      counts = tf.convert_to_tensor(counts, dtype=self.dtype)
      return tf.reduce_sum(tf.math.lgamma(counts + 1.), axis=-1)

  def log_max_ordering_prob(self, partition, name='log_max_ordering_prob'):
    """`max_{pi in Pi_Y} log p(pi; s)`: the most likely order producing `Y`.

    The maximum is attained by sorting each subset by decreasing score.

    Args:
      partition: `[..., K, n]` hard assignment matrices `Y`.
      name: op name scope.

    Returns:
      Shape `broadcast(partition.shape[:-2], batch_shape)`.
    """
    with self._name_and_control_scope(name):
      return _max_log_prob_ordering(
          tf.convert_to_tensor(partition, dtype=self.dtype), self._log_scores)

  def log_max_permutation_prob(self, name='log_max_permutation_prob'):
    """`max_pi log p(pi; s)` over all orders (the mode's), shape `batch_shape`.

    The global maximum in the upper bound of Lemma 4 as the paper writes it;
    e.g. `log_max_permutation_prob() + lgamma(n + 1)` is the KL divergence of
    a point mass on the mode from the uniform order distribution.
    """
    with self._name_and_control_scope(name):
      ordered = tf.sort(self._log_scores, axis=-1, direction='DESCENDING')
      return tf.broadcast_to(_numerics.log_prob_of_ordered_scores(ordered),
                             self.batch_shape_tensor())

  def log_prob_lower_bound(self, partition, name='log_prob_lower_bound'):
    """Lemma 4: `log p(n) + max_{pi in Pi_Y} log p(pi)` <= `log p(Y)`."""
    with self._name_and_control_scope(name):
      partition = tf.convert_to_tensor(partition, dtype=self.dtype)
      return (self.log_prob_counts(_counts(partition)) +
              self.log_max_ordering_prob(partition))

  def log_prob_upper_bound(self, partition, name='log_prob_upper_bound'):
    """Lemma 4: `log p(Y)` <= `log |Pi_Y| + log p(n) + max_{pi in Pi_Y} log p(pi)`."""
    with self._name_and_control_scope(name):
      partition = tf.convert_to_tensor(partition, dtype=self.dtype)
      return (self.log_prob_lower_bound(partition) +
              self.log_num_orderings(partition))

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
    if is_init != tensor_util.is_ref(self._log_weights):
      log_weights = tf.convert_to_tensor(self._log_weights)
      assertions += [
          assert_util.assert_equal(
              tf.reduce_all(~tf.math.is_nan(log_weights) &
                            (log_weights < np.inf)), True,
              message='Argument `log_weights` must be finite, or -inf to '
              'mask a subset out (got NaN or +inf).'),
          assert_util.assert_equal(
              tf.reduce_all(tf.reduce_any(log_weights > -np.inf, axis=-1)),
              True, message='Argument `log_weights` must not mask out '
              '(with -inf) every subset.'),
      ]
    if is_init != tensor_util.is_ref(self._log_scores):
      assertions.append(assert_util.assert_equal(
          tf.reduce_all(tf.math.is_finite(self._log_scores)), True,
          message='Argument `log_scores` must be finite.'))
    if is_init != tensor_util.is_ref(self._temperature):
      assertions.append(assert_util.assert_positive(
          self._temperature, message='Argument `temperature` must be > 0'))
    return assertions

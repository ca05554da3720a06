"""Relaxed Plackett-Luce distribution over permutation matrices (NeuralSort)."""

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

__all__ = ['RelaxedPlackettLuce']


def _sort_permutation(values, dtype):
  """Hard permutation matrix sorting `values` `[..., n]` decreasingly (stable)."""
  return tf.one_hot(_neural_sort.descending_order(values),
                    depth=values.shape[-1], dtype=dtype)


def _plackett_luce_log_prob(permutation, log_scores):
  """Exact PL log-probability of permutation matrices `[..., n, n]`."""
  return _numerics.log_prob_of_ordered_scores(
      tf.linalg.matvec(permutation, log_scores))


class RelaxedPlackettLuce(distribution.AutoCompositeTensorDistribution):
  """Plackett-Luce over permutation matrices, reparameterized by NeuralSort.

  A batch of distributions over the orderings of `n` elements with scores
  `s = exp(log_scores)`. The event is a permutation matrix `[n, n]` whose row
  `r` is the one-hot of the element at rank `r` (largest perturbed score
  first). `sample` is differentiable w.r.t. `log_scores` (and `temperature`);
  `log_prob(pi)` is the exact Plackett-Luce log-probability of a hard
  permutation matrix; `mode()` is the permutation sorting `log_scores`
  decreasingly.

  #### Mathematical Details

  The Plackett-Luce probability of the order `pi` ([1], [2]; [4], eq. 11-12) is

  ```none
  p(pi; s) = prod_{r=1}^{n} (pi s)_r / sum_{j>=r} (pi s)_j.
  ```

  A sample perturbs the log-scores with standard Gumbel noise,
  `s~ = log s + g`, and sorts them decreasingly; the order obtained has
  exactly the law above. The relaxation is NeuralSort ([3]; [4], eq. 26):

  ```none
  pi_tau[r, :] = softmax(((n + 1 - 2r) s~ - A_{s~} 1) / tau),  A[i, j] = |s~_i - s~_j|.
  ```

  With `hard=True` (default) the returned matrix is the exact permutation
  obtained by a stable argsort of `s~` (always a valid permutation, even under
  ties) and carries the NeuralSort gradient (straight-through); with
  `hard=False` it is `pi_tau`, which tends to the hard permutation as
  `tau -> 0`. Shapes: `log_scores` `[..., n]`, `temperature` `[...]`
  (broadcast against the batch).

  #### Examples

  ```python
  import tensorflow as tf
  from drpm_tf.distributions import RelaxedPlackettLuce

  log_scores = tf.Variable([2., 0., -1.])
  with tf.GradientTape() as tape:
    dist = RelaxedPlackettLuce(temperature=0.5, log_scores=log_scores)
    perm = dist.sample(4, seed=(1, 2))       # [4, 3, 3] permutation matrices
    loss = tf.reduce_sum(perm[..., 0, :] * [1., 2., 3.])  # who ranks first
  tape.gradient(loss, log_scores)          # NeuralSort gradient
  dist.log_prob(tf.stop_gradient(perm))    # exact PL log-probabilities, [4]
  dist.mode()                              # the identity: scores are sorted
  ```

  #### References

  [1]: R. L. Plackett. The Analysis of Permutations. Journal of the Royal
       Statistical Society, Series C (Applied Statistics), 24(2):193-202, 1975.

  [2]: R. Duncan Luce. Individual Choice Behavior: A Theoretical Analysis.
       John Wiley & Sons, 1959.

  [3]: Aditya Grover, Eric Wang, Aaron Zweig, Stefano Ermon. Stochastic
       Optimization of Sorting Networks via Continuous Relaxations.
       International Conference on Learning Representations (ICLR), 2019.
       https://arxiv.org/abs/1903.08850

  [4]: Thomas M. Sutter, Alain Ryser, Joram Liebeskind, Julia E. Vogt.
       Variational Partitioning. Published as: Differentiable Random Partition
       Models. Advances in Neural Information Processing Systems 36 (NeurIPS),
       2023. https://arxiv.org/abs/2305.16841
  """

  def __init__(self, temperature, log_scores, hard=True, validate_args=False,
               allow_nan_stats=True, name='RelaxedPlackettLuce'):
    """Builds a batch of relaxed Plackett-Luce distributions.

    Args:
      temperature: `[...]` positive NeuralSort temperature.
      log_scores: `[..., n]` log-scores `log s` of the `n` elements.
      hard: Python `bool`: return straight-through hard permutations (default)
        or the soft NeuralSort matrices.
      validate_args: Python `bool`: check parameters (and `log_prob` inputs)
        at run time, including after a `tf.Variable` parameter changes.
      allow_nan_stats: see `tfp.distributions.Distribution`.
      name: op name scope.

    Raises:
      TypeError: if the parameters are not float32 or float64.
      ValueError: if `log_scores` has no static last dimension `n >= 1`, or
        the batch shapes do not broadcast.
    """
    parameters = dict(locals())
    with tf.name_scope(name) as name:
      dtype = _numerics.parameter_dtype(log_scores=log_scores,
                                        temperature=temperature)
      self._log_scores = tensor_util.convert_nonref_to_tensor(
          log_scores, dtype=dtype, name='log_scores')
      self._temperature = tensor_util.convert_nonref_to_tensor(
          temperature, dtype=dtype, name='temperature')
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
        temperature=parameter_properties.ParameterProperties(
            shape_fn=lambda sample_shape: sample_shape[:-2],
            default_constraining_bijector_fn=(
                lambda: softplus_bijector.Softplus(low=dtype_util.eps(dtype)))),
        log_scores=parameter_properties.ParameterProperties(
            event_ndims=1, shape_fn=lambda sample_shape: sample_shape[:-1]))
    # pylint: enable=g-long-lambda

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
    return tf.TensorShape([self._num_elements, self._num_elements])

  def _event_shape_tensor(self):
    return tf.constant([self._num_elements, self._num_elements], tf.int32)

  def _sample_n(self, n, seed=None):
    batch_shape = self.batch_shape_tensor()
    log_scores = tf.broadcast_to(
        self._log_scores, ps.concat([batch_shape, [self._num_elements]], 0))
    temperature = tf.broadcast_to(self._temperature, batch_shape)
    perturbed = log_scores + _numerics.gumbel(
        ps.concat([[n], ps.shape(log_scores)], 0), self.dtype,
        samplers.sanitize_seed(seed))
    if self._hard:
      return _neural_sort.straight_through_sort(perturbed, temperature)
    return _neural_sort.neural_sort(perturbed, temperature)

  def _log_prob(self, permutation):
    permutation = tf.convert_to_tensor(permutation, dtype=self.dtype)
    return _plackett_luce_log_prob(permutation, self._log_scores)

  def _mode(self):
    log_scores = tf.broadcast_to(
        self._log_scores,
        ps.concat([self.batch_shape_tensor(), [self._num_elements]], 0))
    return _sort_permutation(log_scores, self.dtype)

  def _default_event_space_bijector(self):
    return None

  def _sample_control_dependencies(self, permutation):
    if not self.validate_args:
      return []
    return _permutation_assertions(
        tf.convert_to_tensor(permutation, dtype=self.dtype), 'permutation')

  def _parameter_control_dependencies(self, is_init):
    if is_init:
      if self._num_elements < 1:
        raise ValueError('Argument `log_scores` must have a final dimension '
                         f'n >= 1 (number of elements), got '
                         f'{self._num_elements}.')
      try:
        tf.broadcast_static_shape(self._log_scores.shape[:-1],
                                  self._temperature.shape)
      except ValueError as e:
        raise ValueError(
            'Arguments `temperature` [...] and `log_scores` [..., n] must have '
            f'broadcastable batch shapes, got {self._temperature.shape} and '
            f'{self._log_scores.shape}.') from e
    assertions = []
    if not self.validate_args:
      return assertions
    if is_init != tensor_util.is_ref(self._log_scores):
      assertions.append(assert_util.assert_equal(
          tf.reduce_all(tf.math.is_finite(self._log_scores)), True,
          message='Argument `log_scores` must be finite.'))
    if is_init != tensor_util.is_ref(self._temperature):
      assertions.append(assert_util.assert_positive(
          self._temperature, message='Argument `temperature` must be > 0'))
    return assertions


def _permutation_assertions(permutation, name):
  """Run-time checks that `permutation` `[..., n, n]` is a permutation matrix."""
  ones = tf.ones([], permutation.dtype)
  message = (f'Argument `{name}` must be a permutation matrix (0/1 entries, '
             'every row and column summing to 1).')
  return [
      assert_util.assert_equal(
          tf.reduce_all((permutation == 0.) | (permutation == ones)), True,
          message=message),
      assert_util.assert_equal(tf.reduce_sum(permutation, axis=-1), ones,
                               message=message),
      assert_util.assert_equal(tf.reduce_sum(permutation, axis=-2), ones,
                               message=message),
  ]

"""Relaxed Plackett-Luce distribution over permutation matrices (NeuralSort).

Elements `i = 1..n` have scores `s_i = exp(log_scores[i])`. A sample perturbs
the log-scores with standard Gumbel noise, `s~ = log s + g`, and sorts them in
decreasing order; the result is a Plackett-Luce permutation (paper eq. 11-12):

```none
p(pi; s) = prod_{r=1}^{n} (pi s)_r / sum_{j>=r} (pi s)_j
```

The event is the permutation matrix `pi` `[n, n]` whose row `r` is the one-hot
of the element at rank `r` (largest perturbed score first).

The relaxation is NeuralSort (Grover et al., 2019; paper eq. 26):

```none
pi_tau[r, :] = softmax(((n + 1 - 2r) s~ - A_{s~} 1) / tau),   A[i, j] = |s~_i - s~_j|
```

With `hard=True` the returned matrix is the exact permutation obtained by a
stable argsort of `s~` (always a valid permutation, even under ties) and carries
the NeuralSort gradient (straight-through). `log_prob` is the exact PL
log-probability of a hard permutation matrix.
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

__all__ = ['RelaxedPlackettLuce']


def _sort_permutation(values, dtype):
  """Hard permutation matrix sorting `values` `[..., n]` decreasingly (stable)."""
  order = tf.argsort(values, axis=-1, direction='DESCENDING', stable=True)
  return tf.one_hot(order, depth=values.shape[-1], dtype=dtype)


def _neural_sort(values, temperature):
  """NeuralSort relaxation `[..., n, n]` of the decreasing sort of `values`."""
  n = values.shape[-1]
  pairwise = tf.reduce_sum(
      tf.abs(values[..., :, None] - values[..., None, :]), axis=-1)  # A 1
  scaling = tf.constant(n + 1 - 2 * np.arange(1, n + 1), values.dtype)
  logits = scaling[:, None] * values[..., None, :] - pairwise[..., None, :]
  return tf.nn.softmax(logits / temperature[..., None, None], axis=-1)


def _log_prob_of_ordered_scores(ordered):
  """PL log-probability of an order, given its log-scores `[..., n]` in order."""
  return tf.reduce_sum(
      ordered - tf.math.cumulative_logsumexp(ordered, axis=-1, reverse=True),
      axis=-1)


def _plackett_luce_log_prob(permutation, log_scores):
  """Exact PL log-probability of permutation matrices `[..., n, n]`."""
  return _log_prob_of_ordered_scores(tf.linalg.matvec(permutation, log_scores))


class RelaxedPlackettLuce(distribution.Distribution):
  """Plackett-Luce over permutation matrices, reparameterized by NeuralSort.

  Shapes: `log_scores`: `[..., n]`; `temperature`: `[...]`; event `[n, n]`.
  `sample` is differentiable w.r.t. `log_scores`; `log_prob(pi)` is the exact
  PL log-probability of a hard permutation matrix; `mode()` is the permutation
  sorting `log_scores` decreasingly.
  """

  def __init__(self, temperature, log_scores, hard=True, validate_args=False,
               allow_nan_stats=True, name='RelaxedPlackettLuce'):
    """Builds a batch of relaxed Plackett-Luce distributions.

    Args:
      temperature: `[...]` positive NeuralSort temperature.
      log_scores: `[..., n]` log-scores `log s` of the `n` elements.
      hard: return straight-through hard permutations (default) or the soft
        NeuralSort matrices.
      validate_args: check parameters (and `log_prob` inputs) at run time.
      allow_nan_stats: see `tfp.distributions.Distribution`.
      name: op name scope.
    """
    parameters = dict(locals())
    with tf.name_scope(name) as name:
      dtype = dtype_util.common_dtype([temperature, log_scores],
                                      dtype_hint=tf.float32)
      if not dtype_util.is_floating(dtype):
        raise TypeError('Argument `log_scores` must have a floating dtype, '
                        f'got {dtype}.')
      self._log_scores = tensor_util.convert_nonref_to_tensor(
          log_scores, dtype=dtype, name='log_scores')
      self._temperature = tensor_util.convert_nonref_to_tensor(
          temperature, dtype=dtype, name='temperature')
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
        temperature=parameter_properties.ParameterProperties(
            default_constraining_bijector_fn=parameter_properties
            .BIJECTOR_NOT_IMPLEMENTED),
        log_scores=parameter_properties.ParameterProperties(event_ndims=1))

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
    noise = _numerics._gumbel(  # pylint: disable=protected-access
        ps.concat([[n], ps.shape(log_scores)], 0), self.dtype,
        samplers.sanitize_seed(seed))
    perturbed = log_scores + noise
    soft = _neural_sort(perturbed, temperature)
    if not self._hard:
      return soft
    hard = _sort_permutation(perturbed, self.dtype)
    # Parenthesized so the forward value is exactly the hard permutation.
    return hard + (soft - tf.stop_gradient(soft))

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
    if is_init and self._num_elements < 1:
      raise ValueError('Argument `log_scores` must have a final dimension '
                       f'n >= 1 (number of elements), got {self._num_elements}.')
    if is_init:
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
          self._temperature, message='Argument `temperature` must be > 0.'))
    return assertions


def _permutation_assertions(permutation, name):
  """Run-time checks that `permutation` `[..., n, n]` is a permutation matrix."""
  ones = tf.ones([], permutation.dtype)
  message = f'Argument `{name}` must be a permutation matrix ' \
            '(0/1 entries, every row and column summing to 1).'
  return [
      assert_util.assert_equal(
          tf.reduce_all((permutation == 0.) | (permutation == ones)), True,
          message=message),
      assert_util.assert_equal(tf.reduce_sum(permutation, axis=-1), ones,
                               message=message),
      assert_util.assert_equal(tf.reduce_sum(permutation, axis=-2), ones,
                               message=message),
  ]

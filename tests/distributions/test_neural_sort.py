"""NeuralSort with the analytic gradient against TFP's autodiff reference.

`tfp.math.soft_sorting_matrix` builds the same relaxation from the pairwise
`|s_i - s_j|` matrix and is differentiated by autodiff: it shares no code with
`_neural_sort`, whose `A 1` term comes from a sort and whose gradient is
written out. Values, gradients w.r.t. the values and w.r.t. the temperature
must all agree.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from drpm_tf.distributions import _neural_sort


def _reference_and_ours(values, temperature, upstream, fn):
  values = tf.constant(values)
  temperature = tf.constant(temperature)
  results = []
  for sort in (lambda v, t: tfp.math.soft_sorting_matrix(v, t[..., None, None]),
               fn):
    with tf.GradientTape() as tape:
      tape.watch([values, temperature])
      matrix = sort(values, temperature)
      loss = tf.reduce_sum(matrix * upstream)
    results.append((matrix.numpy(),
                    *[g.numpy() for g in tape.gradient(loss, [values,
                                                              temperature])]))
  return results


@pytest.mark.parametrize('dtype,atol', [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_soft_matrix_and_gradients_match_tfp(dtype, atol):
  rng = np.random.default_rng(0)
  values = (rng.normal(size=(3, 2, 7)) * 2.).astype(dtype)
  temperature = np.array([0.3, 1.7], dtype)  # broadcasts over the first axis
  upstream = rng.normal(size=(3, 2, 7, 7)).astype(dtype)
  (ref, ref_values, ref_temp), (ours, our_values, our_temp) = (
      _reference_and_ours(values, np.broadcast_to(temperature, (3, 2)),
                          upstream, _neural_sort.neural_sort))
  np.testing.assert_allclose(ours, ref, atol=atol)
  np.testing.assert_allclose(our_values, ref_values, atol=atol * 10)
  np.testing.assert_allclose(our_temp, ref_temp, atol=atol * 10)
  assert np.abs(ref_values).max() > 0.1 and np.abs(ref_temp).max() > 0.1
  # A temperature that broadcasts receives the summed gradient.
  with tf.GradientTape() as tape:
    small = tf.constant(temperature)
    tape.watch(small)
    loss = tf.reduce_sum(_neural_sort.neural_sort(values, small) * upstream)
  np.testing.assert_allclose(tape.gradient(loss, small).numpy(),
                             ref_temp.sum(0), atol=atol * 30)


def test_straight_through_value_is_the_sort_and_gradient_is_neural_sorts():
  rng = np.random.default_rng(1)
  values = rng.normal(size=(4, 9))
  values[0, 3] = values[0, 5]  # a tie: the stable order puts 3 first
  upstream = rng.normal(size=(4, 9, 9))
  (_, ref_values, ref_temp), (hard, our_values, our_temp) = (
      _reference_and_ours(values, np.full(4, 0.5), upstream,
                          _neural_sort.straight_through_sort))
  order = np.argsort(-values, axis=-1, kind='stable')
  np.testing.assert_array_equal(hard, np.eye(9)[order])
  finite = np.ones(4, bool)
  finite[0] = False  # |s_i - s_j| has no derivative at the tie
  np.testing.assert_allclose(our_values[finite], ref_values[finite],
                             atol=1e-10)
  np.testing.assert_allclose(our_temp[finite], ref_temp[finite], atol=1e-10)


def test_straight_through_product_matches_the_matrix_product():
  """`left @ P` by a gather, against the explicit straight-through product."""
  rng = np.random.default_rng(2)
  left = tf.constant(rng.uniform(size=(3, 2, 4, 8)))  # fractional blocks too
  values = tf.constant(rng.normal(size=(3, 2, 8)))
  temperature = tf.constant([0.4, 0.9], tf.float64)
  upstream = rng.normal(size=(3, 2, 4, 8))

  def reference(left, values, temperature):
    soft = tfp.math.soft_sorting_matrix(values, temperature[..., None, None])
    order = np.argsort(-values.numpy(), axis=-1, kind='stable')
    hard = tf.constant(np.eye(8)[order])
    return tf.matmul(left, hard + (soft - tf.stop_gradient(soft)))

  results = []
  for product in (reference, _neural_sort.straight_through_sort_product):
    with tf.GradientTape() as tape:
      tape.watch([left, values, temperature])
      out = product(left, values, temperature)
      loss = tf.reduce_sum(out * upstream)
    results.append([out.numpy()] + [
        g.numpy() for g in tape.gradient(loss, [left, values, temperature])])
  for want, got in zip(*results):
    np.testing.assert_allclose(got, want, atol=1e-10)
  assert np.abs(results[0][2]).max() > 0.1  # the values' gradient is not 0

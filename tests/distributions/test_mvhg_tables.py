"""The two exact ways of computing the MVHG suffix tables agree.

`_suffix_log_tables` convolves class polynomials in log space (any num_balls);
`_equal_balls_suffix_log_tables` uses the power recurrence for equal num_balls
(the DRPM's case). Both must give the same values and the same gradients.
"""

import numpy as np
import pytest
import tensorflow as tf

from drpm_tf.distributions import mvhg


def _tables_both_ways(log_weights, num_balls, size, first):
  lw = tf.constant(log_weights)
  upstream = np.random.default_rng(1).normal(size=(log_weights.shape[-1],
                                                   size))
  results = []
  for fast in (False, True):
    with tf.GradientTape() as tape:
      tape.watch(lw)
      if fast:
        tables = mvhg._equal_balls_suffix_log_tables(lw, num_balls, size, first)
      else:
        terms = mvhg._class_log_terms(
            tf.fill(tf.shape(lw), tf.constant(num_balls, lw.dtype)), lw, size)
        tables = mvhg._suffix_log_tables(terms, first)
      present = [t for t in tables if t is not None]
      stacked = tf.stack(present, axis=-2)
      loss = tf.reduce_sum(tf.where(tf.math.is_finite(stacked), stacked, 0.) *
                           upstream[-len(present):])
    results.append((stacked.numpy(), tape.gradient(loss, lw).numpy()))
  return results


@pytest.mark.parametrize('num_classes,num_balls,size,first', [
    (1, 4., 5, True), (2, 3., 5, True), (3, 6., 7, False), (4, 9., 10, True),
    (5, 4., 6, False),  # size - 1 = m + 1: the largest size the recurrence allows
])
def test_power_recurrence_matches_convolution_float64(num_classes, num_balls,
                                                      size, first):
  log_weights = np.random.default_rng(num_classes).normal(
      size=(3, num_classes)) * 2.
  (slow, slow_grad), (fast, fast_grad) = _tables_both_ways(
      log_weights, num_balls, size, first)
  np.testing.assert_array_equal(np.isfinite(slow), np.isfinite(fast))
  finite = np.isfinite(slow)
  np.testing.assert_allclose(fast[finite], slow[finite], rtol=1e-12, atol=1e-10)
  np.testing.assert_allclose(fast_grad, slow_grad, rtol=1e-9, atol=1e-9)


def test_power_recurrence_float32_large_n_and_spread():
  log_weights = np.random.default_rng(0).uniform(-50., 50., size=(2, 8))
  (slow, _), (fast, _) = _tables_both_ways(log_weights, 512., 513, True)
  (_, _), (fast32, grad32) = _tables_both_ways(
      log_weights.astype(np.float32), 512., 513, True)
  finite = np.isfinite(slow)
  np.testing.assert_allclose(fast[finite], slow[finite], rtol=1e-10)
  # float32: relative error of the log-tables stays small at n = 512.
  np.testing.assert_allclose(fast32[finite], slow[finite], rtol=1e-5, atol=1e-2)
  assert np.all(np.isfinite(grad32))


def test_both_paths_give_the_same_distribution(monkeypatch):
  dist = mvhg.RelaxedNoncentralMultivariateHypergeometric(
      0.5, 12., np.full([4], 12.), tf.constant([[0.5, -1., 2., 0.], [1., 0., 0., -3.]],
                                              tf.float64))
  counts = np.array([[3., 3., 3., 3.], [0., 0., 12., 0.]])
  seed = tf.constant([1, 2])
  results = []
  for threshold in (0, 10**9):  # recurrence, then convolutions
    monkeypatch.setattr(mvhg, '_CONVOLUTION_MAX_WORK', threshold)
    results.append((dist.log_prob(counts).numpy(),
                    dist.sample(20, seed=seed).numpy()))
  np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
  np.testing.assert_array_equal(results[0][1], results[1][1])


def test_equal_balls_fast_path_is_used_only_when_valid():
  drpm_like = mvhg.NoncentralMultivariateHypergeometric(6., [6., 6., 6.],
                                                        [0., 1., 2.])
  assert drpm_like._equal_num_balls() == 6.
  unequal = mvhg.NoncentralMultivariateHypergeometric(6., [6., 5., 6.],
                                                      [0., 1., 2.])
  assert unequal._equal_num_balls() is None
  too_many_draws = mvhg.NoncentralMultivariateHypergeometric(8., [4., 4., 4.],
                                                             [0., 1., 2.])
  assert too_many_draws._equal_num_balls() is None


@pytest.mark.parametrize('masked', [[1], [0, 3], [2, 3]])
def test_power_recurrence_matches_convolution_with_masked_classes(masked):
  log_weights = np.random.default_rng(7).normal(size=(2, 4)) * 2.
  log_weights[:, masked] = -np.inf
  (slow, slow_grad), (fast, fast_grad) = _tables_both_ways(
      log_weights, 6., 7, True)
  np.testing.assert_array_equal(np.isfinite(slow), np.isfinite(fast))
  finite = np.isfinite(slow)
  np.testing.assert_allclose(fast[finite], slow[finite], rtol=1e-12, atol=1e-10)
  assert np.all(np.isfinite(fast_grad))
  np.testing.assert_array_equal(fast_grad[:, masked], 0.)
  np.testing.assert_allclose(fast_grad, slow_grad, rtol=1e-9, atol=1e-9)

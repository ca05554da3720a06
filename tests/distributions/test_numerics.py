"""Tests of the log-space building blocks against direct numpy/scipy references."""

import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp

from drpm_tf.distributions import _numerics


@pytest.mark.parametrize('size', [1, 2, 7])
def test_log_convolve_value_and_gradient_match_direct_sums(size):
  rng = np.random.default_rng(size)
  f = rng.normal(size=(3, size)) * 3.
  e = rng.normal(size=(3, size)) * 3.
  e[0, -1] = -np.inf  # infeasible entries are allowed
  upstream = rng.normal(size=(3, size))
  want = np.array([[logsumexp([f[b, x] + e[b, t - x] for x in range(t + 1)])
                    for t in range(size)] for b in range(3)])
  f_t, e_t = tf.constant(f), tf.constant(e)
  with tf.GradientTape() as tape:
    tape.watch([f_t, e_t])
    out = _numerics.log_convolve(f_t, e_t)
    loss = tf.reduce_sum(tf.where(tf.math.is_finite(out), out, 0.) * upstream)
  np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)
  grad_f, grad_e = tape.gradient(loss, [f_t, e_t])
  # d out[t] / d f[x] = softmax weight of term x in row t; same for e[t - x].
  want_f, want_e = np.zeros_like(f), np.zeros_like(e)
  for b in range(3):
    for t in range(size):
      if not np.isfinite(want[b, t]):
        continue
      for x in range(t + 1):
        weight = np.exp(f[b, x] + e[b, t - x] - want[b, t]) * upstream[b, t]
        want_f[b, x] += weight
        want_e[b, t - x] += weight
  np.testing.assert_allclose(grad_f.numpy(), want_f, atol=1e-12)
  np.testing.assert_allclose(grad_e.numpy(), want_e, atol=1e-12)


def test_log_convolve_broadcasts_and_handles_all_infeasible_rows():
  f = tf.constant([0., -np.inf, -np.inf], tf.float64)
  e = tf.constant([[-np.inf, -np.inf, 1.], [0., 0., 0.]], tf.float64)
  with tf.GradientTape() as tape:
    tape.watch([f, e])
    out = _numerics.log_convolve(f, e)
    loss = tf.reduce_sum(tf.where(tf.math.is_finite(out), out, 0.))
  np.testing.assert_array_equal(out.numpy(), [[-np.inf, -np.inf, 1.], [0., 0., 0.]])
  for grad in tape.gradient(loss, [f, e]):
    assert np.all(np.isfinite(grad.numpy()))


def test_diagonal_sums():
  m = np.arange(16.).reshape(4, 4)
  want = [sum(m[t, t - y] for t in range(y, 4)) for y in range(4)]
  np.testing.assert_array_equal(
      _numerics.diagonal_sums(tf.constant(m)).numpy(), want)


@pytest.mark.parametrize('dtype,rtol', [(np.float64, 1e-13), (np.float32, 5e-6)])
def test_log1mexp_of_exp_accurate_over_the_whole_line(dtype, rtol):
  x = np.concatenate([np.linspace(-300., 5., 4001), np.linspace(5., 40., 50)])
  x = x.astype(dtype)
  got = _numerics.log1mexp_of_exp(tf.constant(x)).numpy()
  # Reference in extended precision where log(-expm1(-exp(x))) is accurate.
  xl = x.astype(np.longdouble)
  z = np.exp(xl)
  ref = np.where(xl < -30., xl - z / 2,
                 np.where(z < np.log(2.), np.log(-np.expm1(-z)),
                          np.log1p(-np.exp(-z))))
  finite = np.isfinite(ref) & (np.abs(ref) > 1e-30)
  np.testing.assert_allclose(got[finite], ref[finite].astype(np.float64),
                             rtol=rtol, atol=0.)
  with tf.GradientTape() as tape:
    xt = tf.constant(x)
    tape.watch(xt)
    y = _numerics.log1mexp_of_exp(xt)
  assert np.all(np.isfinite(tape.gradient(y, xt).numpy()))


def test_safe_logsumexp_zero_gradient_for_empty_rows():
  x = tf.constant([[-np.inf, -np.inf], [0., np.log(3.)]], tf.float64)
  with tf.GradientTape() as tape:
    tape.watch(x)
    out = _numerics.safe_logsumexp(x)
    loss = tf.reduce_sum(tf.where(tf.math.is_finite(out), out, 0.))
  np.testing.assert_allclose(out.numpy(), [-np.inf, np.log(4.)])
  np.testing.assert_allclose(tape.gradient(loss, x).numpy(),
                             [[0., 0.], [0.25, 0.75]])

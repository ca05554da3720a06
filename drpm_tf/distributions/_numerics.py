"""Numerically careful building blocks shared by the DRPM distributions.

Everything here works on log-space quantities that may legitimately be `-inf`
(an empty sum, an infeasible count) and keeps both values and gradients free of
NaN in that case, because the distributions feed these functions masked tensors.
"""

import numpy as np
import tensorflow as tf
from tensorflow_probability.python.internal import samplers

__all__ = []  # private module


def _safe_logsumexp(x, axis=-1, keepdims=False):
  """`log(sum(exp(x)))` that returns `-inf` with zero gradient for all-`-inf` rows.

  `tf.reduce_logsumexp` returns `-inf` for such rows but its gradient is NaN,
  which poisons every parameter upstream of a masked entry.
  """
  x_max = tf.stop_gradient(tf.reduce_max(x, axis=axis, keepdims=True))
  x_max = tf.where(tf.math.is_finite(x_max), x_max, tf.zeros([], x.dtype))
  total = tf.reduce_sum(tf.exp(x - x_max), axis=axis, keepdims=True)
  nonempty = total > 0.
  out = tf.where(nonempty,
                 tf.math.log(tf.where(nonempty, total, tf.ones([], x.dtype))) +
                 x_max,
                 tf.constant(-np.inf, x.dtype))
  if not keepdims:
    out = tf.squeeze(out, axis=axis)
  return out


def _lower_toeplitz(b):
  """`G[..., t, x] = b[..., t - x]` for `x <= t`, else `-inf`; `b` is `[..., T + 1]`.

  Built by the skew trick (each row of a flattened, repeated, `-inf`-padded
  reversed copy of `b` is shifted by one when re-read with one column fewer):
  only copies and reshapes, about 3x cheaper than a gather with a 2-D index.
  """
  size = b.shape[-1]
  batch = tf.shape(b)[:-1]
  padded = tf.concat(
      [tf.reverse(b, [-1]),
       tf.fill(tf.concat([batch, [size]], 0), tf.constant(-np.inf, b.dtype))],
      axis=-1)
  repeated = tf.broadcast_to(padded[..., None, :],
                             tf.concat([batch, [size, 2 * size]], 0))
  flat = tf.reshape(repeated, tf.concat([batch, [2 * size * size]], 0))
  skewed = tf.reshape(flat[..., :size * (2 * size - 1)],
                      tf.concat([batch, [size, 2 * size - 1]], 0))
  return skewed[..., size - 1:]


def _toeplitz_terms(a, b):
  """`terms[..., t, x] = a[..., x] + b[..., t - x]` for `x <= t`, else `-inf`."""
  return a[..., None, :] + _lower_toeplitz(b)


def _diagonal_sums(m):
  """`D[..., y] = sum_t m[..., t, t - y]` for `m` `[..., T + 1, T + 1]`, `y = 0..T`.

  The inverse skew trick: rows of the column-reversed, zero-padded matrix are
  re-read with one column fewer, which aligns each diagonal with a column.
  """
  size = m.shape[-1]
  batch = tf.shape(m)[:-2]
  padded = tf.concat(
      [tf.reverse(m, [-1]),
       tf.zeros(tf.concat([batch, [size, size]], 0), m.dtype)], axis=-1)
  flat = tf.reshape(padded, tf.concat([batch, [2 * size * size]], 0))
  skewed = tf.reshape(flat[..., :size * (2 * size - 1)],
                      tf.concat([batch, [size, 2 * size - 1]], 0))
  return tf.reduce_sum(skewed[..., size - 1:], axis=-2)


@tf.custom_gradient
def _log_convolve_same_shape(f, e):
  """`_log_convolve` for equal shapes, with a gradient that stores nothing.

  With softmax weights `W[t, x] = exp(f[x] + e[t - x] - out[t])`, the gradient
  w.r.t. `f[x]` is `sum_t g[t] W[t, x]` (a column sum) and w.r.t. `e[y]` is the
  sum of `g[t] W[t, x]` along the diagonal `t - x = y`. Recomputing `W` in the
  backward pass avoids keeping `(T + 1)^2` intermediates alive and the
  scatter-add that autodiff of the Toeplitz construction would produce.
  """
  out = _safe_logsumexp(_toeplitz_terms(f, e), axis=-1)

  def grad(upstream):
    feasible = tf.math.is_finite(out)
    out_safe = tf.where(feasible, out, tf.zeros([], out.dtype))
    upstream = tf.where(feasible, upstream, tf.zeros([], out.dtype))
    weighted = (tf.exp(_toeplitz_terms(f, e) - out_safe[..., :, None]) *
                upstream[..., :, None])
    return tf.reduce_sum(weighted, axis=-2), _diagonal_sums(weighted)

  return out, grad


def _log_convolve(f, e):
  """Log-space convolution `out[t] = logsumexp_{x<=t} f[x] + e[t - x]`.

  Args:
    f: `[..., T + 1]` log-coefficients of one polynomial.
    e: `[..., T + 1]` log-coefficients of another (broadcastable with `f`).

  Returns:
    `[..., T + 1]` log-coefficients of the product polynomial, truncated at
    degree `T`. Costs `O(T^2)` per batch member; no tensor is larger than
    `batch x (T + 1)^2`, and none of that size is kept for the gradient.
  """
  shape = tf.broadcast_dynamic_shape(tf.shape(f), tf.shape(e))
  return _log_convolve_same_shape(tf.broadcast_to(f, shape),
                                  tf.broadcast_to(e, shape))


def _log_binomial(m, x):
  """`log C(m, x)` for real-valued integer tensors; `-inf` outside `0 <= x <= m`."""
  inside = (x >= 0.) & (x <= m)
  x_safe = tf.where(inside, x, tf.zeros([], x.dtype))
  m_safe = tf.where(inside, m, tf.zeros([], m.dtype))
  value = (tf.math.lgamma(m_safe + 1.) - tf.math.lgamma(x_safe + 1.) -
           tf.math.lgamma(m_safe - x_safe + 1.))
  return tf.where(inside, value, tf.constant(-np.inf, value.dtype))


def _log1mexp_of_exp(x):
  """`log(1 - exp(-exp(x)))` for any real `x`, accurate in float32 and float64.

  For very negative `x` the direct formula underflows (`exp(x) -> 0`), so the
  series `log z - z/2 + z^2/24 - z^4/2880` with `z = exp(x)` (error < z^6/10^5,
  i.e. < 1e-18 at the switch point) is used.
  Large `x` is clipped where the value is 0 to machine precision, which keeps
  the gradient finite.
  """
  series_region = x < -5.
  x_lo = tf.minimum(x, -5.)
  z_lo = tf.exp(x_lo)
  z2 = z_lo * z_lo
  series = x_lo - z_lo / 2. + z2 / 24. - z2 * z2 / 2880.
  x_hi = tf.clip_by_value(x, -5., 30.)
  z_hi = tf.exp(x_hi)
  direct = tf.where(z_hi < np.log(2.), tf.math.log(-tf.math.expm1(-z_hi)),
                    tf.math.log1p(-tf.exp(-z_hi)))
  return tf.where(series_region, series, direct)


def _gumbel(shape, dtype, seed):
  """Standard Gumbel noise from a stateless seed."""
  tiny = np.finfo(dtype.as_numpy_dtype).tiny
  u = samplers.uniform(shape, minval=tiny, maxval=1., dtype=dtype, seed=seed)
  return -tf.math.log(-tf.math.log(u))


def _static_last_dim(x, name):
  """The static size of the last axis of `x`, or a ValueError naming `name`."""
  size = tf.compat.dimension_value(x.shape[-1]) if x.shape.rank else None
  if size is None:
    raise ValueError(
        f'Argument `{name}` must have a statically known last dimension '
        f'(got shape {x.shape}).')
  return size

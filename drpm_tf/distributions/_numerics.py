"""Numerically careful building blocks shared by the DRPM distributions.

Everything here works on log-space quantities that may legitimately be `-inf`
(an empty sum, an infeasible count, a class masked out by a `-inf` log-weight)
and keeps both values and gradients free of NaN in that case, because the
distributions feed these functions masked tensors.

The module is private to `drpm_tf.distributions`; its public names are the
helpers the distribution modules share.
"""

import numpy as np
import tensorflow as tf
from tensorflow_probability.python.internal import dtype_util
from tensorflow_probability.python.internal import samplers

__all__ = [
    'diagonal_sums',
    'gumbel',
    'log1mexp_of_exp',
    'log_binomial',
    'log_convolve',
    'log_power_coefficients',
    'log_prob_of_ordered_scores',
    'log_weight_terms',
    'parameter_dtype',
    'safe_logsumexp',
    'static_last_dim',
]


def safe_logsumexp(x, axis=-1, keepdims=False):
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


def diagonal_sums(m):
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
  """`log_convolve` for equal shapes, with a gradient that stores nothing.

  With softmax weights `W[t, x] = exp(f[x] + e[t - x] - out[t])`, the gradient
  w.r.t. `f[x]` is `sum_t g[t] W[t, x]` (a column sum) and w.r.t. `e[y]` is the
  sum of `g[t] W[t, x]` along the diagonal `t - x = y`. Recomputing `W` in the
  backward pass avoids keeping `(T + 1)^2` intermediates alive and the
  scatter-add that autodiff of the Toeplitz construction would produce.
  """
  out = safe_logsumexp(_toeplitz_terms(f, e), axis=-1)

  def grad(upstream):
    feasible = tf.math.is_finite(out)
    out_safe = tf.where(feasible, out, tf.zeros([], out.dtype))
    upstream = tf.where(feasible, upstream, tf.zeros([], out.dtype))
    weighted = (tf.exp(_toeplitz_terms(f, e) - out_safe[..., :, None]) *
                upstream[..., :, None])
    return tf.reduce_sum(weighted, axis=-2), diagonal_sums(weighted)

  return out, grad


def log_convolve(f, e):
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


def log_binomial(m, x):
  """`log C(m, x)` for real-valued integer tensors; `-inf` outside `0 <= x <= m`."""
  inside = (x >= 0.) & (x <= m)
  x_safe = tf.where(inside, x, tf.zeros([], x.dtype))
  m_safe = tf.where(inside, m, tf.zeros([], m.dtype))
  value = (tf.math.lgamma(m_safe + 1.) - tf.math.lgamma(x_safe + 1.) -
           tf.math.lgamma(m_safe - x_safe + 1.))
  return tf.where(inside, value, tf.constant(-np.inf, value.dtype))


def log1mexp_of_exp(x):
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


def gumbel(shape, dtype, seed):
  """Standard Gumbel noise from a stateless seed."""
  tiny = np.finfo(dtype.as_numpy_dtype).tiny
  u = samplers.uniform(shape, minval=tiny, maxval=1., dtype=dtype, seed=seed)
  return -tf.math.log(-tf.math.log(u))


def static_last_dim(x, name):
  """The static size of the last axis of `x`, or a ValueError naming `name`."""
  size = tf.compat.dimension_value(x.shape[-1]) if x.shape.rank else None
  if size is None:
    raise ValueError(
        f'Argument `{name}` must have a statically known last dimension '
        f'(got shape {x.shape}).')
  return size


def log_weight_terms(x, log_weights):
  """`x * log_weights` with `0 * -inf = 0` and gradients that are never NaN.

  A class masked out by a `-inf` log-weight contributes `0` when it holds no
  ball and `-inf` otherwise; neither `x` nor `log_weights` receives a gradient
  through a masked class (a plain product would give NaN values at `x = 0`
  and NaN or infinite gradients).
  """
  masked = tf.equal(log_weights, tf.constant(-np.inf, log_weights.dtype))
  safe = tf.where(masked, tf.zeros([], log_weights.dtype), log_weights)
  return tf.where(masked & tf.not_equal(x, 0.),
                  tf.constant(-np.inf, log_weights.dtype), x * safe)


def log_prob_of_ordered_scores(ordered):
  """Plackett-Luce log-probability of an order, given its log-scores in order.

  `ordered` `[..., n]` holds `log s` of the element at rank `0, 1, ...`.
  """
  return tf.reduce_sum(
      ordered - tf.math.cumulative_logsumexp(ordered, axis=-1, reverse=True),
      axis=-1)


def _miller_log_coefficients(degree, size, exponent):
  """`log((exponent + 1) i - t) - log t` at `[t - 1, i - 1]`, `-inf` for `i > t`.

  For `t = 1..size-1`, `i = 1..degree`: the log of the factor of `q_i p_{t-i}`
  in Miller's recurrence (see `log_power_coefficients`), as a numpy array.
  """
  t = np.arange(1., size)[:, None]
  i = np.arange(1., degree + 1)[None, :]
  used = i <= t
  factor = np.where(used, ((exponent + 1.) * i - t) / t, 1.)
  return np.where(used, np.log(factor), -np.inf)


def _window(rows, width, dtype, first):
  """`[rows, width]`: `first` in column 0, `-inf` in the others."""
  minus_inf = tf.constant(-np.inf, dtype)
  return tf.concat([tf.fill([rows, 1], tf.constant(first, dtype)),
                    tf.fill([rows, width - 1], minus_inf)], axis=-1)


def _finite_exp(x):
  """`exp(x)`, and 0 where `x` is NaN or infinite (an empty or masked term)."""
  return tf.where(tf.math.is_finite(x), tf.exp(x), tf.zeros([], x.dtype))


# The recurrence has one step per coefficient and very little work per step,
# so op-by-op execution would spend its time dispatching (tens of thousands of
# tiny ops for n = 256, more in the autodiff of a loop). XLA compiles each loop
# into one kernel; the gradient is a second loop of the same kind (below)
# instead of the autodiff of the first. Both work on `[rows, d]` slices: no
# `[rows, T, d]` tensor is ever formed.
@tf.function(autograph=False, jit_compile=True)
def _recurrence_forward(log_q, log_c):
  """`ell` `[rows, T + 1]` of `_log_linear_recurrence`."""
  # Slices are [d, rows] so that every op runs along the long `rows` axis.
  rows, depth = tf.shape(log_q)[0], log_q.shape[1]
  steps = log_c.shape[0]
  dtype = log_q.dtype
  zero = tf.zeros([], dtype)
  log_q = tf.transpose(log_q)
  coefficients = tf.TensorArray(dtype, size=steps).unstack(log_c[:, :, None])
  values = tf.TensorArray(dtype, size=steps)

  def step(t, window, values):
    # window[i - 1] = ell_{t+1-i}: the last `depth` values, newest first.
    terms = coefficients.read(t) + log_q + window
    top = tf.reduce_max(terms, axis=0, keepdims=True)
    top = tf.where(top > -np.inf, top, zero)
    value = tf.math.log(tf.reduce_sum(tf.exp(terms - top), axis=0,
                                      keepdims=True)) + top
    window = tf.concat([value, window[:-1]], axis=0)
    return t + 1, window, values.write(t, value[0])

  _, _, values = tf.while_loop(
      lambda t, *_: t < steps, step,
      (tf.constant(0), tf.transpose(_window(rows, depth, dtype, first=0.)),
       values),
      maximum_iterations=steps)
  return tf.concat([tf.zeros([rows, 1], dtype), tf.transpose(values.stack())],
                   axis=-1)


@tf.function(autograph=False, jit_compile=True)
def _recurrence_backward(log_q, log_c, ell, upstream):
  """`d sum(upstream * ell) / d log_q` for `_log_linear_recurrence`."""
  rows, depth = tf.shape(log_q)[0], log_q.shape[1]
  steps = log_c.shape[0]
  dtype = log_q.dtype
  log_q = tf.transpose(log_q)
  coefficients = tf.TensorArray(dtype, size=steps).unstack(log_c[:, :, None])
  direct = tf.TensorArray(dtype, size=steps + 1).unstack(
      tf.transpose(upstream))
  # padded[j] = ell_{j - depth}, -inf before the start.
  padded = tf.concat([tf.transpose(_window(rows, depth, dtype, -np.inf)),
                      tf.transpose(ell)], axis=0)
  earlier = tf.TensorArray(dtype, size=steps + 1 + depth).unstack(padded)
  # Before step t: previous[i - 1] = ell_{t-i}, pending[j] = the part of
  # G_{t-j} pushed by later steps.
  previous = tf.gather(padded, tf.range(steps + depth - 1, steps - 1, -1))

  def step(t, previous, pending, d_log_q):
    shares = _finite_exp(coefficients.read(t - 1) + log_q + previous -
                         earlier.read(t + depth)[None])
    total = direct.read(t) + pending[0]
    pushed = total[None] * shares
    pending = tf.concat([pending[1:], tf.zeros([1, rows], dtype)],
                        axis=0) + pushed
    previous = tf.concat([previous[1:], earlier.read(t - 1)[None]], axis=0)
    return t - 1, previous, pending, d_log_q + pushed

  zeros = tf.zeros([depth, rows], dtype)
  _, _, _, d_log_q = tf.while_loop(
      lambda t, *_: t > 0, step, (tf.constant(steps), previous, zeros, zeros),
      maximum_iterations=steps)
  return tf.transpose(d_log_q)


@tf.custom_gradient
def _recurrence_gradient(log_q, log_c, ell, upstream):
  """`_recurrence_backward` as an op of its own, first order only."""
  # Unwatched inputs: an XLA function called under a recording tape would
  # export its loop state for a gradient, which XLA does not support.
  result = _recurrence_backward(*[tf.stop_gradient(x) for x in
                                  (log_q, log_c, ell, upstream)])

  def grad(*_):
    raise NotImplementedError(
        'Second derivatives of the MVHG tables (power recurrence) are not '
        'implemented.')

  return result, grad


@tf.custom_gradient
def _log_linear_recurrence(log_q, log_c):
  """`ell_t = log sum_i exp(log_c[t - 1, i - 1] + log_q[:, i - 1] + ell_{t-i})`.

  Args:
    log_q: `[rows, d]` log-coefficients (`-inf` allowed).
    log_c: `[T, d]` constant log-factors (`-inf` allowed).

  Returns:
    `[rows, T + 1]` values `ell_t = log p_t` of the order-`d` recurrence
    `p_t = sum_{i=1}^{d} a_{t,i} p_{t-i}`, `a_{t,i} = c_{t,i} q_i >= 0`,
    `p_0 = 1`, `p_{<0} = 0`.

  The gradient: with the shares `W[t, i] = a_{t,i} p_{t-i} / p_t` (each row
  sums to 1, or is 0 where `p_t = 0`), the total derivative of the loss
  w.r.t. `log p_s` is `G_s = g_s + sum_i W[s + i, i] G_{s+i}`. That backward
  recurrence only forms sums of the upstream `g` weighted by products of
  shares, so it runs in linear space without overflow; then
  `d loss / d log q_i = sum_t G_t W[t, i]`.
  """
  ell = _recurrence_forward(tf.stop_gradient(log_q), log_c)

  def grad(upstream):
    return _recurrence_gradient(log_q, log_c, ell, upstream), None

  return ell, grad


def log_power_coefficients(log_q, exponent, size):
  """`log [z^t] Q(z)^exponent` for `t = 0..size-1`, with `Q(0) = 1`.

  `log_q` `[..., d + 1]` holds `log q_i` (`log q_0 = 0`, `-inf` allowed). With
  `P = Q^m`, `P' Q = m Q' P` gives J.C.P. Miller's recurrence

  ```none
  p_0 = 1,   p_t = (1 / t) sum_{i=1}^{min(d, t)} ((m + 1) i - t) q_i p_{t-i},
  ```

  whose terms are all non-negative for `t <= m + 1`, so it runs in log space
  without cancellation: `O(size * d)` instead of `O(size^2)` per table.
  Requires `size - 1 <= exponent + 1`. Differentiable w.r.t. `log_q`.
  """
  degree = log_q.shape[-1] - 1
  dtype = log_q.dtype
  batch = tf.shape(log_q)[:-1]
  if size == 1 or degree == 0:  # Q^m truncated to degree 0, or Q = 1
    return tf.concat(
        [tf.zeros(tf.concat([batch, [1]], 0), dtype),
         tf.fill(tf.concat([batch, [size - 1]], 0),
                 tf.constant(-np.inf, dtype))], axis=-1)
  ell = _log_linear_recurrence(
      tf.reshape(log_q[..., 1:], [-1, degree]),
      tf.constant(_miller_log_coefficients(degree, size, exponent), dtype))
  return tf.reshape(ell, tf.concat([batch, [size]], 0))


def parameter_dtype(dtype_hint=tf.float32, **parameters):
  """The common dtype of `parameters`, which must be float32 or float64.

  Lower precisions are refused here, with the name of the offending argument,
  rather than deep inside TensorFlow (integer-valued counts and `log n!` need
  more than float16's 11 significant bits, and several kernels used here have
  no half-precision version).
  """
  dtype = dtype_util.common_dtype(list(parameters.values()),
                                  dtype_hint=dtype_hint)
  if dtype in (tf.float32, tf.float64):
    return dtype
  names = [name for name, value in parameters.items()
           if getattr(value, 'dtype', None) is not None and
           dtype_util.base_equal(value.dtype, dtype)] or list(parameters)
  raise TypeError(
      f'Argument `{names[0]}` must have dtype float32 or float64, got '
      f'{dtype_util.name(dtype)} (cast it, e.g. tf.cast(x, tf.float32)).')

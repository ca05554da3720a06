"""NeuralSort (Grover et al., 2019) with an analytic gradient.

The relaxed sort matrix of `s` `[..., n]` at temperature `tau` is

```none
P[r, i] = softmax_i((c_r s_i - A_i) / tau),   c_r = n - 1 - 2r,   A_i = sum_j |s_i - s_j|
```

(rows `r = 0..n-1`; as `tau -> 0`, row `r` becomes the one-hot of the element
with the `r`-th largest value). Autodiff of that expression walks about twenty
`[..., n, n]` tensors (the pairwise differences, their signs, the softmax and
every broadcast); here `A` and its gradient come from one sort in `O(n log n)`
and the gradient of the softmax part is written out, so the backward pass
recomputes `P` once and reads it a few times. With a straight-through
estimator the forward pass never forms `P` at all.

The module is private to `drpm_tf.distributions`.
"""

import tensorflow as tf
from tensorflow_probability.python.internal import prefer_static as ps

__all__ = [
    'descending_order',
    'neural_sort',
    'straight_through_sort',
    'straight_through_sort_product',
]


def descending_order(values):
  """Indices sorting `values` `[..., n]` decreasingly (stable for ties)."""
  return tf.argsort(values, axis=-1, direction='DESCENDING', stable=True)


def _gather(x, indices):
  return tf.gather(x, indices, batch_dims=ps.rank(indices) - 1)


def _inverse(order):
  """`rank[..., i]`: the position of element `i` in `order` (a scatter)."""
  n = order.shape[-1]
  flat = tf.reshape(order, [-1, n])
  rows = tf.shape(flat)[0]
  targets = flat + tf.range(rows)[:, None] * n
  positions = tf.broadcast_to(tf.range(n, dtype=order.dtype), tf.shape(flat))
  rank = tf.scatter_nd(tf.reshape(targets, [-1, 1]),
                       tf.reshape(positions, [-1]), [rows * n])
  return tf.reshape(rank, tf.shape(order))


def _row_scales(n, dtype):
  return tf.range(n - 1, -n, -2, dtype=dtype)  # c_r = n - 1 - 2r


def _abs_deviation_sums(values, order):
  """`A_i = sum_j |s_i - s_j|` in `O(n log n)` from the decreasing order.

  With `S` the sorted values and `C_p = S_0 + ... + S_{p-1}`, the element at
  position `p` has `A = 2 C_p + (n - 2p) S_p - sum(S)`.
  """
  n = values.shape[-1]
  ordered = _gather(values, order)
  positions = tf.range(n, dtype=values.dtype)
  sorted_sums = (2. * tf.cumsum(ordered, axis=-1, exclusive=True) +
                 (n - 2. * positions) * ordered -
                 tf.reduce_sum(ordered, axis=-1, keepdims=True))
  return _gather(sorted_sums, _inverse(order))


def _abs_deviation_sums_vjp(upstream, order):
  """`d <upstream, A> / d s` for `_abs_deviation_sums`, also `O(n log n)`.

  In sorted coordinates (`D` = upstream at position `p`):
  `dS_q = 2 (D_{q+1} + ... + D_{n-1}) + (n - 2q) D_q - sum(D)`.
  """
  n = upstream.shape[-1]
  ordered = _gather(upstream, order)
  positions = tf.range(n, dtype=upstream.dtype)
  sorted_grad = (2. * tf.cumsum(ordered, axis=-1, exclusive=True,
                                reverse=True) +
                 (n - 2. * positions) * ordered -
                 tf.reduce_sum(ordered, axis=-1, keepdims=True))
  return _gather(sorted_grad, _inverse(order))


def _logits(values, offsets, temperature):
  """`(c_r s_i - A_i) / tau`, `[..., n, n]`; `temperature` is `[...]`."""
  n = values.shape[-1]
  inverse_temperature = 1. / temperature[..., None]
  return (_row_scales(n, values.dtype)[:, None] *
          (values * inverse_temperature)[..., None, :] -
          (offsets * inverse_temperature)[..., None, :])


def _sort_matrix_vjp(values, order, temperature, upstream):
  """Gradients of `sum(upstream * P)` w.r.t. `values` and `temperature`.

  Args:
    values: `[..., n]` the values `s` being sorted.
    order: `[..., n]` `descending_order(values)`.
    temperature: `[...]` positive temperature (the batch shape of `values`).
    upstream: `[..., n, n]` gradient w.r.t. the relaxed sort matrix `P`.

  Returns:
    `(d values [..., n], d temperature [...])`.
  """
  n = values.shape[-1]
  offsets = _abs_deviation_sums(values, order)
  soft = tf.nn.softmax(_logits(values, offsets, temperature), axis=-1)
  # Softmax backward: dL/dlogits = P (U - rowsum(P U)).
  d_logits = soft * (upstream -
                     tf.reduce_sum(soft * upstream, axis=-1, keepdims=True))
  # logits = (c_r s_i - A_i) / tau: one product gives both column sums, and
  # with them the temperature's gradient, -sum(d_logits * logits) / tau.
  weights = tf.stack([_row_scales(n, values.dtype),
                      -tf.ones([n], values.dtype)])  # [2, n]
  column_sums = tf.einsum('jr,...ri->...ji', weights, d_logits)
  by_scale, by_offset = column_sums[..., 0, :], column_sums[..., 1, :]
  inverse_temperature = 1. / temperature
  d_values = (by_scale + _abs_deviation_sums_vjp(by_offset, order)
             ) * inverse_temperature[..., None]
  d_temperature = -tf.reduce_sum(values * by_scale + offsets * by_offset,
                                 axis=-1) * inverse_temperature**2
  return d_values, d_temperature


def _sort_gradients(values, temperature, order, upstream):
  """`_sort_matrix_vjp` for a `temperature` that broadcasts to the batch."""
  d_values, d_temperature = _sort_matrix_vjp(
      values, order, tf.broadcast_to(temperature, tf.shape(values)[:-1]),
      upstream)
  # Sum over the axes that broadcasting added to `temperature`.
  _, axes = tf.raw_ops.BroadcastGradientArgs(s0=tf.shape(d_temperature),
                                             s1=tf.shape(temperature))
  return d_values, tf.reshape(tf.reduce_sum(d_temperature, axis=axes),
                              tf.shape(temperature))


def neural_sort(values, temperature, order=None):
  """The relaxed sort matrix `P` `[..., n, n]` of `values` `[..., n]`.

  Args:
    values: `[..., n]`.
    temperature: positive, broadcastable to `values.shape[:-1]`.
    order: `descending_order(values)` if already known.

  Returns:
    `P`, differentiable w.r.t. `values` and `temperature`.
  """
  order = descending_order(values) if order is None else order
  return _neural_sort(values, tf.convert_to_tensor(temperature, values.dtype),
                      order)


@tf.custom_gradient
def _neural_sort(values, temperature, order):
  soft = tf.nn.softmax(
      _logits(values, _abs_deviation_sums(values, order),
              tf.broadcast_to(temperature, tf.shape(values)[:-1])), axis=-1)

  def grad(upstream):
    return (*_sort_gradients(values, temperature, order, upstream), None)

  return soft, grad


def straight_through_sort(values, temperature, order=None):
  """The hard sort permutation matrix, with NeuralSort's gradient.

  Row `r` of the value is the one-hot of the element at position `r` of
  `order` (default `descending_order(values)`); the gradient is that of
  `neural_sort(values, temperature)`, which the forward pass never forms.
  """
  order = descending_order(values) if order is None else order
  return _straight_through_sort(
      values, tf.convert_to_tensor(temperature, values.dtype), order)


@tf.custom_gradient
def _straight_through_sort(values, temperature, order):
  hard = tf.one_hot(order, depth=values.shape[-1], dtype=values.dtype)

  def grad(upstream):
    return (*_sort_gradients(values, temperature, order, upstream), None)

  return hard, grad


def straight_through_sort_product(left, values, temperature, order=None):
  """`left @ straight_through_sort(values, temperature)` without the matrix.

  Args:
    left: `[..., K, n]`.
    values: `[..., n]` (same batch shape as `left`).
    temperature: positive, broadcastable to `values.shape[:-1]`.
    order: `descending_order(values)` if already known.

  Returns:
    `[..., K, n]`: column `i` is column `rank_i` of `left`, where `rank_i` is
    the position of element `i` in the order: `O(K n)` instead of a `K x n x n`
    product. The gradient is that of `left @ P` with `P` the hard permutation
    for `left` and the NeuralSort matrix for `values` (straight-through).
  """
  order = descending_order(values) if order is None else order
  return _straight_through_sort_product(
      left, values, tf.convert_to_tensor(temperature, values.dtype), order)


@tf.custom_gradient
def _straight_through_sort_product(left, values, temperature, order):
  batch_dims = ps.rank(order) - 1
  product = tf.gather(left, _inverse(order), axis=-1, batch_dims=batch_dims)

  def grad(upstream):
    # d left = upstream @ hard^T: column r of the result is column order_r.
    d_left = tf.gather(upstream, order, axis=-1, batch_dims=batch_dims)
    d_values, d_temperature = _sort_gradients(
        values, temperature, order,
        tf.matmul(left, upstream, transpose_a=True))
    return d_left, d_values, d_temperature, None

  return product, grad

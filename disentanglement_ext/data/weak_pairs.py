"""Weakly-supervised pairs that share EXACTLY `n_s` ground-truth factors.

Protocol (docs/design.md, Table 1): sample the factors of view 1; choose `n_s`
factors uniformly to share; resample every other factor to a DIFFERENT value
(uniform over the other values) for view 2. So a pair differs in exactly
`num_factors - n_s` factors, and the returned `shared_mask` is exact.

gin: `weak_pairs.n_s` (the class `WeakPairSampler`). `n_s = -1` draws n_s per
pair uniformly from {0, ..., num_factors - 1}, so no pair is a copy (as dlib's
`k = -1` draws the number of changed factors).

Every pair also carries the weak label that LabelVAE is given: the index of
ONE changed factor, uniform among the factors that changed (dlib's
`simple_dynamics(..., return_index=True)` labels a pair with the index of a
resampled factor the same way), or -1 when no factor changed.
"""
import atexit
import collections
import threading
import time

import gin
import numpy as np
import tensorflow as tf

from disentanglement_ext import compat  # noqa: F401  pylint: disable=unused-import
from drpm_tf import errors

RANDOM_N_S = -1

WeakPairs = collections.namedtuple(
    "WeakPairs",
    ["x1", "x2", "shared_mask", "factors1", "factors2", "known_factor"])
WeakPairs.__doc__ = """A batch of weak pairs.

x1, x2: float32 `[batch] + observation_shape`.
shared_mask: bool `[batch, num_factors]`, True where factors1 == factors2.
factors1, factors2: int64 `[batch, num_factors]`.
known_factor: int64 `[batch]`, the index of one changed factor (uniform among
  the changed ones), -1 if none changed: LabelVAE's weak label.
"""


@gin.configurable("weak_pairs", denylist=["ground_truth_data"])
class WeakPairSampler(object):
  """Samples pairs of observations sharing exactly `n_s` factors."""

  def __init__(self, ground_truth_data, n_s=gin.REQUIRED):
    """Validates and stores the protocol.

    Args:
      ground_truth_data: a dlib `GroundTruthData`.
      n_s: number of shared factors, in [0, num_factors], or -1 (random per
        pair). gin: `weak_pairs.n_s`.

    Raises:
      ValueError: `n_s` out of range, or a factor that would have to change has
        fewer than 2 values.
    """
    num_factors = ground_truth_data.num_factors
    if (not isinstance(n_s, (int, np.integer)) or isinstance(n_s, bool) or
        not (n_s == RANDOM_N_S or 0 <= n_s <= num_factors)):
      raise errors.ConfigError(
          "n_s (number of shared factors, gin `weak_pairs.n_s`) must be an "
          "integer in [0, {}] or -1 (random per pair); got {!r}.".format(
              num_factors, n_s))
    sizes = np.asarray(ground_truth_data.factors_num_values, np.int64)
    # A factor with a single value can never differ between the views, so a
    # pair could not have exactly n_s shared factors unless all are shared.
    if n_s != num_factors and np.any(sizes < 2):
      raise errors.ConfigError(
          "factors {} have fewer than 2 values and cannot be resampled to a "
          "different value; only n_s = {} is possible for this dataset, got "
          "n_s = {}.".format(np.flatnonzero(sizes < 2).tolist(), num_factors,
                             n_s))
    self.ground_truth_data = ground_truth_data
    self.n_s = int(n_s)
    self._sizes = sizes

  @property
  def num_factors(self):
    return len(self._sizes)

  def sample_factors(self, num, random_state):
    """Samples paired factors.

    Args:
      num: number of pairs.
      random_state: `np.random.RandomState`.

    Returns:
      factors1, factors2: int64 `[num, num_factors]`.
      shared_mask: bool `[num, num_factors]`, exactly n_s True per row.
    """
    factors1 = np.asarray(
        self.ground_truth_data.sample_factors(num, random_state), np.int64)
    if self.n_s == RANDOM_N_S:
      n_s = random_state.randint(0, self.num_factors, size=(num, 1))
    else:
      n_s = self.n_s
    # Ranks of iid uniforms are a uniform random permutation per row, so the
    # n_s lowest-ranked factors are a uniform n_s-subset.
    ranks = random_state.random_sample((num, self.num_factors)).argsort(
        axis=1).argsort(axis=1)
    shared_mask = ranks < n_s
    # Adding an offset in [1, size) modulo size hits every other value
    # uniformly and never the old one.
    offsets = 1 + np.floor(random_state.random_sample(
        (num, self.num_factors)) * (self._sizes - 1)).astype(np.int64)
    factors2 = np.where(shared_mask, factors1,
                        (factors1 + offsets) % self._sizes)
    return factors1, factors2, shared_mask

  @staticmethod
  def sample_known_factor(shared_mask, random_state):
    """Index of one changed factor per pair, uniform among them; -1 if none.

    Args:
      shared_mask: bool `[num, num_factors]`.
      random_state: `np.random.RandomState`.

    Returns:
      int64 `[num]`.
    """
    changed = ~np.asarray(shared_mask, bool)
    num_changed = changed.sum(axis=1)
    # The k-th changed factor (k uniform in [0, num_changed)) of each row.
    k = np.floor(random_state.random_sample(len(changed)) *
                 num_changed).astype(np.int64)
    position = np.cumsum(changed, axis=1) - 1
    hit = changed & (position == k[:, None])
    return np.where(num_changed > 0, hit.argmax(axis=1), -1).astype(np.int64)

  def sample(self, num, random_state, observe=None):
    """Samples `num` pairs; returns `WeakPairs`.

    `observe(factors, random_state)` renders the observations (default: the
    dataset's `sample_observations_from_factors`; e.g. a reduced resolution
    from `disentanglement_ext.data.image_cache`).
    """
    factors1, factors2, shared_mask = self.sample_factors(num, random_state)
    if observe is None:
      observe = self.ground_truth_data.sample_observations_from_factors
    x1 = np.asarray(observe(factors1, random_state), np.float32)
    x2 = np.asarray(observe(factors2, random_state), np.float32)
    known_factor = self.sample_known_factor(shared_mask, random_state)
    return WeakPairs(x1, x2, shared_mask, factors1, factors2, known_factor)


def sample_weak_pairs(ground_truth_data, num, random_state, n_s=None):
  """Functional form of `WeakPairSampler(...).sample`.

  `n_s=None` uses the gin binding `weak_pairs.n_s`.
  """
  kwargs = {} if n_s is None else {"n_s": n_s}
  return WeakPairSampler(ground_truth_data, **kwargs).sample(num, random_state)


class _ShutdownGuard(object):
  """Keeps tf.data from calling into Python while the interpreter finalizes.

  A `tf.data` iterator that is still alive when Python finalizes (e.g. held in a
  module global) is destroyed during finalization; if one of its
  `numpy_function` calls is in flight then, the call can never re-acquire the
  GIL and the process hangs forever at exit (measured with TF 2.15). At exit
  (atexit runs before finalization), new calls fail fast and we wait until no
  call has run for a moment, by which time tf.data's buffers are full and its
  threads idle.
  """

  def __init__(self):
    self._lock = threading.Lock()
    self._in_flight = 0
    self._last_exit = 0.
    self._stopping = False
    self._registered = False

  def register(self):
    with self._lock:
      if not self._registered:
        atexit.register(self.drain)
        self._registered = True

  def call(self, fn, *args):
    with self._lock:
      if self._stopping:
        self._last_exit = time.monotonic()
        raise RuntimeError("Python is shutting down; weak-pair stream stopped.")
      self._in_flight += 1
    try:
      return fn(*args)
    finally:
      with self._lock:
        self._in_flight -= 1
        self._last_exit = time.monotonic()

  def drain(self, quiet_s=0.2, timeout_s=60.):
    with self._lock:
      self._stopping = True
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
      with self._lock:
        idle = (self._in_flight == 0 and
                time.monotonic() - self._last_exit > quiet_s)
      if idle:
        return
      time.sleep(0.02)


_SHUTDOWN_GUARD = _ShutdownGuard()


def batch_random_state(seed, index):
  """The RandomState of batch `index` of a stream seeded with `seed`.

  Batch streams are indexed rather than sequential so that they are
  reproducible under parallel map and can resume at any step.
  """
  return np.random.RandomState(
      np.random.SeedSequence([int(seed), int(index)]).generate_state(4))


def weak_pair_dataset(ground_truth_data, batch_size, seed, n_s=None,
                      start_index=0, num_batches=None,
                      num_parallel_calls=tf.data.AUTOTUNE,
                      prefetch=tf.data.AUTOTUNE, observe=None,
                      observation_shape=None):
  """A `tf.data.Dataset` of weak-pair batches.

  Element i (counting from `start_index`) is a deterministic function of
  (seed, i): the stream is the same whatever the parallelism, and training can
  resume at step i with `start_index=i`. Batches are rendered in parallel by
  numpy (which releases the GIL in its kernels) and prefetched.

  Args:
    ground_truth_data: a dlib `GroundTruthData`.
    batch_size: pairs per batch.
    seed: int seed of the stream.
    n_s: shared factors per pair; None uses gin's `weak_pairs.n_s`.
    start_index: index of the first batch.
    num_batches: number of batches; None repeats forever.
    num_parallel_calls, prefetch: tf.data parallelism and buffer.
    observe: renders observations (see `WeakPairSampler.sample`).
    observation_shape: the shape `observe` returns per image (default: the
      dataset's).

  Returns:
    Dataset of `((x1, x2), shared_mask, (factors1, factors2), known_factor)`
    with x1, x2 float32 `[batch_size] + observation_shape`, shared_mask bool
    `[batch_size, num_factors]`, factors int64 `[batch_size, num_factors]`,
    known_factor int64 `[batch_size]` (see `WeakPairs`).
  """
  # Resolve gin (and validate n_s) now, in the caller's thread, not lazily in
  # tf.data's worker threads.
  sampler = (WeakPairSampler(ground_truth_data) if n_s is None else
             WeakPairSampler(ground_truth_data, n_s=n_s))
  obs_shape = [batch_size] + list(observation_shape or
                                  ground_truth_data.observation_shape)
  factor_shape = [batch_size, sampler.num_factors]

  def sample_batch(index):
    pairs = sampler.sample(batch_size, batch_random_state(seed, index),
                           observe)
    return tuple(pairs)

  def make_batch(index):
    return _SHUTDOWN_GUARD.call(sample_batch, index)

  _SHUTDOWN_GUARD.register()

  def tf_make_batch(index):
    x1, x2, mask, f1, f2, known = tf.numpy_function(
        make_batch, [index],
        [tf.float32, tf.float32, tf.bool, tf.int64, tf.int64, tf.int64])
    x1.set_shape(obs_shape)
    x2.set_shape(obs_shape)
    mask.set_shape(factor_shape)
    f1.set_shape(factor_shape)
    f2.set_shape(factor_shape)
    known.set_shape([batch_size])
    return (x1, x2), mask, (f1, f2), known

  stop = None if num_batches is None else start_index + num_batches
  indices = tf.data.Dataset.range(start_index, stop if stop is not None
                                  else np.iinfo(np.int64).max)
  dataset = indices.map(tf_make_batch, num_parallel_calls=num_parallel_calls,
                        deterministic=True)
  return dataset.prefetch(prefetch)

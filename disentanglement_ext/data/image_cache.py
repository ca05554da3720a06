"""Observations at the resolution a model reads, optionally from a disk cache.

The reduced `conv32` model reads 32x32 images, the 2x2 average pool of the
64x64 observations. `reduced_observations(dataset, size, cache_dir)` returns a
function `(factors, random_state) -> float32 [B, size, size, C]` that gives
exactly those pooled images (`downsample`), so training can be fed at the
model's resolution while the exported modules keep taking 64x64 images.

For a procedural dataset every observation is a pure function of its factors,
so with `cache_dir` the pooled images of the WHOLE factor grid are rendered
once into `<cache_dir>/<name>_<size>x<size>_uint8_<fingerprint>.npy` (uint8,
memory-mapped; mpi3d-like grids of 1,036,800 images take 3.2 GB at 32x32) and
read back by index. The fingerprint hashes the factor sizes, the resolution
and the dataset's renderer source (`cache_fingerprint()`), so a changed
renderer never reads a stale file. Building takes minutes on one core (the
first process that needs the file builds it under an OS file lock; others
wait, then read); it is written to a temporary name and renamed when
complete, so an interrupted build leaves no usable-looking file. uint8
storage rounds each value to the nearest 1/255 (at most 0.002 off the float
pooled render). Datasets that do not define `cache_fingerprint` (mpi3d_toy,
already held as images) are pooled batch by batch instead.
"""
import fcntl
import hashlib
import os
import sys
import time

import numpy as np

CACHE_VERSION = 1


def downsample(images, size):
  """Average-pools `[B, S, S, C]` images to `[B, size, size, C]`."""
  images = np.asarray(images, np.float32)
  factor = images.shape[1] // size
  if factor * size != images.shape[1] or images.shape[1] != images.shape[2]:
    raise ValueError("Cannot average-pool {}x{} images to {}x{}.".format(
        images.shape[1], images.shape[2], size, size))
  if factor == 1:
    return images
  b, _, _, c = images.shape
  return images.reshape(b, size, factor, size, factor, c).mean(axis=(2, 4))


def cache_path(dataset, name, size, cache_dir):
  """The cache file of `dataset` (named `name`) at `size`x`size`."""
  key = "{}|{}|{}|{}".format(CACHE_VERSION, list(dataset.factors_num_values),
                             size, dataset.cache_fingerprint())
  digest = hashlib.sha256(key.encode()).hexdigest()[:16]
  return os.path.join(os.path.expanduser(cache_dir), "{}_{}x{}_uint8_{}.npy"
                      .format(name, size, size, digest))


def _all_factors(sizes, start, stop):
  """Factors of grid indices [start, stop) in C order (row-major)."""
  return np.stack(np.unravel_index(np.arange(start, stop), sizes), axis=1)


def build_cache(dataset, path, size, chunk=4096, log=None):
  """Renders the pooled images of every factor combination into `path`.

  Holds an exclusive lock on `path + '.lock'` while building, so concurrent
  callers build it once; returns as soon as a complete file exists.
  """
  if log is None:
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path + ".lock", "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if os.path.exists(path):
      return path
    sizes = [int(s) for s in dataset.factors_num_values]
    total = int(np.prod(sizes))
    channels = dataset.observation_shape[2]
    tmp = "{}.tmp.{}".format(path, os.getpid())
    images = np.lib.format.open_memmap(
        tmp, mode="w+", dtype=np.uint8, shape=(total, size, size, channels))
    timer = time.time()
    log("Building the {}x{} image cache {} ({} images, once)...".format(
        size, size, path, total))
    for start in range(0, total, chunk):
      stop = min(start + chunk, total)
      pooled = downsample(dataset.sample_observations_from_factors(
          _all_factors(sizes, start, stop), None), size)
      images[start:stop] = np.rint(pooled * 255.)
      if (start // chunk) % 50 == 49:
        log("  {:.0f}% ({:.0f} s)".format(100. * stop / total,
                                         time.time() - timer))
    images.flush()
    del images
    os.replace(tmp, path)
    log("Image cache built in {:.0f} s.".format(time.time() - timer))
  return path


class CachedObservations(object):
  """`(factors, random_state) -> float32 [B, size, size, C]` from the cache."""

  def __init__(self, dataset, path):
    self._images = np.load(path, mmap_mode="r")
    self._sizes = [int(s) for s in dataset.factors_num_values]

  def __call__(self, factors, random_state=None):
    del random_state  # The cached datasets are deterministic.
    index = np.ravel_multi_index(np.asarray(factors, np.int64).T, self._sizes)
    # Sorted reads are kinder to the page cache; undo the order afterwards.
    order = np.argsort(index)
    images = np.empty((len(index),) + self._images.shape[1:], np.float32)
    images[order] = self._images[index[order]]
    return images * np.float32(1. / 255.)


def reduced_observations(dataset, size, cache_dir=None, name=None):
  """Observations of `dataset` at `size`x`size` (see the module doc).

  Args:
    dataset: a dlib `GroundTruthData` with square observations.
    size: the side the model reads (the observations' side divided by an
      integer).
    cache_dir: where to keep the cache of a procedural dataset (None: no
      cache, pool every batch).
    name: the dataset's name (file name of the cache).

  Returns:
    A function `(factors, random_state) -> float32 [B, size, size, C]`.
  """
  observe = dataset.sample_observations_from_factors
  if int(dataset.observation_shape[0]) == size:
    return observe
  if cache_dir and hasattr(dataset, "cache_fingerprint"):
    path = cache_path(dataset, name or type(dataset).__name__, size,
                      cache_dir)
    return CachedObservations(dataset, build_cache(dataset, path, size))
  return lambda factors, random_state: downsample(
      observe(factors, random_state), size)

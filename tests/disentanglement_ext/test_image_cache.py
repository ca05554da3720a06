"""Observations at the model's resolution: pooling and the on-disk cache."""
import os
import threading

import numpy as np
import pytest
import tensorflow as tf

from disentanglement_ext.data import image_cache
from disentanglement_ext.data import synthetic_mpi3d


class SmallGrid(synthetic_mpi3d.SyntheticMPI3D):
  """The synthetic renderer on a 36-image corner of its factor grid."""

  def __init__(self):
    super().__init__()
    self._set_factor_sizes([2, 1, 2, 1, 1, 3, 3])


def _factors(data, num, seed):
  return data.sample_factors(num, np.random.RandomState(seed))


def test_downsample_is_tensorflows_average_pool():
  images = np.random.RandomState(0).rand(3, 64, 64, 3).astype(np.float32)
  expected = tf.nn.avg_pool2d(images, 2, 2, "VALID").numpy()
  np.testing.assert_allclose(image_cache.downsample(images, 32), expected,
                             rtol=1e-6, atol=1e-7)
  assert image_cache.downsample(images, 64) is not None
  with pytest.raises(ValueError, match="64x64 images to 48x48"):
    image_cache.downsample(images, 48)


def test_uncached_observations_are_the_pooled_renders():
  data = synthetic_mpi3d.SyntheticMPI3D()
  factors = _factors(data, 5, 1)
  observe = image_cache.reduced_observations(data, 32)
  np.testing.assert_array_equal(
      observe(factors, None),
      image_cache.downsample(synthetic_mpi3d.render(factors), 32))
  # At the dataset's own resolution nothing is pooled.
  assert image_cache.reduced_observations(data, 64) == (
      data.sample_observations_from_factors)


def test_cache_holds_the_rounded_pooled_renders(tmp_path):
  data = SmallGrid()
  observe = image_cache.reduced_observations(data, 32, str(tmp_path),
                                             name="small")
  files = [f for f in os.listdir(tmp_path) if f.endswith(".npy")]
  assert len(files) == 1 and files[0].startswith("small_32x32_uint8_")
  assert not [f for f in os.listdir(tmp_path) if ".tmp." in f]
  factors = _factors(data, 50, 2)
  cached = observe(factors, None)
  pooled = image_cache.downsample(synthetic_mpi3d.render(factors), 32)
  assert cached.dtype == np.float32 and cached.shape == (50, 32, 32, 3)
  np.testing.assert_allclose(cached, pooled, atol=0.5 / 255. + 1e-6)
  # The stored bytes are the pooled renders rounded to the nearest 1/255,
  # in the grid's row-major order.
  path = os.path.join(str(tmp_path), files[0])
  index = np.ravel_multi_index(factors.T, data.factors_num_values)
  np.testing.assert_array_equal(np.load(path)[index], np.rint(pooled * 255.))
  # Reused, not rebuilt: the file is untouched by a second call.
  mtime = os.path.getmtime(path)
  again = image_cache.reduced_observations(data, 32, str(tmp_path),
                                           name="small")
  np.testing.assert_array_equal(again(factors, None), cached)
  assert os.path.getmtime(path) == mtime


def test_the_cache_key_follows_sizes_and_resolution(tmp_path):
  data = SmallGrid()
  path = image_cache.cache_path(data, "small", 32, str(tmp_path))
  assert path != image_cache.cache_path(data, "small", 16, str(tmp_path))
  other = SmallGrid()
  other._set_factor_sizes([2, 1, 2, 1, 1, 3, 2])  # pylint: disable=protected-access
  assert path != image_cache.cache_path(other, "small", 32, str(tmp_path))
  assert path == image_cache.cache_path(SmallGrid(), "small", 32,
                                        str(tmp_path))


def test_concurrent_builders_build_once(tmp_path, monkeypatch):
  data = SmallGrid()
  calls = []
  real = data.sample_observations_from_factors
  monkeypatch.setattr(data, "sample_observations_from_factors",
                      lambda f, r: calls.append(len(f)) or real(f, r))
  path = image_cache.cache_path(data, "small", 32, str(tmp_path))
  threads = [threading.Thread(target=image_cache.build_cache,
                              args=(data, path, 32)) for _ in range(3)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert sum(calls) == 36  # every image rendered exactly once
  assert np.load(path).shape == (36, 32, 32, 3)

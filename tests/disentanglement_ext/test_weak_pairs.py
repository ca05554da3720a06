"""Weak pairs: exactly n_s shared factors, determinism, tf.data, errors."""
import gin
import numpy as np
import pytest
from scipy import stats

from disentanglement_ext.data import synthetic_mpi3d
from disentanglement_ext.data import weak_pairs


pytestmark = pytest.mark.usefixtures("clean_gin")


@pytest.mark.parametrize("n_s", [0, 1, 3, 5, 7])
def test_exactly_n_s_shared_factors(data, n_s):
  sampler = weak_pairs.WeakPairSampler(data, n_s=n_s)
  f1, f2, mask = sampler.sample_factors(2000, np.random.RandomState(n_s))
  equal = f1 == f2
  np.testing.assert_array_equal(equal, mask)
  assert np.all(equal.sum(axis=1) == n_s)
  assert np.all((f2 >= 0) & (f2 < np.array(data.factors_num_values)))
  if 0 < n_s < 7:
    # Shared factors are chosen uniformly: every factor is shared sometimes,
    # at rate n_s / 7.
    np.testing.assert_allclose(mask.mean(axis=0), n_s / 7., atol=0.05)


def test_changed_factors_take_every_other_value_uniformly(data):
  sampler = weak_pairs.WeakPairSampler(data, n_s=0)
  f1, f2, _ = sampler.sample_factors(20000, np.random.RandomState(0))
  # Factor 0 (6 values) from value 0: the other 5 values, ~uniformly.
  values = f2[f1[:, 0] == 0, 0]
  counts = np.bincount(values, minlength=6)
  assert counts[0] == 0
  np.testing.assert_allclose(counts[1:] / counts.sum(), 0.2, atol=0.03)


def test_pairs_observations_and_mask(data):
  pairs = weak_pairs.sample_weak_pairs(data, 6, np.random.RandomState(0),
                                       n_s=3)
  assert pairs.x1.shape == pairs.x2.shape == (6, 64, 64, 3)
  assert pairs.x1.dtype == np.float32 and pairs.shared_mask.dtype == bool
  np.testing.assert_array_equal(pairs.shared_mask,
                                pairs.factors1 == pairs.factors2)
  np.testing.assert_array_equal(
      pairs.x2, data.sample_observations_from_factors(pairs.factors2, None))


def test_deterministic_under_seed(data):
  a = weak_pairs.sample_weak_pairs(data, 8, np.random.RandomState(7), n_s=2)
  b = weak_pairs.sample_weak_pairs(data, 8, np.random.RandomState(7), n_s=2)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x, y)


def test_random_n_s_per_pair(data):
  sampler = weak_pairs.WeakPairSampler(data, n_s=-1)
  _, _, mask = sampler.sample_factors(3000, np.random.RandomState(0))
  counts = np.bincount(mask.sum(axis=1), minlength=8)
  assert counts[7] == 0 and np.all(counts[:7] > 300)


def test_n_s_from_gin(data):
  gin.parse_config("weak_pairs.n_s = 4")
  pairs = weak_pairs.sample_weak_pairs(data, 5, np.random.RandomState(0))
  assert np.all(pairs.shared_mask.sum(axis=1) == 4)


@pytest.mark.parametrize("n_s", [-2, 8, 2.5, True, "3"])
def test_n_s_out_of_range_is_a_clear_error(data, n_s):
  with pytest.raises(ValueError, match="n_s"):
    weak_pairs.WeakPairSampler(data, n_s=n_s)


def test_n_s_out_of_range_from_gin(data):
  gin.parse_config("weak_pairs.n_s = 9")
  with pytest.raises(ValueError, match=r"n_s .*\[0, 7\]"):
    weak_pairs.weak_pair_dataset(data, 4, seed=0)


def test_single_valued_factor_is_guarded():
  class OneValued(synthetic_mpi3d.SyntheticMPI3D):

    @property
    def factors_num_values(self):
      return [6, 6, 1, 3, 3, 40, 40]

  with pytest.raises(ValueError, match="fewer than 2 values"):
    weak_pairs.WeakPairSampler(OneValued(), n_s=3)


def test_tf_dataset_is_deterministic_and_resumable(data):
  def take(start, num):
    dataset = weak_pairs.weak_pair_dataset(data, 4, seed=11, n_s=5,
                                           start_index=start, num_batches=num)
    return [[np.asarray(t) for t in (x1, x2, mask, f1, f2, known)]
            for (x1, x2), mask, (f1, f2), known in dataset]

  first = take(0, 3)
  again = take(0, 3)
  resumed = take(2, 1)
  assert len(first) == 3
  x1, x2, mask, f1, f2, known = first[0]
  assert x1.shape == x2.shape == (4, 64, 64, 3) and x1.dtype == np.float32
  assert known.shape == (4,) and np.all(~mask[np.arange(4), known])
  assert mask.shape == (4, 7) and mask.dtype == bool
  assert np.all(mask.sum(axis=1) == 5)
  np.testing.assert_array_equal(mask, f1 == f2)
  for a, b in zip(first, again):
    for x, y in zip(a, b):
      np.testing.assert_array_equal(x, y)
  for x, y in zip(first[2], resumed[0]):
    np.testing.assert_array_equal(x, y)
  # Different batches differ.
  assert not np.array_equal(first[0][3], first[1][3])


@pytest.mark.parametrize("n_s", [0, 3, 5])
def test_known_factor_is_a_uniform_changed_factor(data, n_s):
  sampler = weak_pairs.WeakPairSampler(data, n_s=n_s)
  _, _, mask = sampler.sample_factors(7000, np.random.RandomState(n_s))
  known = sampler.sample_known_factor(mask, np.random.RandomState(100 + n_s))
  rows = np.arange(len(mask))
  assert np.all(~mask[rows, known])  # always a changed factor
  # Uniform among the changed ones: each factor is the label of a pair in
  # which it changed with probability 1 / (7 - n_s). Chi-square over the
  # factors, with expected counts from the changed masks themselves.
  expected = (~mask / (~mask).sum(1, keepdims=True)).sum(0)
  observed = np.bincount(known, minlength=7)
  assert stats.chisquare(observed, expected).pvalue > 1e-3
  # A biased choice (the first changed factor) is rejected.
  first = (~mask).argmax(1)
  assert stats.chisquare(np.bincount(first, minlength=7),
                         expected).pvalue < 1e-6


def test_known_factor_is_minus_one_without_changed_factors(data):
  pairs = weak_pairs.sample_weak_pairs(data, 5, np.random.RandomState(0),
                                       n_s=7)
  np.testing.assert_array_equal(pairs.known_factor, -1)
  pairs = weak_pairs.sample_weak_pairs(data, 5, np.random.RandomState(0),
                                       n_s=6)
  changed = (~pairs.shared_mask).argmax(1)
  np.testing.assert_array_equal(pairs.known_factor, changed)

"""drpm_tf.statistics: the sample standard deviation the reports state."""
import numpy as np
import pytest

from drpm_tf import statistics


def test_mean_and_sample_std_match_numpy_ddof_1():
  values = np.random.RandomState(0).randn(7)
  mean, std, count = statistics.mean_std(values)
  assert mean == pytest.approx(values.mean(), rel=1e-12)
  assert std == pytest.approx(values.std(ddof=1), rel=1e-12)
  assert std != pytest.approx(values.std(ddof=0), rel=1e-3)
  assert count == 7


def test_missing_values_are_skipped():
  assert statistics.mean_std([0.2, None, float("nan"), np.float32("nan"),
                              0.4]) == pytest.approx((0.3, 0.1414214, 2))
  assert statistics.mean_std([None, float("nan")]) is None
  assert statistics.mean_std([]) is None


def test_one_value_has_std_zero():
  assert statistics.mean_std([0.5]) == (0.5, 0., 1)


def test_format():
  assert statistics.format_mean_std((0.3, 0.1414214, 2)) == "0.300 ± 0.141"
  assert statistics.format_mean_std((2., 1.41421, 2), 2) == "2.00 ± 1.41"
  assert statistics.format_mean_std(None) == "-"

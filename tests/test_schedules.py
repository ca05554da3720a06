"""The exponential annealing schedule of paper Appendix C.3.4."""

import numpy as np
import pytest
import tensorflow as tf

from drpm_tf.schedules import ExponentialAnnealing, paper_schedules


def test_decreasing_schedule_matches_paper_formula():
  schedule = ExponentialAnnealing(1., 0.5, 100_000)
  steps = np.array([0, 1, 5_000, 50_000, 99_999, 100_000, 250_000])
  rate = np.log(1. / 0.5) / 100_000
  want = np.maximum(0.5, np.exp(-rate * steps))  # tau = max(tau_final, exp(-r t))
  np.testing.assert_allclose([float(schedule(s)) for s in steps], want, rtol=1e-6)
  assert schedule.rate == pytest.approx(rate)


def test_increasing_schedule_for_loss_weights_and_paper_values():
  schedules = paper_schedules(num_steps=1000)
  for name, (first, last) in dict(beta=(0.01, 0.1), gamma=(0.1, 1.),
                                  delta=(1e-4, 1e-3),
                                  temperature=(1., 0.5)).items():
    schedule = schedules[name]
    assert float(schedule(0)) == pytest.approx(first)
    assert float(schedule(1000)) == pytest.approx(last, rel=1e-6)
    assert float(schedule(5000)) == pytest.approx(last, rel=1e-6)
    mid = float(schedule(500))
    assert mid == pytest.approx(np.sqrt(first * last), rel=1e-5)  # geometric


def test_schedule_serializes_and_works_in_tf_function():
  schedule = ExponentialAnnealing(0.1, 1., 10, name='gamma')
  clone = tf.keras.optimizers.schedules.deserialize(
      tf.keras.optimizers.schedules.serialize(schedule))
  assert clone.get_config() == schedule.get_config()
  step = tf.Variable(3, dtype=tf.int64)
  value = tf.function(lambda: schedule(step))()
  assert float(value) == pytest.approx(0.1 * 10**0.3, rel=1e-6)


@pytest.mark.parametrize('kwargs,match', [
    (dict(initial=0., final=1., num_steps=10), 'initial'),
    (dict(initial=1., final=-1., num_steps=10), 'final'),
    (dict(initial=1., final=np.nan, num_steps=10), 'final'),
    (dict(initial=1., final=0.5, num_steps=0), 'num_steps'),
    (dict(initial=1., final=0.5, num_steps=2.5), 'num_steps'),
])
def test_invalid_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    ExponentialAnnealing(**kwargs)

"""DRPMLayer: sampling, schedules, serialization round trip."""

import numpy as np
import pytest
import tensorflow as tf

from drpm_tf.layers import DRPMLayer
from drpm_tf.schedules import ExponentialAnnealing

K, N = 3, 6


def _model(**layer_kwargs):
  x = tf.keras.Input(shape=(4,))
  log_weights = tf.keras.layers.Dense(K)(x)
  log_scores = tf.keras.layers.Dense(N)(x)
  y = DRPMLayer(**layer_kwargs)([log_weights, log_scores])
  return tf.keras.Model(x, y)


def _inputs():
  return np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)


@pytest.mark.parametrize('temperature', [0.3, ExponentialAnnealing(1., 0.5, 10)])
def test_save_load_round_trip_gives_identical_samples(tmp_path, temperature):
  model = _model(temperature=temperature, seed=3, num_samples=2)
  path = str(tmp_path / 'model.keras')
  model.save(path)
  loaded = tf.keras.models.load_model(path)
  x = _inputs()
  first = model(x).numpy()
  assert first.shape == (2, 5, K, N)
  np.testing.assert_array_equal(loaded(x).numpy(), first)
  # The seed state advances: the next call draws a different partition.
  assert not np.array_equal(model(x).numpy(), first)
  assert loaded.layers[-1].get_config() == model.layers[-1].get_config()


def test_outputs_are_partitions_and_components_are_consistent():
  layer = DRPMLayer(temperature=0.5, return_components=True, seed=1)
  log_weights = tf.zeros([2, K])
  log_scores = tf.random.stateless_normal([2, N], seed=[1, 1])
  y, counts, permutation = layer([log_weights, log_scores])
  assert y.shape == (2, K, N) and counts.shape == (2, K)
  assert permutation.shape == (2, N, N)
  np.testing.assert_array_equal(tf.reduce_sum(y, -2).numpy(), 1.)
  np.testing.assert_array_equal(tf.reduce_sum(y, -1).numpy(), counts.numpy())
  # An explicit stateless seed is reproducible.
  a = layer([log_weights, log_scores], seed=tf.constant([7, 7]))[0]
  b = layer([log_weights, log_scores], seed=tf.constant([7, 7]))[0]
  np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_temperature_schedule_follows_step_and_variable_can_be_assigned():
  layer = DRPMLayer(temperature=ExponentialAnnealing(1., 0.5, 10))
  layer([tf.zeros([K]), tf.zeros([N])])
  assert float(layer.current_temperature()) == pytest.approx(1.)
  layer.step.assign(10)
  assert float(layer.current_temperature()) == pytest.approx(0.5)
  assert float(layer.current_temperature(step=5)) == pytest.approx(0.5**0.5)
  fixed = DRPMLayer(temperature=0.8)
  fixed([tf.zeros([K]), tf.zeros([N])])
  fixed.temperature.assign(0.2)
  assert float(fixed.current_temperature()) == pytest.approx(0.2)


def test_gradients_reach_upstream_layers():
  model = _model(temperature=0.5, seed=2)
  target = tf.constant(np.random.default_rng(1).normal(size=(K, N)), tf.float32)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(model(_inputs()) * target)
  grads = tape.gradient(loss, model.trainable_variables)
  assert len(grads) == 4
  for grad in grads:
    assert np.all(np.isfinite(grad.numpy())) and np.any(grad.numpy() != 0.)


@pytest.mark.parametrize('kwargs,match', [
    (dict(temperature=0.), 'temperature'),
    (dict(temperature=-1.), 'temperature'),
    (dict(num_samples=0), 'num_samples'),
])
def test_invalid_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    DRPMLayer(**kwargs)


class _LinearSchedule(tf.keras.optimizers.schedules.LearningRateSchedule):
  """A schedule class Keras does not know: needs `custom_objects`."""

  def __init__(self, start, slope):
    self.start, self.slope = start, slope

  def __call__(self, step):
    return self.start + self.slope * tf.cast(step, tf.float32)

  def get_config(self):
    return dict(start=self.start, slope=self.slope)


@pytest.mark.parametrize('schedule,custom_objects', [
    (ExponentialAnnealing(1., 0.5, 10), None),  # registered with Keras
    (_LinearSchedule(2., -0.1), {'_LinearSchedule': _LinearSchedule}),
])
def test_get_config_from_config_round_trip_with_a_schedule(schedule,
                                                           custom_objects):
  layer = DRPMLayer(temperature=schedule, num_samples=3, seed=4)
  config = layer.get_config()
  assert isinstance(config['temperature'], dict)  # serialized, JSON-able
  restored = DRPMLayer.from_config(config, custom_objects=custom_objects)
  assert type(restored._temperature_arg) is type(schedule)  # pylint: disable=protected-access
  assert restored.get_config() == config
  for step in (0, 7):
    assert float(restored.current_temperature(step)) == pytest.approx(
        float(schedule(step)))
  # The same through Keras' generic deserialization, with a custom scope.
  with tf.keras.utils.custom_object_scope(custom_objects or {}):
    generic = tf.keras.layers.deserialize(
        tf.keras.layers.serialize(layer))
  assert generic.get_config() == config


def test_unknown_schedule_class_is_an_error():
  config = DRPMLayer(temperature=_LinearSchedule(2., -0.1)).get_config()
  with pytest.raises(ValueError, match='_LinearSchedule'):
    DRPMLayer.from_config(config)


def test_mixed_precision_policy_samples_in_float32_and_returns_float16():
  layer = DRPMLayer(temperature=0.5, seed=1, return_components=True,
                    dtype='mixed_float16')
  log_weights = tf.zeros([2, K], tf.float16)
  log_scores = tf.cast(tf.linspace(-1., 1., N), tf.float16)
  y, counts, permutation = layer([log_weights, log_scores])
  assert y.dtype == counts.dtype == permutation.dtype == tf.float16
  np.testing.assert_array_equal(tf.reduce_sum(y, -2).numpy(), 1.)
  reference = DRPMLayer(temperature=0.5, seed=1, return_components=True)
  np.testing.assert_array_equal(
      reference([tf.zeros([2, K]), tf.linspace(-1., 1., N)])[0].numpy(),
      y.numpy())

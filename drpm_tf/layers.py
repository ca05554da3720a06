"""Keras layers around the DRPM distributions."""

import numpy as np
import tensorflow as tf

from drpm_tf.distributions import DifferentiableRandomPartition

__all__ = ['DRPMLayer']


@tf.keras.utils.register_keras_serializable(package='drpm_tf')
class DRPMLayer(tf.keras.layers.Layer):
  """Samples a relaxed partition `Y` from `[log_weights, log_scores]` inputs.

  Inputs: `log_weights` `[..., K]` and `log_scores` `[..., n]` (broadcasting
  batch dims, as in `DifferentiableRandomPartition`). Output: `Y`
  `[num_samples?, ..., K, n]`, or `(Y, counts, permutation)` with
  `return_components=True`.

  The temperature is either a float, held in the non-trainable weight
  `temperature` (assign to it to anneal by hand), or a Keras
  `LearningRateSchedule` (e.g. `drpm_tf.schedules.ExponentialAnnealing`)
  evaluated at the non-trainable weight `step`, which the training loop
  advances (`layer.step.assign_add(1)`) or which `call(..., step=...)`
  overrides. A schedule is serialized in `get_config` and deserialized in
  `from_config` (with `custom_objects` for unregistered schedule classes), as
  Keras does for an optimizer's learning-rate schedule. Randomness comes from
  the stateless seed `seed_state` (a non-trainable weight derived from
  `seed`, advanced at each call), so a model saved and loaded back produces
  identical samples; `call(..., seed=...)` uses an explicit stateless seed
  instead.

  Under a mixed-precision policy (float16 or bfloat16 compute dtype) the
  partition is sampled in float32, which the distributions require, and the
  outputs are cast to the compute dtype.
  """

  def __init__(self, temperature=0.5, hard=True, num_samples=None,
               return_components=False, seed=None, **kwargs):
    super().__init__(**kwargs)
    if not isinstance(temperature,
                      tf.keras.optimizers.schedules.LearningRateSchedule):
      try:
        value = float(temperature)
      except (TypeError, ValueError):
        value = np.nan
      if not np.isfinite(value) or value <= 0:
        raise ValueError('Argument `temperature` must be a finite float > 0 '
                         f'or a LearningRateSchedule, got {temperature!r}.')
      temperature = value
    if num_samples is not None and (int(num_samples) != num_samples or
                                    num_samples < 1):
      raise ValueError('Argument `num_samples` must be None or an integer '
                       f'>= 1, got {num_samples}.')
    self._temperature_arg = temperature
    self.hard = bool(hard)
    self.num_samples = None if num_samples is None else int(num_samples)
    self.return_components = bool(return_components)
    self.seed = seed

  def build(self, input_shape):
    initial = (0.5 if callable(self._temperature_arg)
               else self._temperature_arg)
    self.temperature = self.add_weight(
        name='temperature', shape=(), trainable=False,
        initializer=tf.keras.initializers.Constant(initial))
    self.step = self.add_weight(name='step', shape=(), dtype=tf.int64,
                                trainable=False, initializer='zeros')
    seed = (self.seed if self.seed is not None
            else np.random.randint(0, 2**31 - 1))
    self.seed_state = self.add_weight(
        name='seed_state', shape=(2,), dtype=tf.int32, trainable=False,
        initializer=tf.keras.initializers.Constant([int(seed), 0]))
    super().build(input_shape)

  def _sampling_dtype(self):
    """The compute dtype, or float32 for half precision (see the class doc)."""
    dtype = tf.as_dtype(self.compute_dtype)
    return tf.float32 if dtype in (tf.float16, tf.bfloat16) else dtype

  def current_temperature(self, step=None):
    """The temperature used by the next call (at `step` if given)."""
    if callable(self._temperature_arg):
      return tf.cast(self._temperature_arg(self.step if step is None else step),
                     self._sampling_dtype())
    return tf.cast(self.temperature, self._sampling_dtype())

  def _next_seed(self):
    seeds = tf.random.experimental.stateless_split(self.seed_state, num=2)
    self.seed_state.assign(seeds[0])
    return seeds[1]

  def call(self, inputs, seed=None, step=None):
    log_weights, log_scores = inputs
    dtype = self._sampling_dtype()
    dist = DifferentiableRandomPartition(
        log_weights=tf.cast(log_weights, dtype),
        log_scores=tf.cast(log_scores, dtype),
        temperature=self.current_temperature(step),
        hard=self.hard)
    sample = dist.sample_components(
        () if self.num_samples is None else (self.num_samples,),
        seed=self._next_seed() if seed is None else seed)
    sample = [tf.cast(x, self.compute_dtype) for x in sample]
    if self.return_components:
      return tuple(sample)
    return sample[0]

  def get_config(self):
    config = super().get_config()
    temperature = self._temperature_arg
    if callable(temperature):
      temperature = tf.keras.optimizers.schedules.serialize(temperature)
    config.update(temperature=temperature, hard=self.hard,
                  num_samples=self.num_samples,
                  return_components=self.return_components, seed=self.seed)
    return config

  @classmethod
  def from_config(cls, config, custom_objects=None):
    config = dict(config)
    if isinstance(config.get('temperature'), dict):  # a serialized schedule
      config['temperature'] = tf.keras.optimizers.schedules.deserialize(
          config['temperature'], custom_objects=custom_objects)
    return cls(**config)

"""Annealing schedules for temperatures and loss weights (paper Appendix C.3.4).

The paper anneals the Gumbel-softmax temperature with the exponential schedule
of Jang et al., `tau = max(tau_final, exp(-r t))`, and the loss weights
`beta, gamma, delta` "with the same schedule" from `0.1 x final` up to `final`,
with `r` chosen so the final value is reached after `num_steps` (100k) steps.
`ExponentialAnnealing` is that schedule in both directions:

```none
value(t) = initial * (final / initial) ** (min(t, num_steps) / num_steps)
```

i.e. `max(final, initial exp(-r t))` when decreasing and
`min(final, initial exp(r t))` when increasing, with `r = |log(final / initial)|
/ num_steps`. It is a Keras `LearningRateSchedule`, so it serializes with a
model and can also drive an optimizer's learning rate.
"""

import numpy as np
import tensorflow as tf

__all__ = ['ExponentialAnnealing', 'paper_schedules']


@tf.keras.utils.register_keras_serializable(package='drpm_tf')
class ExponentialAnnealing(tf.keras.optimizers.schedules.LearningRateSchedule):
  """Exponential interpolation from `initial` to `final` over `num_steps` steps."""

  def __init__(self, initial, final, num_steps, name=None):
    """Builds the schedule.

    Args:
      initial: value at step 0, > 0.
      final: value from step `num_steps` on, > 0.
      num_steps: number of steps to reach `final`, >= 1.
      name: optional name.
    """
    super().__init__()
    for arg, value in (('initial', initial), ('final', final)):
      if not np.isfinite(value) or value <= 0:
        raise ValueError(f'Argument `{arg}` must be finite and > 0, got {value}.')
    if int(num_steps) != num_steps or num_steps < 1:
      raise ValueError(f'Argument `num_steps` must be an integer >= 1, got '
                       f'{num_steps}.')
    self.initial = float(initial)
    self.final = float(final)
    self.num_steps = int(num_steps)
    self.name = name

  @property
  def rate(self):
    """`r` of the paper: `|log(final / initial)| / num_steps`."""
    return abs(np.log(self.final / self.initial)) / self.num_steps

  def __call__(self, step):
    with tf.name_scope(self.name or 'ExponentialAnnealing'):
      progress = tf.minimum(tf.cast(step, tf.float32) / self.num_steps, 1.)
      progress = tf.maximum(progress, 0.)
      return self.initial * tf.exp(
          progress * float(np.log(self.final / self.initial)))

  def get_config(self):
    return dict(initial=self.initial, final=self.final,
                num_steps=self.num_steps, name=self.name)


def paper_schedules(num_steps=100_000):
  """The schedules of Appendix C.3.4: temperature 1 -> 0.5 and the loss weights
  `beta: 0.01 -> 0.1`, `gamma: 0.1 -> 1`, `delta: 1e-4 -> 1e-3`."""
  return dict(
      temperature=ExponentialAnnealing(1., 0.5, num_steps, name='temperature'),
      beta=ExponentialAnnealing(0.01, 0.1, num_steps, name='beta'),
      gamma=ExponentialAnnealing(0.1, 1., num_steps, name='gamma'),
      delta=ExponentialAnnealing(1e-4, 1e-3, num_steps, name='delta'))

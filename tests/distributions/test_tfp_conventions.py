"""The distributions follow TFP's conventions: composite tensors, default
bijectors, validation of `tf.Variable` parameters at use, dtypes, messages."""

import inspect
import logging

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from drpm_tf.distributions import DifferentiableRandomPartition
from drpm_tf.distributions import NoncentralMultivariateHypergeometric
from drpm_tf.distributions import RelaxedNoncentralMultivariateHypergeometric
from drpm_tf.distributions import RelaxedPlackettLuce

_ERRORS = (ValueError, tf.errors.InvalidArgumentError)


def _examples():
  return {
      'mvhg': NoncentralMultivariateHypergeometric(
          5., [4., 4., 4.], [0.5, -1., 0.]),
      'relaxed_mvhg': RelaxedNoncentralMultivariateHypergeometric(
          0.5, 5., [4., 4., 4.], [0.5, -1., 0.]),
      'plackett_luce': RelaxedPlackettLuce(0.5, [1., 0., -1., 0.5]),
      'drpm': DifferentiableRandomPartition([0.5, -1.], [1., 0., -1., 0.5],
                                            0.5),
  }


@pytest.mark.parametrize('name', ['mvhg', 'relaxed_mvhg', 'plackett_luce',
                                  'drpm'])
def test_composite_tensor_round_trip_through_tf_function(name):
  dist = _examples()[name]
  assert isinstance(dist, tfp.distributions.AutoCompositeTensorDistribution)
  event = dist.sample(3, seed=(1, 2))
  components = tf.nest.flatten(dist, expand_composites=True)
  assert components and all(tf.is_tensor(c) for c in components)
  # The distribution itself crosses the tf.function boundary and is rebuilt.
  log_prob = tf.function(lambda d, x: d.log_prob(x))
  np.testing.assert_allclose(log_prob(dist, tf.stop_gradient(event)).numpy(),
                             dist.log_prob(event).numpy(), rtol=1e-6)
  rebuilt = tf.nest.pack_sequence_as(dist, components, expand_composites=True)
  assert type(rebuilt) is type(dist)
  assert rebuilt.event_shape == dist.event_shape
  assert rebuilt.batch_shape == dist.batch_shape


@pytest.mark.parametrize('name', ['mvhg', 'relaxed_mvhg', 'plackett_luce',
                                  'drpm'])
def test_parameter_properties_are_the_constructor_tensor_arguments(name,
                                                                   caplog):
  dist = _examples()[name]
  with caplog.at_level(logging.WARNING):
    properties = dist.parameter_properties()
  assert 'parameter_properties' not in caplog.text  # TFP's inheritance warning
  arguments = set(inspect.signature(type(dist)).parameters) - {
      'hard', 'validate_args', 'allow_nan_stats', 'name'}
  assert set(properties) == arguments


@pytest.mark.parametrize('name', ['relaxed_mvhg', 'plackett_luce', 'drpm'])
def test_temperature_has_a_positive_default_bijector(name):
  properties = _examples()[name].parameter_properties(tf.float32)
  bijector = properties['temperature'].default_constraining_bijector_fn()
  assert isinstance(bijector, tfp.bijectors.Softplus)
  values = bijector.forward(tf.constant([-80., 0., 30.])).numpy()
  assert np.all(values > 0.)
  np.testing.assert_allclose(
      bijector.forward(bijector.inverse(tf.constant(0.3))).numpy(), 0.3,
      rtol=1e-6)


def test_temperature_shapes_follow_the_event():
  # The temperature is per batch member: sample shape minus the event.
  sample_shape = tf.TensorShape([7, 3, 5])
  for dist, want in ((_examples()['relaxed_mvhg'], [7, 3]),
                     (_examples()['plackett_luce'], [7]),
                     (_examples()['drpm'], [7])):
    properties = dist.parameter_properties(tf.float32)
    assert list(properties['temperature'].shape_fn(sample_shape)) == want


@pytest.mark.parametrize('validate_args', [True, False])
def test_drpm_passes_validate_args_and_allow_nan_stats_on(validate_args):
  drpm = DifferentiableRandomPartition([0., 1.], [0., 1., 2.], 0.5,
                                       validate_args=validate_args,
                                       allow_nan_stats=not validate_args)
  for inner in (drpm.counts_distribution(), drpm.permutation_distribution()):
    assert inner.validate_args == validate_args
    assert inner.allow_nan_stats == (not validate_args)


def _variable_cases():
  """(name, build(variables), variable key, bad value, use, argument name)."""
  perm = np.eye(4)
  y = np.array([[1., 0., 1., 0.], [0., 1., 0., 1.]])
  return [
      ('plackett_luce', lambda v: RelaxedPlackettLuce(
          v['temperature'], v['log_scores'], validate_args=True),
       'temperature', -0.5, lambda d: d.sample(2, seed=(1, 1)), 'temperature'),
      ('plackett_luce', lambda v: RelaxedPlackettLuce(
          v['temperature'], v['log_scores'], validate_args=True),
       'log_scores', [0., np.nan, 1., 2.], lambda d: d.log_prob(perm),
       'log_scores'),
      ('mvhg', lambda v: NoncentralMultivariateHypergeometric(
          4., v['num_balls'], v['log_weights'], validate_args=True),
       'log_weights', [np.inf, 0.], lambda d: d.log_prob([2., 2.]),
       'log_weights'),
      ('mvhg', lambda v: NoncentralMultivariateHypergeometric(
          4., v['num_balls'], v['log_weights'], validate_args=True),
       'num_balls', [4., 1.5], lambda d: d.sample(2, seed=(1, 1)),
       'num_balls'),
      ('relaxed_mvhg', lambda v: RelaxedNoncentralMultivariateHypergeometric(
          v['temperature'], 4., v['num_balls'], v['log_weights'],
          validate_args=True),
       'temperature', 0., lambda d: d.sample(2, seed=(1, 1)), 'temperature'),
      ('relaxed_mvhg', lambda v: RelaxedNoncentralMultivariateHypergeometric(
          v['temperature'], 4., v['num_balls'], v['log_weights'],
          validate_args=True),
       'log_weights', [-np.inf, -np.inf], lambda d: d.log_prob([0., 4.]),
       'log_weights'),  # masking is allowed, but 4 balls must remain
      ('drpm', lambda v: DifferentiableRandomPartition(
          v['log_weights'], v['log_scores'], v['temperature'],
          validate_args=True),
       'log_weights', [-np.inf, -np.inf], lambda d: d.log_prob(y),
       'log_weights'),
      ('drpm', lambda v: DifferentiableRandomPartition(
          v['log_weights'], v['log_scores'], v['temperature'],
          validate_args=True),
       'log_scores', [0., 1., np.inf, 0.], lambda d: d.sample(seed=(1, 1)),
       'log_scores'),
      ('drpm', lambda v: DifferentiableRandomPartition(
          v['log_weights'], v['log_scores'], v['temperature'],
          validate_args=True),
       'temperature', -1., lambda d: d.log_prob_lower_bound(y),
       'temperature'),
  ]


@pytest.mark.parametrize('case', _variable_cases(),
                         ids=lambda case: f'{case[0]}-{case[2]}')
def test_variable_parameter_changed_after_construction_is_checked_at_use(
    case):
  _, build, key, bad, use, argument = case
  variables = {
      'temperature': tf.Variable(0.5, dtype=tf.float64),
      'log_scores': tf.Variable([1., 0., -1., 0.5], dtype=tf.float64),
      'log_weights': tf.Variable([0.5, -1.], dtype=tf.float64),
      'num_balls': tf.Variable([4., 4.], dtype=tf.float64),
  }
  dist = build(variables)
  use(dist)  # valid values pass
  variables[key].assign(bad)
  with pytest.raises(tf.errors.InvalidArgumentError, match=argument):
    use(dist)


@pytest.mark.parametrize('dtype', [tf.float16, tf.bfloat16])
@pytest.mark.parametrize('build,argument', [
    (lambda d: DifferentiableRandomPartition(
        tf.zeros([2], d), [0., 1., 2.], 0.5), 'log_weights'),
    (lambda d: DifferentiableRandomPartition(
        [0., 1.], tf.zeros([3], d), 0.5), 'log_scores'),
    (lambda d: RelaxedPlackettLuce(tf.constant(0.5, d), [0., 1.]),
     'temperature'),
    (lambda d: NoncentralMultivariateHypergeometric(
        3., [3., 3.], tf.zeros([2], d)), 'log_weights'),
    (lambda d: RelaxedNoncentralMultivariateHypergeometric(
        0.5, 3., tf.constant([3., 3.], d), [0., 0.]), 'num_balls'),
])
def test_half_precision_is_refused_at_construction_naming_the_argument(
    dtype, build, argument):
  with pytest.raises(TypeError) as error:
    build(dtype)
  message = str(error.value)
  assert f'`{argument}`' in message and 'float32 or float64' in message
  assert '\n' not in message


def test_validation_messages_have_a_single_final_period():
  checks = [
      lambda: RelaxedPlackettLuce(-1., [0., 1.], validate_args=True),
      lambda: DifferentiableRandomPartition([0.], [0., 1.], -1.,
                                            validate_args=True),
      lambda: RelaxedNoncentralMultivariateHypergeometric(
          -1., 2., [2., 2.], [0., 0.], validate_args=True),
      lambda: NoncentralMultivariateHypergeometric(-1., [2., 2.], [0., 0.],
                                                   validate_args=True),
      lambda: NoncentralMultivariateHypergeometric(2., [-2., 4.], [0., 0.],
                                                   validate_args=True),
      lambda: NoncentralMultivariateHypergeometric(
          2., [2., 2.], [0., 0.], validate_args=True).log_prob([1., 0.]),
      lambda: NoncentralMultivariateHypergeometric(
          2., [2., 2.], [0., 0.], validate_args=True).log_prob([-1., 3.]),
  ]
  for check in checks:
    with pytest.raises(_ERRORS) as error:
      check()
    first_line = str(error.value).splitlines()[0]
    assert 'Argument `' in first_line, first_line
    assert '..' not in first_line, first_line

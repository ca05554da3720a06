"""The generative DRPM-VAE: training, resuming, evaluation and figures on digits."""

import json
import os

import gin
import numpy as np
import pytest
from scipy import stats
import tensorflow as tf

from drpm_tf import datasets
from drpm_tf import generative_figures
from drpm_tf import gin_configs
from drpm_tf import errors
from drpm_tf import prior_purity
from drpm_tf import training
from drpm_tf.distributions import DifferentiableRandomPartition
from drpm_tf.distributions import RelaxedPlackettLuce
from drpm_tf.models import DRPMVAE

# Small but real: the paper's model shape scaled down so a run takes seconds.
_BINDINGS = """
load_dataset.name = 'digits'
drpm_vae.encoder_units = (128, 128, 256)
drpm_vae.num_partition_samples = 10
drpm_vae.anneal_steps = 150
train_generative.batch_size = 128
train_generative.learning_rate = 0.001
train_generative.log_every = 10
train_generative.progress = False
"""


def _train(model_dir, num_steps, checkpoint_every=50, kl_estimator='bound',
           **kwargs):
  gin.clear_config()
  gin.parse_config(_BINDINGS)
  gin.bind_parameter('drpm_vae.kl_estimator', kl_estimator)
  return training.train_generative(model_dir, num_steps=num_steps,
                                   checkpoint_every=checkpoint_every, **kwargs)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  """The two-stage recipe at a small scale: pretraining, mixture, training."""
  model_dir = str(tmp_path_factory.mktemp('digits_run'))
  model = _train(model_dir, num_steps=150, prior_init='mixture',
                 pretrain_steps=200, refit_every=25, refit_until=125)
  return model, model_dir


def test_training_decreases_the_loss_and_writes_results(trained):
  model, model_dir = trained
  data = datasets.load_dataset('digits')
  x = tf.constant(data.x_train[:128])
  fresh = DRPMVAE(input_dim=64, encoder_units=(128, 128, 256),
                  num_partition_samples=10, anneal_steps=150)
  # Compare at the same schedule step so only the parameters differ.
  step = tf.constant(150, tf.int64)
  before = float(fresh.compute_losses(x, step)['loss'])
  after = float(model.compute_losses(x, step)['loss'])
  assert np.isfinite(after) and after < 0.8 * before
  for name in ('operative_config.gin', 'results/train.json'):
    assert os.path.isfile(os.path.join(model_dir, name))
  assert os.listdir(os.path.join(model_dir, 'tensorboard'))


def test_evaluation_metrics_finite_and_trained_prior_beats_broken_prior(trained):
  model, model_dir = trained
  result = training.evaluate_generative(model_dir, samples_per_prior=20)
  for method in ('model', 'kmeans'):
    for value in result[method].values():
      assert np.isfinite(value) and -1. <= value <= 1.
  with open(os.path.join(model_dir, 'results', 'evaluation.json')) as f:
    assert json.load(f) == result
  purity = result['prior_purity']
  assert len(purity['share']) == len(purity['majority_digit']) == 10
  assert all(0.05 <= v <= 1. for v in purity['share'])
  assert 1 <= purity['distinct_digits'] <= 10
  assert purity['classifier_test_accuracy'] > 0.9
  text = training.format_evaluation(result)
  assert 'DRPM-VAE' in text and 'distinct digits' in text
  data = datasets.load_dataset('digits')
  trained_acc = training.clustering_accuracy(
      data.y_test, model.predict_clusters(data.x_test))
  assert trained_acc == pytest.approx(result['model']['acc'])
  # Broken prior: every prior equal to the first one -> no cluster information.
  means = model.prior_means.numpy()
  log_vars = model.prior_log_vars.numpy()
  model.prior_means.assign(np.repeat(means[:1], len(means), 0))
  model.prior_log_vars.assign(np.repeat(log_vars[:1], len(log_vars), 0))
  broken_acc = training.clustering_accuracy(
      data.y_test, model.predict_clusters(data.x_test))
  model.prior_means.assign(means)
  model.prior_log_vars.assign(log_vars)
  assert trained_acc > 0.3
  assert trained_acc > broken_acc + 0.15


def test_evaluation_assigns_by_prior_density_ignoring_the_weights(trained):
  model, _ = trained
  data = datasets.load_dataset('digits')
  x = data.x_test[:100]
  mean = model.encode(x)[0].numpy()
  means = model.prior_means.numpy().astype(np.float64)
  variances = np.exp(model.prior_log_vars.numpy().astype(np.float64))
  log_density = np.stack([stats.multivariate_normal(
      means[k], np.diag(variances[k])).logpdf(mean) for k in range(10)], 1)
  log_weights = model.prior_log_weights.numpy()
  try:
    # Weights that would move many points under a Bayes (weighted) rule.
    model.prior_log_weights.assign(np.linspace(0., 60., 10, dtype=np.float32))
    weighted = (log_density + np.linspace(0., 60., 10)).argmax(1)
    clusters = model.predict_clusters(x)
  finally:
    model.prior_log_weights.assign(log_weights)
  np.testing.assert_array_equal(clusters, log_density.argmax(1))
  assert np.mean(weighted != clusters) > 0.2


def test_initialization_is_evaluated_on_its_own(trained):
  model, model_dir = trained
  result = training.evaluate_generative(model_dir, samples_per_prior=10,
                                        stage='initialization')
  assert result['stage'] == 'initialization'
  assert os.path.isfile(os.path.join(model_dir, 'results',
                                     'evaluation_initialization.json'))
  initial, _ = training.load_trained_model(model_dir, 'initialization')
  # The initialization's priors are the mixture's, before training moved them.
  assert not np.allclose(initial.prior_means.numpy(),
                         model.prior_means.numpy())
  with pytest.raises(ValueError, match='stage'):
    training.load_trained_model(model_dir, 'middle')


def test_clustering_accuracy_uses_the_best_label_map():
  labels = np.array([0, 0, 1, 1, 2, 2])
  assert training.clustering_accuracy(labels, [2, 2, 0, 0, 1, 1]) == 1.
  assert training.clustering_accuracy(labels, [0, 1, 0, 1, 0, 1]) == \
      pytest.approx(2 / 6)


def test_sample_figures_are_valid_pngs(trained, tmp_path):
  model, _ = trained
  paths = generative_figures.write_figures(model, (8, 8), str(tmp_path),
                                           num_elements=16,
                                           samples_per_prior=4)
  for path in paths:
    with open(path, 'rb') as f:
      assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    import matplotlib.image  # pylint: disable=g-import-not-at-top
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50


def test_partition_purity_report_matches_the_drawn_partition(trained):
  model, _ = trained
  data = datasets.load_dataset('digits')
  classifier = prior_purity.train_digit_classifier(data.x_train, data.y_train)
  report = generative_figures.purity_report(model, classifier,
                                            num_elements=16, num_partitions=3,
                                            seed=5)
  subset, images = prior_purity.sample_partition(model, 16, seed=5)
  assert report['drawn_partition'] == prior_purity.subset_purity(
      subset, classifier.predict(images))
  pooled = report['pooled']
  assert pooled['num_partitions'] == 3 and 0. <= pooled['fraction_pure'] <= 1.
  assert pooled['subsets'] >= 3 and pooled['pure'] <= pooled['subsets']


class _Crash(Exception):
  pass


def _crash_on_call(monkeypatch, module, name, call):
  """Makes the `call`-th call (1-based) of `module.name` raise `_Crash`."""
  original = getattr(module, name)
  calls = []

  def wrapper(*args, **kwargs):
    calls.append(None)
    if len(calls) == call:
      raise _Crash(f'{name} call {call}')
    return original(*args, **kwargs)
  monkeypatch.setattr(module, name, wrapper)


def _crash_in_pretraining_step(monkeypatch, crash_step):
  """Makes pretraining raise `_Crash` when it reaches step `crash_step`."""
  original = training._batch_indices  # pylint: disable=protected-access

  def batch_indices(num_examples, batch_size, step, seed, stream=()):
    if stream == training._PRETRAIN_STREAM and step == crash_step:  # pylint: disable=protected-access
      raise _Crash(f'pretraining step {step}')
    return original(num_examples, batch_size, step, seed, stream)
  monkeypatch.setattr(training, '_batch_indices', batch_indices)


_TWO_STAGES = dict(num_steps=8, pretrain_steps=6, checkpoint_every=2,
                   prior_init='mixture', refit_every=2, refit_until=4)


def test_resume_across_the_stage_boundary_is_bit_identical(tmp_path,
                                                            monkeypatch):
  gin.clear_config()
  gin.parse_config(_BINDINGS)
  gin.bind_parameter('train_generative.pretrain_batch_size', 128)
  straight = training.train_generative(str(tmp_path / 'straight'),
                                       **_TWO_STAGES)
  resumed_dir = str(tmp_path / 'resumed')
  crashes = [
      # In pretraining step 5 (checkpoint after step 4).
      lambda patch: _crash_in_pretraining_step(patch, 4),
      # At the boundary: pretraining saved, the mixture initialization not.
      lambda patch: _crash_on_call(patch, training.pretraining,
                                   'initialize_partition_heads', 1),
      # In the second refit, after training step 4 (checkpoint after step 2).
      lambda patch: _crash_on_call(patch, training.pretraining,
                                   'current_priors', 2)]
  for crash in crashes:
    with monkeypatch.context() as patch:
      crash(patch)
      with pytest.raises(_Crash):
        training.train_generative(resumed_dir, **_TWO_STAGES)
  resumed = training.train_generative(resumed_dir, **_TWO_STAGES)
  with open(os.path.join(resumed_dir, 'results', 'train.json')) as f:
    assert json.load(f)['resumed_from'] == dict(pretrain=6, train=2)
  assert len(straight.variables) == len(resumed.variables)
  for a, b in zip(straight.variables, resumed.variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
  gin.clear_config()


def test_exact_kl_estimator_trains(tmp_path):
  model = _train(str(tmp_path / 'exact'), num_steps=5, kl_estimator='exact')
  data = datasets.load_dataset('digits')
  terms = model.compute_losses(tf.constant(data.x_train[:128]),
                               tf.constant(5, tf.int64))
  assert np.isfinite(float(terms['kl_y'])) and np.isfinite(float(terms['loss']))


def _fake_mnist(path, per_class_train=40, per_class_test=10):
  """A Keras-format mnist.npz whose digit `k` is a noisy bright band at row 2k."""
  rng = np.random.default_rng(0)

  def images(per_class):
    y = np.repeat(np.arange(10), per_class)
    x = rng.integers(0, 40, (len(y), 28, 28))
    for i, k in enumerate(y):
      x[i, 2 * k + 4:2 * k + 8, 4:24] = 255
    return x.astype(np.uint8), y.astype(np.uint8)

  (x_train, y_train), (x_test, y_test) = images(per_class_train), images(
      per_class_test)
  np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test,
           y_test=y_test)


_CONFIGS = gin_configs.GENERATIVE


def test_mnist_configs_run_on_a_local_file(tmp_path, monkeypatch):
  path = str(tmp_path / 'mnist.npz')
  _fake_mnist(path)
  monkeypatch.setenv(datasets.MNIST_ENV_VAR, path)
  gin.clear_config()
  gin.parse_config_file(os.path.join(_CONFIGS, 'mnist.gin'))
  assert gin.query_parameter('load_dataset.name') == 'mnist'
  assert gin.query_parameter('train_generative.num_steps') == 512 * 235
  assert gin.query_parameter('train_generative.prior_init') == 'mixture'
  gin.clear_config()
  gin.parse_config_file(os.path.join(_CONFIGS, 'mnist_quick.gin'))
  assert gin.query_parameter('train_generative.prior_init') == 'mixture'
  # The quick recipe's code path at a tiny scale: every stage and a refit.
  gin.parse_config("""
drpm_vae.encoder_units = (32, 32, 64)
drpm_vae.num_partition_samples = 2
train_generative.progress = False
""")
  model_dir = str(tmp_path / 'mnist_quick')
  training.train_generative(model_dir, num_steps=4, pretrain_steps=4,
                            batch_size=64, pretrain_batch_size=64,
                            refit_every=2, refit_until=2, checkpoint_every=2)
  with open(os.path.join(model_dir, 'results', 'train.json')) as f:
    assert json.load(f)['dataset'] == 'mnist'
  result = training.evaluate_generative(model_dir, samples_per_prior=5)
  assert result['dataset'] == 'mnist' and result['num_test'] == 100
  # The bands are trivially separable: the purity classifier must see that.
  assert result['prior_purity']['classifier_test_accuracy'] == 1.
  gin.clear_config()


@pytest.mark.parametrize('kwargs,match', [
    (dict(kl_estimator='upper'), 'drpm_vae.kl_estimator'),
    (dict(num_clusters=0), 'drpm_vae.num_clusters must be an integer >= 1'),
    (dict(anneal_steps=0), 'drpm_vae.anneal_steps must be an integer >= 1'),
    (dict(encoder_units=(32, 0)), 'drpm_vae.encoder_units entries'),
    (dict(encoder_units=()), 'drpm_vae.encoder_units must be a non-empty'),
    (dict(temperature=(0., 0.5)), r'drpm_vae.temperature must be \(initial, '
     r'final\), both finite and > 0; got \(0.0, 0.5\)'),
])
def test_invalid_model_arguments_are_config_errors_naming_the_binding(
    kwargs, match):
  with pytest.raises(errors.ConfigError, match=match):
    DRPMVAE(input_dim=64, **kwargs)


def test_bound_kl_terms_equal_the_inline_lemma_4_formula():
  """The DRPM's Lemma 4 methods give the terms written out by hand: log of
  prod_k n_k!, the MVHG log-probabilities of the counts, the Plackett-Luce
  log-probability of the mode and -log n! for the uniform prior scores."""
  n = 64
  model = DRPMVAE(input_dim=64, encoder_units=(32, 32, 64),
                  num_partition_samples=7, anneal_steps=10, seed=3)
  x = tf.constant(datasets.load_dataset('digits').x_train[:n])
  step = tf.constant(4, tf.int64)
  state = model.rng.state.numpy()
  variables = model.trainable_variables
  with tf.GradientTape(persistent=True) as tape:
    terms = model.compute_losses(x, step)
  model.rng.reset(state)
  with tf.GradientTape(persistent=True) as reference_tape:
    # compute_losses up to its partition sample, with the same seeds.
    temperature = model.schedule_values(step)['temperature']
    seeds = tf.cast(model.rng.make_seeds(2), tf.int32)
    _, _, h = model.encode(x)
    log_weights, log_scores = model.partition_parameters(h)
    posterior = DifferentiableRandomPartition(log_weights, log_scores,
                                              temperature)
    sample = posterior.sample_components(7, seed=seeds[:, 1])
    prior = model.prior_partition(n, temperature)
    kl_n = tf.reduce_mean(
        tf.reduce_sum(tf.math.lgamma(sample.counts + 1.), -1) +
        posterior.counts_distribution().log_prob(sample.counts) -
        prior.counts_distribution().log_prob(sample.counts))
    scores = RelaxedPlackettLuce(temperature, log_scores)
    kl_pi = scores.log_prob(scores.mode()) + tf.math.lgamma(n + 1.)
    references = dict(kl_n=kl_n / n, kl_pi=kl_pi / n)
  for key, reference in references.items():
    np.testing.assert_allclose(float(terms[key]), float(reference), rtol=1e-6,
                               err_msg=key)
    gradients = tape.gradient(terms[key], variables)
    expected = reference_tape.gradient(reference, variables)
    assert sum(g is not None for g in expected) > 2, key
    for variable, got, want in zip(variables, gradients, expected):
      assert (got is None) == (want is None), (key, variable.name)
      if want is not None:
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5,
                                   atol=1e-7, err_msg=(key, variable.name))

"""The generative DRPM-VAE: training, resuming, evaluation and figures on digits."""

import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from drpm_tf import datasets
from drpm_tf import training
from drpm_tf.models import DRPMVAE
from scripts import sample_partitions

# Small but real: the paper's model shape scaled down so a run takes seconds.
_BINDINGS = """
load_dataset.name = 'digits'
DRPMVAE.encoder_units = (128, 128, 256)
DRPMVAE.num_partition_samples = 10
DRPMVAE.anneal_steps = 150
train_generative.batch_size = 128
train_generative.learning_rate = 0.001
train_generative.log_every = 10
train_generative.progress = False
"""


def _train(model_dir, num_steps, checkpoint_every=50, kl_estimator='bound'):
  gin.clear_config()
  gin.parse_config(_BINDINGS)
  gin.bind_parameter('DRPMVAE.kl_estimator', kl_estimator)
  return training.train_generative(model_dir, num_steps=num_steps,
                                   checkpoint_every=checkpoint_every)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  model_dir = str(tmp_path_factory.mktemp('digits_run'))
  model = _train(model_dir, num_steps=150)
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
  result = training.evaluate_generative(model_dir)
  for method in ('model', 'kmeans'):
    for value in result[method].values():
      assert np.isfinite(value) and -1. <= value <= 1.
  assert os.path.isfile(os.path.join(model_dir, 'results', 'evaluation.json'))
  assert 'DRPM-VAE' in training.format_evaluation(result)
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


def test_clustering_accuracy_uses_the_best_label_map():
  labels = np.array([0, 0, 1, 1, 2, 2])
  assert training.clustering_accuracy(labels, [2, 2, 0, 0, 1, 1]) == 1.
  assert training.clustering_accuracy(labels, [0, 1, 0, 1, 0, 1]) == \
      pytest.approx(2 / 6)


def test_sample_figures_are_valid_pngs(trained, tmp_path):
  model, _ = trained
  paths = sample_partitions.write_figures(model, (8, 8), str(tmp_path),
                                          num_elements=16, samples_per_prior=4)
  for path in paths:
    with open(path, 'rb') as f:
      assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    import matplotlib.image  # pylint: disable=g-import-not-at-top
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50


def test_resumed_run_matches_uninterrupted_run(tmp_path):
  straight = _train(str(tmp_path / 'straight'), num_steps=20)
  resumed_dir = str(tmp_path / 'resumed')
  _train(resumed_dir, num_steps=10, checkpoint_every=5)
  resumed = _train(resumed_dir, num_steps=20, checkpoint_every=5)
  assert int(resumed.optimizer.iterations) == 20
  for a, b in zip(straight.trainable_variables, resumed.trainable_variables):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_exact_kl_estimator_trains(tmp_path):
  model = _train(str(tmp_path / 'exact'), num_steps=5, kl_estimator='exact')
  data = datasets.load_dataset('digits')
  terms = model.compute_losses(tf.constant(data.x_train[:128]),
                               tf.constant(5, tf.int64))
  assert np.isfinite(float(terms['kl_y'])) and np.isfinite(float(terms['loss']))


def test_missing_mnist_file_error_says_where_to_put_it(tmp_path, monkeypatch):
  path = str(tmp_path / 'nowhere' / 'mnist.npz')
  monkeypatch.setenv(datasets.MNIST_ENV_VAR, path)
  with pytest.raises(FileNotFoundError, match='never downloads') as error:
    datasets.load_dataset('mnist')
  assert path in str(error.value) and 'digits' in str(error.value)


def test_mnist_loader_reads_a_local_keras_file(tmp_path, monkeypatch):
  rng = np.random.default_rng(0)
  path = str(tmp_path / 'mnist.npz')
  np.savez(path, x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
           y_train=np.arange(6), x_test=np.zeros((2, 28, 28), np.uint8),
           y_test=np.arange(2))
  monkeypatch.setenv(datasets.MNIST_ENV_VAR, path)
  data = datasets.load_dataset('mnist')
  assert data.x_train.shape == (6, 784) and data.x_train.max() <= 1.
  assert data.image_shape == (28, 28)


@pytest.mark.parametrize('kwargs,match', [
    (dict(kl_estimator='upper'), 'kl_estimator'),
    (dict(num_clusters=0), 'num_clusters'),
])
def test_invalid_model_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    DRPMVAE(input_dim=64, **kwargs)


def test_unknown_dataset_name():
  with pytest.raises(ValueError, match='digits'):
    datasets.load_dataset('cifar')

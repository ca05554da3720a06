"""drpm_tf.datasets: the local MNIST file, checked before anything trains on
it; nothing is ever downloaded."""
import os
import socket
import zipfile

import numpy as np
import pytest

from drpm_tf import datasets
from drpm_tf import errors

import damage


def _arrays(num_train=6, num_test=2, seed=0):
  rng = np.random.default_rng(seed)
  return dict(
      x_train=rng.integers(0, 256, (num_train, 28, 28), dtype=np.uint8),
      y_train=np.arange(num_train) % 10,
      x_test=rng.integers(0, 256, (num_test, 28, 28), dtype=np.uint8),
      y_test=np.arange(num_test) % 10)


def _write(tmp_path, **overrides):
  arrays = _arrays()
  arrays.update(overrides)
  path = str(tmp_path / 'mnist.npz')
  np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
  return path


@pytest.fixture
def no_network(monkeypatch):
  """Any attempt to open a connection fails the test."""
  def refuse(*args, **kwargs):
    raise AssertionError(f'network access attempted: {args}')
  monkeypatch.setattr(socket.socket, 'connect', refuse)
  monkeypatch.setattr(socket, 'create_connection', refuse)


def test_a_local_keras_file_is_read_and_scaled(tmp_path, monkeypatch,
                                               no_network):
  arrays = _arrays()
  path = _write(tmp_path)
  monkeypatch.setenv(datasets.MNIST_ENV_VAR, path)
  data = datasets.load_dataset('mnist')
  assert data.x_train.shape == (6, 784) and data.x_test.shape == (2, 784)
  np.testing.assert_array_equal(data.x_train * 255.,
                                arrays['x_train'].reshape(6, 784))
  np.testing.assert_array_equal(data.y_train, arrays['y_train'])
  assert data.image_shape == (28, 28)
  # The binding overrides the environment variable.
  monkeypatch.setenv(datasets.MNIST_ENV_VAR, str(tmp_path / 'elsewhere.npz'))
  assert datasets.load_dataset('mnist', path=path).x_train.shape == (6, 784)


@pytest.mark.parametrize('source', ['binding', 'environment', 'default'])
def test_a_missing_file_names_the_path_tried_and_downloads_nothing(
    tmp_path, monkeypatch, no_network, source):
  path = str(tmp_path / 'nowhere' / 'mnist.npz')
  monkeypatch.setenv('HOME', str(tmp_path / 'home'))
  if source == 'environment':
    monkeypatch.setenv(datasets.MNIST_ENV_VAR, path)
  else:
    monkeypatch.delenv(datasets.MNIST_ENV_VAR, raising=False)
  if source == 'default':
    path = os.path.join(str(tmp_path / 'home'), '.keras', 'datasets',
                        'mnist.npz')
  with pytest.raises(errors.MissingDataError) as error:
    datasets.load_dataset('mnist', path=path if source == 'binding' else None)
  message = str(error.value)
  assert f'there is no file {path!r}' in message
  assert {'binding': '`load_dataset.path` binding',
          'environment': f'${datasets.MNIST_ENV_VAR})',
          'default': f'default location, ${datasets.MNIST_ENV_VAR} being '
                     'unset'}[source] in message
  assert 'never downloads' in message and "'digits'" in message
  assert not os.path.exists(os.path.dirname(path))


def _not_a_zip(tmp_path):
  path = tmp_path / 'mnist.npz'
  path.write_text('x_train,y_train\n1,2\n')
  return str(path)


def _truncated(tmp_path):
  path = _write(tmp_path)
  damage.truncate_file(path)
  return path


def _empty(tmp_path):
  path = tmp_path / 'mnist.npz'
  path.write_bytes(b'')
  return str(path)


def _single_array(tmp_path):
  path = str(tmp_path / 'mnist.npz')
  with open(path, 'wb') as f:
    np.save(f, np.zeros((2, 28, 28), np.uint8))
  return path


def _corrupt_member(tmp_path):
  """A zip whose x_train member has its bytes flipped (CRC mismatch)."""
  path = _write(tmp_path)
  with zipfile.ZipFile(path) as archive:
    info = archive.getinfo('x_train.npy')
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra)
  with open(path, 'r+b') as f:
    f.seek(offset + info.file_size // 2)
    f.write(b'\xff\x00' * 8)
  return path


@pytest.mark.parametrize('make,expected', [
    (_not_a_zip, 'it is truncated or not a zip archive'),
    (_truncated, 'it is truncated or not a zip archive'),
    (_empty, 'it is truncated or not a zip archive'),
    (_single_array, 'it holds a single array'),
    (_corrupt_member, 'array x_train cannot be read'),
    (lambda tmp_path: _write(tmp_path, y_test=None),
     "it has no y_test (it holds ['x_test', 'x_train', 'y_train'])"),
    (lambda tmp_path: _write(tmp_path, x_train=np.zeros((6, 28, 20))),
     'x_train must hold 28x28 images, a numeric array of shape [num, 28, 28]; '
     'got float64 of shape (6, 28, 20)'),
    (lambda tmp_path: _write(tmp_path, x_test=np.zeros((2, 784), np.uint8)),
     'x_test must hold 28x28 images'),
    (lambda tmp_path: _write(tmp_path, x_train=np.zeros((0, 28, 28)),
                             y_train=np.zeros(0)),
     'x_train holds no images'),
    (lambda tmp_path: _write(tmp_path, y_train=np.arange(5)),
     'y_train must hold one label per image of x_train (6 images); got shape '
     '(5,)'),
    (lambda tmp_path: _write(tmp_path, x_train=np.full((6, 28, 28), np.nan)),
     'x_train holds non-finite values'),
    (lambda tmp_path: _write(tmp_path, x_test=np.full((2, 28, 28), 0.5)),
     'x_test holds fractional pixel values'),
    (lambda tmp_path: _write(tmp_path, x_train=np.full((6, 28, 28), 300)),
     'x_train pixel values must be in [0, 255]; found [300, 300]'),
    (lambda tmp_path: _write(tmp_path, y_test=np.array([3, 10])),
     'y_test must hold digit labels 0..9; found int64 values in [3, 10]'),
    (lambda tmp_path: _write(tmp_path, x_train=np.array(['a'] * 6)),
     'x_train must hold 28x28 images'),
])
def test_a_file_that_is_not_keras_mnist_is_refused_naming_it(
    tmp_path, monkeypatch, make, expected):
  path = make(tmp_path)
  monkeypatch.setenv(datasets.MNIST_ENV_VAR, path)
  with pytest.raises(errors.DataError) as error:
    datasets.load_dataset('mnist')
  # gin adds a second line naming the configurable (the tools drop it).
  message = str(error.value).splitlines()[0]
  assert message.startswith(path) and expected in message, message


def test_an_unknown_dataset_name_lists_the_valid_ones():
  with pytest.raises(errors.ConfigError,
                     match=r"Unknown dataset name 'cifar'.*\['digits', "
                     r"'mnist'\]"):
    datasets.load_dataset('cifar')


def test_the_validation_split_is_held_out_of_the_training_images():
  data = datasets.load_dataset('digits')
  held = datasets.load_dataset('digits', evaluation_split='validation')
  assert len(held.x_test) == len(data.x_train) // 4
  assert len(held.x_train) + len(held.x_test) == len(data.x_train)
  rows = lambda x: {r.tobytes() for r in x}  # noqa: E731
  # Both new splits are made of training images only (compared as sets of
  # rows: the digits hold a few exact duplicates).
  assert rows(held.x_train) | rows(held.x_test) == rows(data.x_train)
  # Stratified: every digit's share of the held-out part is its share of the
  # training images, to one image.
  expected = np.bincount(data.y_train, minlength=10) * len(held.y_test) / len(
      data.y_train)
  assert np.all(np.abs(np.bincount(held.y_test, minlength=10) - expected) <= 1)
  # Fixed: the same split every time.
  again = datasets.load_dataset('digits', evaluation_split='validation')
  np.testing.assert_array_equal(again.y_test, held.y_test)
  np.testing.assert_array_equal(again.x_test, held.x_test)


def test_an_unknown_evaluation_split_is_refused():
  with pytest.raises(errors.ConfigError, match='load_dataset.evaluation_split'):
    datasets.load_dataset('digits', evaluation_split='train')

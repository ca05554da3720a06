"""Local datasets for the generative experiment. Nothing is ever downloaded.

- `mnist`: read from a local Keras-format `mnist.npz` (keys `x_train`,
  `y_train`, `x_test`, `y_test`): the `path` argument, else the
  `DRPM_MNIST_PATH` environment variable, else `~/.keras/datasets/mnist.npz`.
- `digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 images, shipped
  inside the scikit-learn package), the embedded default; split 1,437 / 360
  (stratified, fixed seed).

Images are flattened to `[num, dim]` float32 in `[0, 1]`; labels are int64.
"""

import collections
import os

import gin
import numpy as np

__all__ = ['Dataset', 'load_dataset', 'MNIST_ENV_VAR']

MNIST_ENV_VAR = 'DRPM_MNIST_PATH'

Dataset = collections.namedtuple(
    'Dataset', ['name', 'x_train', 'y_train', 'x_test', 'y_test', 'image_shape'])


def _default_mnist_path():
  return os.environ.get(MNIST_ENV_VAR) or os.path.join(
      os.path.expanduser('~'), '.keras', 'datasets', 'mnist.npz')


def _load_mnist(path=None):
  path = path or _default_mnist_path()
  if not os.path.isfile(path):
    raise FileNotFoundError(
        f'MNIST not found at {path!r}. drpm-tf never downloads data: put a '
        'Keras-format mnist.npz (keys x_train, y_train, x_test, y_test) there, '
        f'or point the {MNIST_ENV_VAR} environment variable or the '
        '`load_dataset.path` gin binding at it. The embedded default dataset '
        "'digits' needs no file.")
  with np.load(path) as data:
    missing = {'x_train', 'y_train', 'x_test', 'y_test'} - set(data.files)
    if missing:
      raise ValueError(f'{path!r} is not a Keras-format mnist.npz: missing '
                       f'keys {sorted(missing)}.')
    x_train, y_train = data['x_train'], data['y_train']
    x_test, y_test = data['x_test'], data['y_test']
  flat = lambda x: (x.reshape(len(x), -1) / 255.).astype(np.float32)
  return Dataset('mnist', flat(x_train), y_train.astype(np.int64),
                 flat(x_test), y_test.astype(np.int64), (28, 28))


def _load_digits(test_fraction=0.2, seed=0):
  from sklearn import datasets as sk_datasets  # pylint: disable=g-import-not-at-top
  from sklearn import model_selection  # pylint: disable=g-import-not-at-top
  digits = sk_datasets.load_digits()
  x = (digits.data / 16.).astype(np.float32)
  y = digits.target.astype(np.int64)
  x_train, x_test, y_train, y_test = model_selection.train_test_split(
      x, y, test_size=test_fraction, random_state=seed, stratify=y)
  return Dataset('digits', x_train, y_train, x_test, y_test, (8, 8))


_LOADERS = {'mnist': _load_mnist, 'digits': _load_digits}


@gin.configurable('load_dataset')
def load_dataset(name='digits', path=None):
  """Loads `name` ('digits' or 'mnist'); `path` overrides the MNIST location."""
  if name not in _LOADERS:
    raise ValueError(f'Unknown dataset name {name!r}; expected one of '
                     f'{sorted(_LOADERS)}.')
  if name == 'mnist':
    return _load_mnist(path)
  return _load_digits()

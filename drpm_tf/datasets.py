"""Local datasets for the generative experiment. Nothing is ever downloaded.

- `mnist`: read from a local Keras-format `mnist.npz` (keys `x_train`,
  `y_train`, `x_test`, `y_test`; images `[num, 28, 28]` with integer pixel
  values in `[0, 255]`, labels `[num]` in `0..9`): the `path` argument, else
  the `DRPM_MNIST_PATH` environment variable, else
  `~/.keras/datasets/mnist.npz`. A missing file raises
  `errors.MissingDataError` naming the path and where it came from; a file
  that is not such an archive (truncated, another format, other shapes,
  counts or values) raises `errors.DataError` naming the file and what is
  wrong, before anything trains on it.
- `digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 images, shipped
  inside the scikit-learn package), the embedded default; split 1,437 / 360
  (stratified, fixed seed).

Images are flattened to `[num, dim]` float32 in `[0, 1]`; labels are int64.

`load_dataset.evaluation_split = 'validation'` holds out a stratified part of
the TRAINING images (fixed seed; as many as the test split has, at most a
quarter of the training set) and returns it as `x_test` / `y_test`, training
on the rest: settings chosen by evaluating such runs never see the test
images. The default, 'test', returns the dataset's own test split.
"""

import collections
import os
import zipfile
import zlib

import gin
import numpy as np

from drpm_tf import errors

__all__ = ['Dataset', 'load_dataset', 'validation_split', 'EVALUATION_SPLITS',
           'MNIST_ENV_VAR']

MNIST_ENV_VAR = 'DRPM_MNIST_PATH'
_MNIST_KEYS = ('x_train', 'y_train', 'x_test', 'y_test')
_MNIST_SHAPE = (28, 28)
EVALUATION_SPLITS = ('test', 'validation')
_VALIDATION_SEED = 1
_NUM_DIGITS = 10

Dataset = collections.namedtuple(
    'Dataset', ['name', 'x_train', 'y_train', 'x_test', 'y_test', 'image_shape'])


def _mnist_location(path):
  """`(path, where that path came from)`."""
  if path:
    return path, 'the `load_dataset.path` binding'
  if os.environ.get(MNIST_ENV_VAR):
    return os.environ[MNIST_ENV_VAR], f'${MNIST_ENV_VAR}'
  return (os.path.join(os.path.expanduser('~'), '.keras', 'datasets',
                       'mnist.npz'),
          f'the default location, ${MNIST_ENV_VAR} being unset')


def _read_npz(path):
  """{key: array} of the Keras-format MNIST archive at `path`."""
  not_keras = (f'{path} is not a Keras-format mnist.npz (a zip archive of the '
               f'arrays {", ".join(_MNIST_KEYS)})')
  # What numpy and zipfile raise for a truncated or foreign file; numpy's own
  # message for a non-zip file ("Cannot load file containing pickled data")
  # would send the user looking for pickles.
  unreadable = (OSError, ValueError, EOFError, zipfile.BadZipFile,
                zlib.error)
  try:
    archive = np.load(path, allow_pickle=False)
  except unreadable as error:
    reason = ('it is truncated or not a zip archive'
              if not zipfile.is_zipfile(path) else
              f'numpy cannot read it: {error}')
    raise errors.DataError(f'{not_keras}: {reason}.') from error
  if not isinstance(archive, np.lib.npyio.NpzFile):
    raise errors.DataError(f'{not_keras}: it holds a single array.')
  with archive:
    missing = sorted(set(_MNIST_KEYS) - set(archive.files))
    if missing:
      raise errors.DataError(f'{not_keras}: it has no {", ".join(missing)} '
                             f'(it holds {sorted(archive.files)}).')
    arrays = {}
    for key in _MNIST_KEYS:
      try:
        arrays[key] = archive[key]
      except unreadable as error:
        raise errors.DataError(
            f'{path}: array {key} cannot be read ({error}); the file is '
            'damaged.') from error
  return arrays


def _check_mnist(path, arrays):
  """Raises `DataError` naming what in `arrays` is not MNIST as Keras has it."""
  for split in ('train', 'test'):
    x, y = arrays[f'x_{split}'], arrays[f'y_{split}']
    if x.dtype.kind not in 'uif' or x.ndim != 3 or x.shape[1:] != _MNIST_SHAPE:
      raise errors.DataError(
          f'{path}: x_{split} must hold 28x28 images, a numeric array of '
          f'shape [num, 28, 28]; got {x.dtype} of shape {x.shape}.')
    if not len(x):
      raise errors.DataError(f'{path}: x_{split} holds no images.')
    if y.ndim != 1 or len(y) != len(x):
      raise errors.DataError(
          f'{path}: y_{split} must hold one label per image of x_{split} '
          f'({len(x)} images); got shape {y.shape}.')
    if x.dtype.kind == 'f':
      if not np.all(np.isfinite(x)):
        raise errors.DataError(f'{path}: x_{split} holds non-finite values '
                               '(NaN or infinity).')
      if not np.all(x == np.round(x)):
        raise errors.DataError(
            f'{path}: x_{split} holds fractional pixel values; the Keras '
            'format has integers in [0, 255] (they are divided by 255 here), '
            'not images already scaled to [0, 1].')
    low, high = x.min(), x.max()
    if low < 0 or high > 255:
      raise errors.DataError(
          f'{path}: x_{split} pixel values must be in [0, 255]; found '
          f'[{low}, {high}].')
    if y.dtype.kind not in 'uif' or (
        y.dtype.kind == 'f' and not np.all(y == np.round(y))) or (
            y.min() < 0 or y.max() >= _NUM_DIGITS):
      raise errors.DataError(
          f'{path}: y_{split} must hold digit labels 0..9; found {y.dtype} '
          f'values in [{y.min()}, {y.max()}].')


def _load_mnist(path=None):
  path, source = _mnist_location(path)
  if not os.path.isfile(path):
    raise errors.MissingDataError(
        f'MNIST not found: there is no file {path!r} (the path from '
        f'{source}). drpm-tf never downloads data: put a Keras-format '
        'mnist.npz (keys x_train, y_train, x_test, y_test) there, or point '
        f'the {MNIST_ENV_VAR} environment variable or the `load_dataset.path` '
        "gin binding at it. The embedded default dataset 'digits' needs no "
        'file.')
  arrays = _read_npz(path)
  _check_mnist(path, arrays)
  flat = lambda x: (x.reshape(len(x), -1) / 255.).astype(np.float32)
  return Dataset('mnist', flat(arrays['x_train']),
                 arrays['y_train'].astype(np.int64), flat(arrays['x_test']),
                 arrays['y_test'].astype(np.int64), _MNIST_SHAPE)


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


def validation_split(data):
  """`data` with a stratified part of its training images as the test split.

  The held-out part has as many images as `data`'s test split, at most a
  quarter of the training images; the rest stay the training split.
  """
  from sklearn import model_selection  # pylint: disable=g-import-not-at-top
  size = min(len(data.x_test), len(data.x_train) // 4)
  x_train, x_val, y_train, y_val = model_selection.train_test_split(
      data.x_train, data.y_train, test_size=size,
      random_state=_VALIDATION_SEED, stratify=data.y_train)
  return data._replace(x_train=x_train, y_train=y_train, x_test=x_val,
                       y_test=y_val)


@gin.configurable('load_dataset')
def load_dataset(name='digits', path=None, evaluation_split='test'):
  """Loads `name` ('digits' or 'mnist'); `path` overrides the MNIST location.

  `evaluation_split = 'validation'` returns `validation_split(data)`: the
  test split is then held out of the training images (module docstring).

  Raises:
    ConfigError: an unknown `name` or `evaluation_split`.
    MissingDataError: no MNIST file where it was looked for.
    DataError: the MNIST file is not a Keras-format mnist.npz.
  """
  if name not in _LOADERS:
    raise errors.ConfigError(f'Unknown dataset name {name!r} '
                             f'(`load_dataset.name`); expected one of '
                             f'{sorted(_LOADERS)}.')
  if evaluation_split not in EVALUATION_SPLITS:
    raise errors.ConfigError(
        f'load_dataset.evaluation_split must be one of {EVALUATION_SPLITS}; '
        f'got {evaluation_split!r}.')
  data = _load_mnist(path) if name == 'mnist' else _load_digits()
  return validation_split(data) if evaluation_split == 'validation' else data

"""`mpi3d_toy` from a local `mpi3d_toy.npz` (never downloaded).

Differences from dlib 1.5's `mpi3d.MPI3D(mode="mpi3d_toy")`:
- factor sizes come from the number of images instead of the hard-coded
  [4, 4, 2, 3, 3, 40, 40]: the public file holds 1,036,800 images, i.e.
  [6, 6, 2, 3, 3, 40, 40] (`infer_factor_sizes`);
- the images are memory-mapped straight out of the .npz when it is stored
  uncompressed (12.7 GB as uint8 would not fit in RAM on most machines), and
  converted to float32 in [0, 1] per batch only;
- a missing file raises a `FileNotFoundError` naming the paths tried and the
  environment variable.

Layout (dlib's): `$DISENTANGLEMENT_LIB_DATA/mpi3d_toy/mpi3d_toy.npz`, key
`images`, uint8 `[N, 64, 64, 3]`, factors in row-major order (factor 0 varies
slowest). `$DISENTANGLEMENT_LIB_DATA/mpi3d_toy.npz` is accepted too.
"""
import os
import struct
import zipfile

import numpy as np

from disentanglement_ext.data import _factor_grid
from drpm_tf import errors

ENV_VAR = "DISENTANGLEMENT_LIB_DATA"
FILE_NAME = "mpi3d_toy.npz"
IMAGE_KEY = "images"
OBSERVATION_SHAPE = (64, 64, 3)

# Known image counts -> factor sizes (object color, object shape, object size,
# camera height, background color, horizontal axis, vertical axis).
FACTOR_SIZES_BY_COUNT = {
    1036800: (6, 6, 2, 3, 3, 40, 40),  # the public mpi3d_toy.npz
    460800: (4, 4, 2, 3, 3, 40, 40),   # what dlib 1.5 assumes
}


def infer_factor_sizes(num_images):
  """Factor sizes of an mpi3d_toy file with `num_images` images.

  Raises:
    ValueError: for a count that matches no known release.
  """
  try:
    return list(FACTOR_SIZES_BY_COUNT[int(num_images)])
  except KeyError:
    known = ", ".join("{:,} -> {}".format(n, list(s))
                      for n, s in FACTOR_SIZES_BY_COUNT.items())
    raise errors.DataError(
        "Cannot infer mpi3d_toy factor sizes from {:,} images; known files: {}. "
        "Pass `factor_sizes` explicitly for other files.".format(
            int(num_images), known)) from None


def candidate_paths(data_dir=None):
  """Paths searched for the file, in order (dlib's layout first)."""
  if data_dir is None:
    data_dir = os.environ.get(ENV_VAR, ".")  # dlib's default is "." too.
  return [os.path.join(data_dir, "mpi3d_toy", FILE_NAME),
          os.path.join(data_dir, FILE_NAME)]


def find_npz(data_dir=None):
  """Returns the first existing candidate path, else raises FileNotFoundError."""
  paths = candidate_paths(data_dir)
  for path in paths:
    if os.path.isfile(path):
      return path
  where = ("${}={!r}".format(ENV_VAR, os.environ[ENV_VAR])
           if data_dir is None and ENV_VAR in os.environ else
           "data_dir={!r}".format(data_dir) if data_dir is not None else
           "${} is not set, so the current directory was searched".format(
               ENV_VAR))
  raise errors.MissingDataError(
      "mpi3d_toy not found ({}). Looked for: {}. Put the public mpi3d_toy.npz "
      "at $DISENTANGLEMENT_LIB_DATA/mpi3d_toy/mpi3d_toy.npz. Nothing is "
      "downloaded; the embedded default dataset is 'synthetic_mpi3d' "
      "(dataset.name = 'synthetic_mpi3d').".format(where, ", ".join(paths)))


def _memmap_npz_member(path, key):
  """Memory-maps `key` of an uncompressed .npz; None if it is compressed."""
  with zipfile.ZipFile(path) as archive:
    try:
      info = archive.getinfo(key + ".npy")
    except KeyError:
      raise KeyError("{} has no array {!r}; it holds {}".format(
          path, key, archive.namelist())) from None
    if info.compress_type != zipfile.ZIP_STORED:
      return None
  with open(path, "rb") as f:
    # The central directory's extra field may differ from the local header's,
    # so the data offset has to be read from the local header itself.
    f.seek(info.header_offset)
    header = f.read(30)
    if header[:4] != b"PK\x03\x04":
      return None
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    f.seek(info.header_offset + 30 + name_length + extra_length)
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
      shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
    else:
      shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(f)
    offset = f.tell()
  return np.memmap(path, dtype=dtype, mode="r", shape=shape, offset=offset,
                   order="F" if fortran_order else "C")


def load_images(path, key=IMAGE_KEY):
  """The image array of an .npz: memory-mapped if possible, else in memory."""
  images = _memmap_npz_member(path, key)
  if images is None:
    with np.load(path) as data:
      images = data[key]
  return images


class MPI3DToy(_factor_grid.FactorGridData):
  """mpi3d_toy from a local file, with factor sizes inferred from it.

  Observations: float32 `[num, 64, 64, 3]` in [0, 1].
  """

  def __init__(self, path=None, factor_sizes=None):
    """Opens the dataset.

    Args:
      path: the .npz file; None searches `candidate_paths()` (under
        `$DISENTANGLEMENT_LIB_DATA`).
      factor_sizes: overrides `infer_factor_sizes` (e.g. for a subset file);
        their product must equal the number of images.

    Raises:
      FileNotFoundError: no file (the message says where it looked).
      ValueError: unknown image count, or images not `[N, 64, 64, 3]`.
    """
    self.path = find_npz() if path is None else path
    if not os.path.isfile(self.path):
      raise errors.MissingDataError("mpi3d_toy file {!r} does not exist.".format(
          self.path))
    self.images = load_images(self.path)
    if tuple(self.images.shape[1:]) != OBSERVATION_SHAPE:
      raise errors.DataError("{}: expected images [N, 64, 64, 3], got {}".format(
          self.path, self.images.shape))
    num_images = self.images.shape[0]
    if factor_sizes is None:
      factor_sizes = infer_factor_sizes(num_images)
    elif int(np.prod(factor_sizes)) != num_images:
      raise errors.DataError("factor_sizes {} (product {}) do not match the {} images "
                       "in {}".format(list(factor_sizes),
                                      int(np.prod(factor_sizes)), num_images,
                                      self.path))
    self._set_factor_sizes(factor_sizes)
    # Integer strides (dlib uses float ones, exact only below 2**53 anyway).
    self.factor_bases = (np.prod(self.factor_sizes) //
                         np.cumprod(self.factor_sizes)).astype(np.int64)
    self._scale = (np.float32(1. / 255.) if self.images.dtype == np.uint8
                   else np.float32(1.))

  def sample_observations_from_factors(self, factors, random_state):
    """Looks up float32 `[num, 64, 64, 3]`; `random_state` is unused."""
    del random_state  # Every factor is latent: the lookup is deterministic.
    indices = np.asarray(factors, np.int64) @ self.factor_bases
    # Sorted reads are much faster on a memory map; undo the order afterwards.
    order = np.argsort(indices, kind="stable")
    images = np.empty((len(indices),) + OBSERVATION_SHAPE, np.float32)
    images[order] = self.images[indices[order]]
    images *= self._scale
    return images

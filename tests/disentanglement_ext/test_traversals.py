"""drpm-visualize-dataset's library: traversal rows and the PNG."""
import numpy as np
import pytest

from disentanglement_ext.data import traversals
from drpm_tf import errors

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_each_row_varies_one_factor_over_evenly_spaced_values():
  base = [1, 0, 2]
  rows = traversals.traversal_factors(base, [3, 40, 5], max_values=4)
  assert len(rows) == 3
  for k, factors in enumerate(rows):
    others = np.delete(factors, k, axis=1)
    np.testing.assert_array_equal(others, np.delete(
        np.tile(base, (len(factors), 1)), k, axis=1))
  np.testing.assert_array_equal(rows[0][:, 0], [0, 1, 2])  # all 3 values
  np.testing.assert_array_equal(rows[1][:, 1], [0, 13, 26, 39])
  np.testing.assert_array_equal(rows[2][:, 2], [0, 1, 3, 4])
  assert all(f.dtype == np.int64 for f in rows)


def test_writes_the_grid_of_a_named_dataset(tmp_path):
  path = str(tmp_path / "sub" / "grid.png")
  assert traversals.write_traversals("synthetic_mpi3d", path, seed=0,
                                     max_values=2) == path
  with open(path, "rb") as f:
    assert f.read(8) == PNG_MAGIC
  from matplotlib import image  # pylint: disable=g-import-not-at-top
  pixels = image.imread(path)
  assert pixels.ndim == 3 and pixels.shape[0] > 300  # one row per factor


def test_an_unknown_dataset_names_the_valid_ones(tmp_path):
  with pytest.raises(errors.ConfigError, match="synthetic_mpi3d"):
    traversals.write_traversals("nosuch", str(tmp_path / "x.png"))
  assert not (tmp_path / "x.png").exists()

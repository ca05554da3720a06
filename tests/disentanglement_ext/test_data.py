"""synthetic_mpi3d renderer, the mpi3d_toy loader and dataset names."""
import itertools

import gin
import numpy as np
import pytest

from disentanglement_ext.data import get_dataset
from disentanglement_ext.data import mpi3d
from disentanglement_ext.data import synthetic_mpi3d

SIZES = synthetic_mpi3d.FACTOR_SIZES


pytestmark = pytest.mark.usefixtures("clean_gin")


def _bases(num, seed=0):
  return synthetic_mpi3d.SyntheticMPI3D().sample_factors(
      num, np.random.RandomState(seed))


def test_interface(data):
  assert data.num_factors == 7
  assert list(data.factors_num_values) == [6, 6, 2, 3, 3, 40, 40]
  assert list(data.observation_shape) == [64, 64, 3]
  factors, x = data.sample(5, np.random.RandomState(0))
  assert factors.shape == (5, 7) and factors.dtype == np.int64
  assert np.all((factors >= 0) & (factors < np.array(SIZES)))
  assert x.shape == (5, 64, 64, 3) and x.dtype == np.float32
  assert x.min() >= 0. and x.max() <= 1.


def test_render_is_deterministic_and_batch_independent(data):
  factors = _bases(50)
  a = data.sample_observations_from_factors(factors, np.random.RandomState(1))
  b = data.sample_observations_from_factors(factors, np.random.RandomState(2))
  np.testing.assert_array_equal(a, b)
  # Chunking / batch composition must not change an image.
  c = synthetic_mpi3d.render(factors[::-1], chunk_size=7)[::-1]
  np.testing.assert_allclose(a, c, atol=1e-6)


def test_render_rejects_bad_factors():
  with pytest.raises(ValueError, match="out of range"):
    synthetic_mpi3d.render([[6, 0, 0, 0, 0, 0, 0]])
  with pytest.raises(ValueError, match="shape"):
    synthetic_mpi3d.render(np.zeros((2, 6), np.int64))


def _factor_changes(factors, k):
  """Images with factor k changed to a different value (cyclic +1..size-1)."""
  changed = factors.copy()
  offsets = 1 + np.arange(len(factors)) % (SIZES[k] - 1)
  changed[:, k] = (factors[:, k] + offsets) % SIZES[k]
  return synthetic_mpi3d.render(changed) - synthetic_mpi3d.render(factors)


def test_every_factor_changes_the_image():
  factors = _bases(64)
  for k in range(7):
    diff = np.abs(_factor_changes(factors, k))
    per_image = diff.reshape(len(factors), -1)
    # Every single change is visible: some pixel moves by > 0.15, on > 3 px.
    assert np.all(per_image.max(axis=1) > 0.15), synthetic_mpi3d.FACTOR_NAMES[k]
    assert np.all((per_image > 0.05).sum(axis=1) > 3), (
        synthetic_mpi3d.FACTOR_NAMES[k])


def test_object_stays_visible_for_every_pose():
  # Object colour only shows on object pixels: it must be visible for every
  # camera height x arm pose (the object never leaves the frame).
  poses = np.array(list(itertools.product(range(3), range(0, 40, 3),
                                          range(0, 40, 3))))
  factors = np.zeros((len(poses), 7), np.int64)
  factors[:, 2] = 0  # small object: the hardest case
  factors[:, [3, 5, 6]] = poses
  red = factors.copy()
  red[:, 0] = 2
  diff = np.abs(synthetic_mpi3d.render(red) - synthetic_mpi3d.render(factors))
  visible = (diff.max(axis=-1) > 0.3).reshape(len(poses), -1).sum(axis=1)
  assert visible.min() >= 12


def test_no_two_factors_change_the_image_alike():
  factors = _bases(16, seed=3)
  changes = [_factor_changes(factors, k) for k in range(7)]
  for i, j in itertools.combinations(range(7), 2):
    for a, b in zip(changes[i], changes[j]):
      a, b = a.ravel(), b.ravel()
      cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)
      assert cosine < 0.95, (synthetic_mpi3d.FACTOR_NAMES[i],
                             synthetic_mpi3d.FACTOR_NAMES[j])
    # Where the change happens differs too (not just its colour).
    where_i = np.abs(changes[i]).max(axis=-1) > 0.05
    where_j = np.abs(changes[j]).max(axis=-1) > 0.05
    assert np.mean(where_i != where_j) > 0.002


# --- dataset names -----------------------------------------------------------

def test_get_dataset_by_name_and_by_gin():
  assert isinstance(get_dataset("synthetic_mpi3d"),
                    synthetic_mpi3d.SyntheticMPI3D)
  gin.parse_config("dataset.name = 'synthetic_mpi3d'")
  assert isinstance(get_dataset(), synthetic_mpi3d.SyntheticMPI3D)


def test_unknown_dataset_name_lists_valid_names():
  with pytest.raises(ValueError, match="synthetic_mpi3d") as info:
    get_dataset("mpi3d_toyy")
  assert "mpi3d_toyy" in str(info.value) and "mpi3d_toy," in str(info.value)


def test_unbound_dataset_name_is_a_clear_error():
  with pytest.raises(ValueError, match="dataset.name"):
    get_dataset()


# --- mpi3d_toy -----------------------------------------------------------------

def test_infer_factor_sizes():
  assert mpi3d.infer_factor_sizes(1036800) == [6, 6, 2, 3, 3, 40, 40]
  assert mpi3d.infer_factor_sizes(460800) == [4, 4, 2, 3, 3, 40, 40]
  with pytest.raises(ValueError, match="1,000"):
    mpi3d.infer_factor_sizes(1000)


FAKE_SIZES = [2, 3, 2, 1, 1, 2, 2]


def _write_fake(path, compressed):
  num = int(np.prod(FAKE_SIZES))
  # Pixel (0, 0, 0) holds the image index: checks the factor -> index map.
  images = np.zeros((num, 64, 64, 3), np.uint8)
  images[:, 0, 0, 0] = np.arange(num)
  images[:, 1:, :, :] = 255
  path.parent.mkdir(parents=True, exist_ok=True)
  (np.savez_compressed if compressed else np.savez)(str(path), images=images)
  return images


@pytest.mark.parametrize("compressed", [False, True])
def test_mpi3d_toy_loads_fake_file(tmp_path, monkeypatch, compressed):
  _write_fake(tmp_path / "mpi3d_toy" / "mpi3d_toy.npz", compressed)
  monkeypatch.setenv(mpi3d.ENV_VAR, str(tmp_path))
  data = mpi3d.MPI3DToy(factor_sizes=FAKE_SIZES)
  assert isinstance(data.images, np.memmap) != compressed
  assert data.num_factors == 7 and data.factors_num_values == FAKE_SIZES
  factors = data.sample_factors(20, np.random.RandomState(0))
  x = data.sample_observations_from_factors(factors, None)
  assert x.shape == (20, 64, 64, 3) and x.dtype == np.float32
  assert x.min() >= 0. and x.max() == 1.
  # Row-major index: factor 0 varies slowest, as in dlib.
  strides = np.cumprod([1] + FAKE_SIZES[::-1])[:-1][::-1]
  np.testing.assert_allclose(x[:, 0, 0, 0] * 255., factors @ strides,
                             atol=1e-3)


def test_mpi3d_toy_accepts_file_directly_under_data_dir(tmp_path, monkeypatch):
  _write_fake(tmp_path / "mpi3d_toy.npz", compressed=False)
  monkeypatch.setenv(mpi3d.ENV_VAR, str(tmp_path))
  assert mpi3d.find_npz() == str(tmp_path / "mpi3d_toy.npz")


def test_mpi3d_toy_unknown_size_is_a_clear_error(tmp_path, monkeypatch):
  _write_fake(tmp_path / "mpi3d_toy" / "mpi3d_toy.npz", compressed=False)
  monkeypatch.setenv(mpi3d.ENV_VAR, str(tmp_path))
  with pytest.raises(ValueError, match="factor sizes"):
    get_dataset("mpi3d_toy")
  with pytest.raises(ValueError, match="do not match"):
    mpi3d.MPI3DToy(factor_sizes=[2, 2])


def test_missing_mpi3d_toy_file_is_a_clear_error(tmp_path, monkeypatch):
  monkeypatch.setenv(mpi3d.ENV_VAR, str(tmp_path))
  with pytest.raises(FileNotFoundError) as info:
    get_dataset("mpi3d_toy")
  message = str(info.value)
  assert "DISENTANGLEMENT_LIB_DATA" in message
  assert str(tmp_path / "mpi3d_toy" / "mpi3d_toy.npz") in message
  assert "synthetic_mpi3d" in message and "download" in message

"""Fixtures shared by the disentanglement_ext tests, and where they run.

The disentanglement_lib integration runs on the pinned TensorFlow 2.15 stack
only: dlib 1.5's evaluation reads TF1 Hub modules, which TensorFlow >= 2.16
(Keras 3) can no longer export. On a newer TensorFlow (`make test-modern`)
every test module here is reported as skipped, with that reason; on 2.15
nothing is skipped, so there a missing or broken dlib install fails.
"""

import gin
import pytest
import tensorflow as tf

DLIB_STACK = tuple(int(p) for p in tf.__version__.split(".")[:2]) < (2, 16)
SKIP_REASON = (
    "the disentanglement_lib integration needs the pinned TensorFlow 2.15 "
    f"stack (TF1 Hub export for dlib 1.5); this is TensorFlow {tf.__version__}"
    " -- `make test` runs these tests")


class _SkippedModule(pytest.Module):
  """A test module that is not imported (it needs dlib) but reported skipped."""

  def collect(self):
    pytest.skip(SKIP_REASON)


def pytest_pycollect_makemodule(module_path, parent):
  if DLIB_STACK:
    return None
  return _SkippedModule.from_parent(parent, path=module_path)


@pytest.fixture
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


@pytest.fixture(scope="module")
def data():
  from disentanglement_ext.data import synthetic_mpi3d  # pylint: disable=g-import-not-at-top
  return synthetic_mpi3d.SyntheticMPI3D()

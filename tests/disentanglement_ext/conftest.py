"""Fixtures shared by the disentanglement_ext data tests."""

import gin
import pytest

from disentanglement_ext.data import synthetic_mpi3d


@pytest.fixture
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


@pytest.fixture(scope="module")
def data():
  return synthetic_mpi3d.SyntheticMPI3D()

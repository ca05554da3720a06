"""Fixtures of the Table 1 tests."""
import os

import pytest

from disentanglement_ext import run_layout
from disentanglement_ext.table1 import runs


@pytest.fixture
def fake_exports(monkeypatch):
  """Fake runs have no TF-Hub export: count the marker file as a loading
  export (test_weak_faults.py checks the real verification)."""
  monkeypatch.setattr(runs, "export_loads", lambda model_dir: os.path.exists(
      os.path.join(model_dir, run_layout.POSTPROCESS_GIN)))

"""Names the TensorFlow stack at the end of each run (two stacks are tested);
the `hold_lock` fixture."""
import importlib.metadata
import os
import subprocess
import sys

import pytest

STACK = ("tensorflow", "tensorflow-cpu", "tensorflow-probability", "keras",
         "tf-keras", "numpy", "gin-config", "disentanglement-lib")


def pytest_terminal_summary(terminalreporter):
  versions = []
  for name in STACK:
    try:
      versions.append(f"{name} {importlib.metadata.version(name)}")
    except importlib.metadata.PackageNotFoundError:
      pass
  if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true"):
    versions.append("TF_USE_LEGACY_KERAS=1")
  terminalreporter.write_line("stack: Python {}.{}, {}".format(
      *sys.version_info[:2], ", ".join(versions)))


@pytest.fixture
def hold_lock():
  """Starts processes that hold a run directory's lock until the test ends.

  File locks belong to a process, so only another process can show that a
  lock keeps others out. `hold_lock(model_dir, name=...)` returns the
  `subprocess.Popen` once its lock is held; `.kill()` it to release it the
  way a crash would.
  """
  holders = []

  def start(model_dir, name=".run.lock"):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, model_dir, name],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    holders.append(holder)
    assert holder.stdout.readline().strip() == "held"
    return holder

  yield start
  for holder in holders:
    holder.kill()
    holder.wait()


_HOLDER = """
import sys
from drpm_tf import run_directory
with run_directory.run_lock(sys.argv[1], name=sys.argv[2]):
  print("held", flush=True)
  sys.stdin.read()
"""

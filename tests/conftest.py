"""Names the TensorFlow stack at the end of each run (two stacks are tested)."""
import importlib.metadata
import os
import sys

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

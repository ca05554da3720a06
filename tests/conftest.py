"""Names the TensorFlow stack in the pytest header (two stacks are tested)."""
import importlib.metadata
import sys

STACK = ("tensorflow", "tensorflow-cpu", "tensorflow-probability", "keras",
         "tf-keras", "numpy", "gin-config", "disentanglement-lib")


def pytest_report_header(config):
  del config  # Unused.
  versions = []
  for name in STACK:
    try:
      versions.append(f"{name} {importlib.metadata.version(name)}")
    except importlib.metadata.PackageNotFoundError:
      pass
  return "stack: Python {}.{}, {}".format(*sys.version_info[:2],
                                         ", ".join(versions))

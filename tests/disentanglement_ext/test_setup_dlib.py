"""setup.py's `dlib` extra: complete, and the pins `make venv` installs."""
import importlib.metadata
import os

from packaging.requirements import Requirement

from dependencies import normalize
from dependencies import requirements
from dependencies import ROOT
from dependencies import split_benchmarks
from dependencies import third_party_imports
from dependencies import undeclared

# requirements.txt takes the CPU-only wheel of the same TensorFlow release.
CPU_WHEEL = {"tensorflow": "tensorflow-cpu"}
# Installed with --no-deps: its metadata pins tensorflow_probability==0.7.
DLIB = "disentanglement-lib"


def _pinned_file():
  with open(os.path.join(ROOT, "requirements.txt")) as f:
    lines = [line.split("#")[0].strip() for line in f]
  return {normalize(r.name): r for r in map(Requirement, filter(None, lines))}


def test_requirements_txt_installs_the_dlib_extra():
  pinned = _pinned_file()
  for req in requirements("dlib"):
    name = normalize(CPU_WHEEL.get(req.name, req.name))
    assert name in pinned, req
    assert pinned[name].specifier == req.specifier, (req, pinned[name])


def test_installed_versions_satisfy_the_dlib_extra():
  for req in requirements("dlib"):
    name = CPU_WHEEL.get(req.name, req.name)
    version = importlib.metadata.version(name)
    assert req.specifier.contains(version), (req, version)


def test_dlib_runtime_dependencies_are_declared():
  # Everything dlib 1.5 itself needs at run time, minus its stale TF pins.
  declared = {normalize(r.name)
              for r in requirements() + requirements("dlib")}
  for line in importlib.metadata.requires(DLIB):
    req = Requirement(line)
    if req.marker is None:  # Its extras are TF 1.14 itself.
      assert normalize(req.name) in declared, req


def test_integration_imports_are_declared():
  declared = {normalize(r.name)
              for r in requirements() + requirements("dlib")} | {DLIB}
  modules = third_party_imports([os.path.join(ROOT, "disentanglement_ext")] +
                                split_benchmarks()[1])
  assert {"disentanglement_lib", "tensorflow_hub"} <= set(modules)
  missing = undeclared(modules, declared)
  assert not missing, f"not in install_requires or the `dlib` extra: {missing}"

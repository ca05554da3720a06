"""Helpers for the tests of setup.py's declared dependencies (both stacks)."""
import ast
import importlib.metadata
import os
import re
import sys

from packaging.requirements import Requirement

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# drpm_baseline: the benchmarks' temporary copy of drpm_tf at a baseline
# revision (our own code, read from git at benchmark time).
FIRST_PARTY = {"drpm_tf", "disentanglement_ext", "drpm_baseline"}


def normalize(name):
  return re.sub(r"[-_.]+", "-", name).lower()


def requirements(extra=None):
  """drpm-tf's installed requirements: the core's, or those of one extra."""
  out = []
  for line in importlib.metadata.requires("drpm-tf") or ():
    req = Requirement(line)
    if req.marker is None:
      keep = extra is None
    else:
      keep = extra is not None and req.marker.evaluate({"extra": extra})
    if keep:
      out.append(req)
  return out


def imports_of(path):
  """Top-level names of the absolute imports in one file."""
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read(), path)
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (alias.name.split(".")[0] for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.level == 0:
      yield node.module.split(".")[0]


def python_files(paths):
  for path in paths:
    if os.path.isdir(path):
      yield from sorted(os.path.join(d, f) for d, _, names in os.walk(path)
                        for f in names if f.endswith(".py"))
    else:
      yield path


def third_party_imports(paths):
  """{top-level module: first file importing it} over `paths` (files, dirs)."""
  found = {}
  for path in python_files(paths):
    for top in imports_of(path):
      if top not in FIRST_PARTY and top not in sys.stdlib_module_names:
        found.setdefault(top, os.path.relpath(path, ROOT))
  return found


def undeclared(modules, declared):
  """The modules of `modules` that no distribution in `declared` provides."""
  providers = importlib.metadata.packages_distributions()
  return {module: where for module, where in modules.items()
          if normalize(module) not in declared and not any(
              normalize(dist) in declared
              for dist in providers.get(module, ()))}


def split_benchmarks():
  """(core, dlib) benchmark scripts (benchmarks/, not installed): dlib's
  import disentanglement_ext."""
  core, dlib = [], []
  for path in python_files([os.path.join(ROOT, "benchmarks")]):
    (dlib if "disentanglement_ext" in set(imports_of(path)) else core).append(
        path)
  return core, dlib

"""setup.py: declared dependencies of the core, and the dlib shim's .pth file.

Runs on both stacks. The dlib extra's pins are checked on the pinned stack in
tests/disentanglement_ext/test_setup_dlib.py.
"""
import importlib.metadata
import json
import os
import subprocess
import sys

from dependencies import normalize
from dependencies import requirements
from dependencies import ROOT
from dependencies import split_benchmarks
from dependencies import third_party_imports
from dependencies import undeclared

PTH = "drpm_tf_dlib_shim.pth"
AUTOSHIM = "disentanglement_ext.dlib_autoshim"


def test_core_imports_are_declared():
  declared = {normalize(r.name) for r in requirements() + requirements("tf")}
  modules = third_party_imports([os.path.join(ROOT, "drpm_tf")] +
                                split_benchmarks()[0])
  assert {"tensorflow", "tensorflow_probability", "gin"} <= set(modules)
  missing = undeclared(modules, declared)
  assert not missing, f"not in install_requires or the `tf` extra: {missing}"


def test_installed_versions_satisfy_the_core_requirements():
  # On the pinned stack TFP 0.23 / numpy 1.x; on the current one the newest
  # releases: both must meet the declared lower bounds.
  for req in requirements():
    version = importlib.metadata.version(req.name)
    assert req.specifier.contains(version, prereleases=True), (req, version)


def _probe(site_dir=None):
  """A fresh interpreter of this venv, no PYTHONPATH: what the .pth did.

  With `site_dir`, the interpreter starts without site-packages (-S) and then
  adds `site_dir` as its only site directory.
  """
  code = "\n".join([
      "import sys",
      "at_start = set(sys.modules)",
      "if sys.argv[1]:",
      "  import site; site.addsitedir(sys.argv[1])",
      "import json",
      "finders = [type(f).__module__ for f in sys.meta_path]",
      "heavy = [m for m in ('gin', 'numpy', 'tensorflow',",
      "         'disentanglement_ext.compat', 'disentanglement_lib')",
      "         if m in sys.modules]",
      "started = 'disentanglement_ext' in at_start",
      "import disentanglement_ext",
      "print(json.dumps(dict(finders=finders.count({!r}), heavy=heavy,".format(
          AUTOSHIM),
      "                      at_start=started,",
      "                      package=disentanglement_ext.__file__)))",
  ])
  env = {k: v for k, v in os.environ.items()
         if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
  flags = ["-S"] if site_dir else []
  proc = subprocess.run([sys.executable] + flags + ["-c", code, site_dir or ""],
                        capture_output=True, text=True, env=env, cwd="/",
                        timeout=60)
  assert proc.returncode == 0, proc.stderr
  return json.loads(proc.stdout)


def test_shim_pth_is_active_in_this_venv_and_lazy():
  # Installed by `make` (editable): the finder is there from the start, and
  # registering it imported nothing heavy.
  probe = _probe()
  assert probe["finders"] == 1 and probe["at_start"]
  assert probe["heavy"] == []


def test_built_package_ships_the_pth_at_the_top_of_site_packages(tmp_path):
  # What a wheel (or an sdist) installs: build_lib's top level lands in
  # site-packages. A site dir holding only that build activates the shim.
  build_lib = tmp_path / "lib"
  proc = subprocess.run(
      [sys.executable, "setup.py", "-q", "egg_info", "--egg-base",
       str(tmp_path), "build_py", "--build-lib", str(build_lib)],
      capture_output=True, text=True, cwd=ROOT, timeout=300)
  assert proc.returncode == 0, proc.stderr
  assert (build_lib / PTH).read_text().startswith("import ")
  probe = _probe(str(build_lib))
  assert probe["finders"] == 1 and probe["heavy"] == []
  assert probe["package"].startswith(str(build_lib))

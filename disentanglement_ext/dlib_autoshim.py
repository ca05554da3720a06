"""Lazy, import-triggered compat shim for running disentanglement_lib's OWN scripts.

dlib's installed entry points (`dlib_evaluate`, `dlib_visualize_dataset`, ...)
import dlib directly, so on gin-config 0.5 they die with
`TypeError: configurable() got an unexpected keyword argument 'whitelist'`.
`install()` adds a `sys.meta_path` finder that, the first time a
`disentanglement_lib` module is imported, imports `disentanglement_ext.compat`
(which applies the whole shim and so imports TensorFlow, as dlib's scripts do
anyway) before dlib's own code runs, and once dlib's `named_data` module has
executed, imports `disentanglement_ext.data`, which registers our datasets
with the shim (`compat.apply()` is idempotent).
Nothing happens in processes that never import disentanglement_lib.

Every install of drpm-tf (wheel, sdist or editable) puts `drpm_tf_dlib_shim.pth`
at the top of site-packages (setup.py's build_py), whose one line calls
`install()` at interpreter start, so in that environment

    dlib_evaluate --input_dir ... --output_dir ... --gin_config ...

runs dlib's own script unchanged (equivalent to `drpm-dlib-evaluate`), with no
environment variable. This module runs in every interpreter there, so it
imports nothing but `importlib.machinery` (the finder and loader follow the
import protocol without `importlib.abc`, which imports `importlib.resources`,
`tempfile`, `shutil`, ...: tens of milliseconds).
"""
import importlib.machinery
import sys

_NAMED_DATA = "disentanglement_lib.data.ground_truth.named_data"


class _Loader:
  """Wraps dlib's loader for named_data: registers our names after exec."""

  def __init__(self, loader):
    self._loader = loader

  def create_module(self, spec):
    return self._loader.create_module(spec)

  def exec_module(self, module):
    self._loader.exec_module(module)
    from disentanglement_ext import compat  # pylint: disable=g-import-not-at-top
    compat.apply()
    # Registers our datasets. Only imported: when the import of named_data
    # came from `disentanglement_ext.data` itself, that module is still
    # running and registers them when it continues.
    import disentanglement_ext.data  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import


class _Finder:
  """Applies the gin patch before the first disentanglement_lib import."""

  def find_spec(self, fullname, path, target=None):
    if not fullname.startswith("disentanglement_lib"):
      return None
    from disentanglement_ext import compat  # pylint: disable=g-import-not-at-top
    compat._patch_gin()  # pylint: disable=protected-access
    if fullname != _NAMED_DATA:
      return None
    spec = importlib.machinery.PathFinder.find_spec(fullname, path)
    if spec is not None and spec.loader is not None:
      spec.loader = _Loader(spec.loader)
    return spec


def install():
  """Idempotently installs the finder (first in sys.meta_path)."""
  if not any(isinstance(f, _Finder) for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder())

"""Makes disentanglement_lib 1.5 usable on Python 3.11 + gin-config 0.5 + TF 2.15.

Import this module (or `disentanglement_ext.data`, which imports it and adds
our datasets) before any `disentanglement_lib` module:

    from disentanglement_ext import data  # noqa: F401  (patches on import)
    from disentanglement_lib.evaluation import evaluate

Patches (each idempotent; `apply()` re-runs them safely):

1. `gin.configurable` / `gin.external_configurable` accept `whitelist=` /
   `blacklist=` again. gin-config 0.5 renamed them to `allowlist` / `denylist`,
   and gin 0.4 (which still had them) crashes on Python >= 3.10, so without this
   every dlib metric module, `evaluation.evaluate` and `postprocessing` fail at
   import time with a TypeError.
2. dlib's `named_data.get_named_ground_truth_data` (gin name `dataset`, parameter
   `name`) is re-registered under the same gin selector with a version that also
   knows the datasets given to `register_dataset`. It is THE implementation of
   `dataset.name`: dlib's evaluate / postprocess / visualize call it through the
   module attribute, and `disentanglement_ext.data.get_dataset` calls it too, so
   a gin file binding `dataset.name` means the same thing in our code and
   inside dlib. This module knows no dataset of ours: `disentanglement_ext.data`
   registers them ('synthetic_mpi3d', and an 'mpi3d_toy' that infers its factor
   sizes from the file instead of dlib's hard-coded [4, 4, 2, 3, 3, 40, 40])
   when it is imported, and `disentanglement_ext.dlib_autoshim` imports it for
   dlib's own scripts.
3. `disentanglement_lib.utils.results._copy_recursively` uses `shutil.copytree`
   instead of distutils' `copy_tree`, whose process-wide cache of created
   directories makes a second `evaluate(..., overwrite=True)` into the same
   output directory fail within one process ("could not create ...").

Not patched (cannot run on any TF 2; see docs/design.md): modules importing
`tensorflow.contrib` -- `methods.unsupervised.{vae,train}`,
`postprocessing.postprocess` (through `utils.convolute_hub`) and
`evaluation.abstract_reasoning.{models,reason}`.
"""
import functools
import shutil

import gin
import gin.config

from drpm_tf import errors

# The dlib module whose gin configurable `dataset` we replace.
NAMED_DATA_MODULE = "disentanglement_lib.data.ground_truth.named_data"

# Names dlib 1.5 itself accepts as `dataset.name` (its if/elif chain).
DLIB_DATASETS = (
    "dsprites_full", "dsprites_noshape", "color_dsprites", "noisy_dsprites",
    "scream_dsprites", "smallnorb", "cars3d", "mpi3d_toy", "mpi3d_realistic",
    "mpi3d_real", "shapes3d", "dummy_data")


# Datasets `register_dataset` added, name -> zero-argument constructor. They
# take precedence over dlib's entries of the same name (dlib's mpi3d_toy
# mis-sizes the public file). Re-running this module's body (a reload) keeps
# them, as it keeps the patches.
EXTRA_DATASETS = globals().get("EXTRA_DATASETS", {})


def register_dataset(name, constructor):
  """Makes `dataset.name = name` (ours and dlib's) build `constructor()`."""
  EXTRA_DATASETS[name] = constructor


def dataset_names():
  """All names `dataset.name` accepts once the shim is applied (sorted)."""
  return sorted(set(DLIB_DATASETS) | set(EXTRA_DATASETS))


# --- 1. whitelist / blacklist ------------------------------------------------

def _translate_lists(fn):
  """Wraps a gin decorator factory so it also accepts whitelist/blacklist."""

  @functools.wraps(fn)
  def wrapper(*args, whitelist=None, blacklist=None, **kwargs):
    if whitelist is not None:
      if kwargs.get("allowlist") is not None:
        raise ValueError("Pass either `whitelist` or `allowlist`, not both.")
      kwargs["allowlist"] = whitelist
    if blacklist is not None:
      if kwargs.get("denylist") is not None:
        raise ValueError("Pass either `blacklist` or `denylist`, not both.")
      kwargs["denylist"] = blacklist
    return fn(*args, **kwargs)

  wrapper._drpm_compat_original = fn  # pylint: disable=protected-access
  return wrapper


def _patch_gin():
  for attr in ("configurable", "external_configurable"):
    # Both `gin.configurable` and `gin.config.configurable` are used in the wild.
    for namespace in (gin, gin.config):
      current = getattr(namespace, attr)
      if not hasattr(current, "_drpm_compat_original"):
        setattr(namespace, attr, _translate_lists(current))


# --- 2. dataset names --------------------------------------------------------

def _patch_named_data():
  """Re-registers dlib's gin configurable `dataset` so it knows our names."""
  from disentanglement_lib.data.ground_truth import named_data  # pylint: disable=g-import-not-at-top

  current = named_data.get_named_ground_truth_data
  if getattr(current, "_drpm_compat_patched", False):
    return
  # gin's wrapper is built with functools.wraps, so __wrapped__ is dlib's plain
  # function; calling that bypasses gin (the caller's wrapper already resolved
  # `name`).
  dlib_fn = getattr(current, "__wrapped__", current)

  def get_named_ground_truth_data(name):
    """Returns the ground-truth dataset called `name` (gin: `dataset.name`).

    Args:
      name: one of `disentanglement_ext.compat.dataset_names()`.

    Returns:
      A `disentanglement_lib` `GroundTruthData`.

    Raises:
      ConfigError: for an unknown name (the message lists the valid names).
    """
    if name in EXTRA_DATASETS:
      return EXTRA_DATASETS[name]()
    if name in DLIB_DATASETS:
      return dlib_fn(name)
    raise errors.ConfigError(
        "Unknown dataset name {!r} (gin binding `dataset.name`). Valid names: "
        "{}.".format(name, ", ".join(dataset_names())))

  get_named_ground_truth_data.__module__ = NAMED_DATA_MODULE
  get_named_ground_truth_data.__qualname__ = "get_named_ground_truth_data"
  get_named_ground_truth_data._drpm_dlib_fn = dlib_fn  # pylint: disable=protected-access

  # gin refuses to register a *different* function under an existing selector
  # unless in interactive mode. Bindings are stored by selector, so anything
  # already bound to `dataset.name` carries over to the new function.
  was_interactive = gin.config._INTERACTIVE_MODE  # pylint: disable=protected-access
  gin.enter_interactive_mode()
  try:
    wrapper = gin.config.configurable(
        "dataset", module=NAMED_DATA_MODULE)(get_named_ground_truth_data)
  finally:
    if not was_interactive:
      gin.exit_interactive_mode()
  wrapper._drpm_compat_patched = True  # pylint: disable=protected-access
  named_data.get_named_ground_truth_data = wrapper


# --- 3. results directory copy ----------------------------------------------

def _copy_recursively(path_to_old_dir, path_to_new_dir):
  shutil.copytree(path_to_old_dir, path_to_new_dir, dirs_exist_ok=True)


def _patch_results():
  from disentanglement_lib.utils import results  # pylint: disable=g-import-not-at-top
  results._copy_recursively = _copy_recursively  # pylint: disable=protected-access


def apply():
  """Applies all patches; safe to call any number of times."""
  _patch_gin()
  _patch_named_data()
  _patch_results()


apply()

"""Ground-truth datasets and weak pairs for the weakly-supervised experiments.

`get_dataset(name)` resolves names exactly like disentanglement_lib's gin
configurable `dataset` (binding `dataset.name`), because it calls dlib's own
`named_data.get_named_ground_truth_data`, which `disentanglement_ext.compat`
extends with the datasets this package registers on import:
'synthetic_mpi3d' (`synthetic_mpi3d.py`) and 'mpi3d_toy' (`mpi3d.py`). So one
gin binding, e.g.

    dataset.name = 'synthetic_mpi3d'

selects the dataset for our training code and for dlib's evaluation alike.
"""
from disentanglement_ext import compat
from disentanglement_ext.data import mpi3d
from disentanglement_ext.data import synthetic_mpi3d
from disentanglement_lib.data.ground_truth import named_data
from drpm_tf import errors

compat.register_dataset("synthetic_mpi3d", synthetic_mpi3d.SyntheticMPI3D)
compat.register_dataset("mpi3d_toy", mpi3d.MPI3DToy)


def get_dataset(name=None):
  """Returns a dlib `GroundTruthData` by name.

  Args:
    name: 'synthetic_mpi3d' (embedded, procedural), 'mpi3d_toy' (local file,
      see `disentanglement_ext.data.mpi3d`) or any dlib dataset name. None reads
      the gin binding `dataset.name`.

  Returns:
    A `GroundTruthData` with observations `[64, 64, C]` float in [0, 1].

  Raises:
    ValueError: unknown name (the message lists the valid ones), or `name` is
      None and `dataset.name` is not bound.
  """
  compat.apply()  # No-op when already applied; guards against gin re-imports.
  if name is None:
    try:
      name = _bound_name()
    except ValueError:
      raise errors.ConfigError(
          "No dataset name given and the gin binding `dataset.name` is not "
          "set. Valid names: {}.".format(", ".join(compat.dataset_names())))
    # Let gin pass the name: the call then shows up in the operative config,
    # which dlib's `dataset.name = 'auto'` reads back.
    return named_data.get_named_ground_truth_data()
  return named_data.get_named_ground_truth_data(name)


def _bound_name():
  import gin  # pylint: disable=g-import-not-at-top
  return gin.query_parameter("dataset.name")

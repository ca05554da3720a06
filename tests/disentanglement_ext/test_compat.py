"""disentanglement_lib 1.5 through the compat shim: imports, datasets, a metric."""
import importlib
import shutil

import gin
import numpy as np
import pytest

from disentanglement_ext import compat

DLIB_MODULES = [
    "disentanglement_lib.data.ground_truth.named_data",
    "disentanglement_lib.evaluation.metrics.beta_vae",
    "disentanglement_lib.evaluation.metrics.dci",
    "disentanglement_lib.evaluation.metrics.downstream_task",
    "disentanglement_lib.evaluation.metrics.factor_vae",
    "disentanglement_lib.evaluation.metrics.mig",
    "disentanglement_lib.evaluation.metrics.modularity_explicitness",
    "disentanglement_lib.evaluation.metrics.sap_score",
    "disentanglement_lib.evaluation.metrics.unsupervised_metrics",
    "disentanglement_lib.evaluation.evaluate",
    "disentanglement_lib.postprocessing.methods",
    "disentanglement_lib.utils.results",
]


@pytest.fixture(autouse=True)
def _clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


@pytest.mark.parametrize("name", DLIB_MODULES)
def test_dlib_module_imports(name):
  importlib.import_module(name)


@gin.configurable("drpm_compat_test_fn", whitelist=["a"])
def _allowlisted(a=1, b=2):
  return a, b


@gin.configurable("drpm_compat_test_fn2", blacklist=["b"])
def _denylisted(a=1, b=2):
  return a, b


def test_whitelist_blacklist_are_accepted():
  gin.bind_parameter("drpm_compat_test_fn.a", 5)
  gin.bind_parameter("drpm_compat_test_fn2.a", 6)
  assert _allowlisted() == (5, 2)
  assert _denylisted() == (6, 2)
  with pytest.raises(ValueError):
    gin.bind_parameter("drpm_compat_test_fn2.b", 3)  # In the denylist.
  with pytest.raises(ValueError):
    gin.bind_parameter("drpm_compat_test_fn.b", 3)  # Not in the allowlist.


def test_apply_is_idempotent():
  from disentanglement_lib.data.ground_truth import named_data
  before = named_data.get_named_ground_truth_data
  configurable = gin.configurable
  compat.apply()
  importlib.reload(compat)  # Re-running the module body must not re-wrap.
  assert named_data.get_named_ground_truth_data is before
  assert gin.configurable is configurable


def test_dlib_named_data_resolves_our_names_through_gin():
  from disentanglement_ext.data import synthetic_mpi3d
  from disentanglement_lib.data.ground_truth import named_data
  gin.parse_config("dataset.name = 'synthetic_mpi3d'")
  # This is the exact call dlib's evaluate / postprocess make.
  assert isinstance(named_data.get_named_ground_truth_data(),
                    synthetic_mpi3d.SyntheticMPI3D)
  assert gin.query_parameter("dataset.name") == "synthetic_mpi3d"
  # dlib's own names still go to dlib.
  from disentanglement_lib.data.ground_truth import dummy_data
  assert isinstance(named_data.get_named_ground_truth_data("dummy_data"),
                    dummy_data.DummyData)


def test_operative_config_records_dataset_name():
  # dlib's `dataset.name = 'auto'` reads this line back from postprocess.gin.
  from disentanglement_ext.data import get_dataset
  from disentanglement_lib.utils import results
  gin.parse_config("dataset.name = 'synthetic_mpi3d'")
  get_dataset()
  assert results.gin_dict()["dataset.name"] == "'synthetic_mpi3d'"


def _linear_representation(seed=0, dim=6):
  weights = np.random.RandomState(seed).randn(64 * 64 * 3, dim) / 64.

  def representation_function(x):
    return np.asarray(x, np.float32).reshape(len(x), -1) @ weights

  return representation_function


def test_dlib_mig_and_sap_run_on_synthetic_mpi3d():
  from disentanglement_ext.data import get_dataset
  from disentanglement_lib.evaluation.metrics import mig
  from disentanglement_lib.evaluation.metrics import sap_score
  gin.parse_config("""
      discretizer.discretizer_fn = @histogram_discretizer
      discretizer.num_bins = 10
  """)
  data = get_dataset("synthetic_mpi3d")
  rep = _linear_representation()
  scores = mig.compute_mig(data, rep, np.random.RandomState(0), num_train=64,
                           batch_size=32)
  scores.update(sap_score.compute_sap(data, rep, np.random.RandomState(0),
                                      num_train=64, num_test=32,
                                      continuous_factors=False))
  assert set(scores) >= {"discrete_mig", "SAP_score"}
  assert all(np.isfinite(v) for v in scores.values())


def test_results_copy_survives_repeated_overwrite(tmp_path):
  # distutils' copy_tree caches created dirs and fails the second time.
  from disentanglement_lib.utils import results
  src = tmp_path / "model" / "results"
  (src / "json").mkdir(parents=True)
  (src / "json" / "a.json").write_text("{}")
  dst = tmp_path / "eval" / "results"
  for _ in range(2):
    results.copydir(str(src), str(dst))
    assert (dst / "json" / "a.json").exists()
    shutil.rmtree(tmp_path / "eval")

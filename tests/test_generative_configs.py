"""drpm_tf.gin_configs: the generative gin files ship with the package, gin
finds them by their package name from any directory, and the quick schedules
bind only what differs from mnist.gin."""
import glob
import os

import gin
import pytest

from drpm_tf import gin_config
from drpm_tf import gin_configs
from drpm_tf import training  # noqa: F401  pylint: disable=unused-import  (gin registration)


@pytest.fixture
def elsewhere(monkeypatch, tmp_path):
  """gin cleared, working directory away from the checkout."""
  gin.clear_config()
  monkeypatch.chdir(tmp_path)
  yield tmp_path
  gin.clear_config()


def test_every_packaged_file_parses_in_the_trainer(elsewhere):
  paths = sorted(glob.glob(os.path.join(gin_configs.GENERATIVE, "*.gin")))
  assert [os.path.basename(p) for p in paths] == [
      "digits_quick.gin", "mnist.gin", "mnist_quick.gin"]
  for path in paths:
    gin.clear_config()
    gin_config.parse([path], [])
    assert gin.query_parameter("drpm_vae.num_clusters") == 10


def test_packaged_names_resolve_from_anywhere(elsewhere):
  name = gin_configs.name("generative", "digits_quick.gin")
  assert name == "drpm_tf/gin_configs/generative/digits_quick.gin"
  assert gin_config.resolve(name) == gin_configs.path("generative",
                                                      "digits_quick.gin")
  gin_config.parse([name], ["train_generative.num_steps = 7"])
  # Bound in mnist.gin only, reached through the include; then overridden.
  assert gin.query_parameter("drpm_vae.encoder_units") == (500, 500, 2000)
  assert gin.query_parameter("drpm_vae.anneal_steps") == 1000
  assert gin.query_parameter("load_dataset.name") == "digits"
  assert gin.query_parameter("train_generative.num_steps") == 7


@pytest.mark.parametrize("quick", ["digits_quick.gin", "mnist_quick.gin"])
def test_the_quick_schedules_restate_nothing(quick):
  path = gin_configs.path("generative", quick)
  with open(path) as f:
    lines = f.read().splitlines()
  assert "include '{}'".format(gin_configs.name("generative", "mnist.gin")) in (
      lines)
  base = gin_config.read_values([gin_configs.path("generative", "mnist.gin")])
  values = gin_config.read_values([path])
  own = [l.split("=")[0].strip() for l in lines
         if "=" in l and not l.startswith("#")]
  assert own
  restated = [k for k in own if base.get(k) == values[k]]
  assert not restated, "{} restates {}".format(quick, restated)

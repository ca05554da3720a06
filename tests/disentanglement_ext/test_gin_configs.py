"""The weak side's gin files ship with the package: gin's own include
resolution in the trainer, and a built wheel that runs the sweep's preset
handling away from any checkout."""
import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

import gin
import pytest

from disentanglement_ext import gin_configs
from drpm_tf import errors
from drpm_tf import gin_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))


@pytest.fixture
def trainer_gin(clean_gin, monkeypatch, tmp_path):
  """gin as the weak trainer parses it, from a directory that is neither
  the checkout nor the package, and that holds folders named like the
  configs' (`table1/`, `weak/`), which gin must not mistake for them."""
  from disentanglement_ext import train  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  for folder in ("table1", "weak"):
    (tmp_path / folder).mkdir()
  monkeypatch.chdir(tmp_path)
  monkeypatch.syspath_prepend(str(tmp_path))


def test_the_trainer_follows_includes(trainer_gin):
  gin_config.parse([gin_configs.path("table1", "base.gin")], [])
  # Bound in weak/base.gin only: reached through table1/base.gin's include.
  assert gin.query_parameter("weak_vae.num_latent") == 10
  assert gin.query_parameter("hg_aggregation.final_temperature") == 0.5
  assert gin.query_parameter("weak_vae.objective") == "paper"


def test_packaged_configs_are_named_from_anywhere(trainer_gin):
  gin_config.parse([gin_configs.name("weak", "quick.gin"),
                    "disentanglement_ext/gin_configs/table1/drpm.gin"],
                   ["train_weak.training_steps = 7"])
  assert gin.query_parameter("weak_vae.architecture") == "conv32"
  assert gin.query_parameter("dataset.name") == "synthetic_mpi3d"
  assert gin.query_parameter("train_weak.training_steps") == 7
  name = "disentanglement_ext/gin_configs/weak/nosuch.gin"
  with pytest.raises(errors.ConfigError, match=name):
    gin_config.parse([name], [])
  # The reader finds the same files.
  assert gin_config.resolve(gin_configs.name("weak", "quick.gin")) == (
      gin_configs.path("weak", "quick.gin"))
  assert gin_config.resolve(name) is None
  assert gin_config.resolve("weak/quick.gin") is None


def test_every_packaged_file_parses():
  paths = sorted(glob.glob(os.path.join(gin_configs.DIRECTORY, "*", "*.gin")))
  assert len(paths) == 13 + 2 + 9
  for path in paths:
    assert gin_config.read_values([path]), path


# What the wheel test runs with the wheel's package only: where the package
# and its configs are, a preset's settings through base.gin's include, and
# gin's own resolution of the packaged names and includes.
_PROBE = """
import json, sys
import disentanglement_ext
from disentanglement_ext import gin_configs
from disentanglement_ext.table1 import presets
import gin
gin.parse_config_files_and_bindings(
    ["disentanglement_ext/gin_configs/table1/base.gin"], [],
    skip_unknown=True)
settings = presets.load_settings("demo")
print(json.dumps(dict(
    package=disentanglement_ext.__file__, configs=presets.CONFIG_DIR,
    num_latent=settings["num_latent"], methods=settings["methods"],
    macro=gin.query_parameter("%TABLE1_N_S"))))
"""


def test_an_installed_wheel_runs_a_preset_away_from_the_checkout(tmp_path):
  source = tmp_path / "source"
  shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
      ".git", ".venv*", "runs", "demo_output", "build", "*.egg-info",
      "__pycache__", ".pytest_cache", "tests", "docs"))
  dist = tmp_path / "dist"
  build = subprocess.run(
      [sys.executable, "-m", "pip", "wheel", "--no-deps",
       "--no-build-isolation", "--no-index", "-q", "-w", str(dist),
       str(source)], capture_output=True, text=True, timeout=600)
  assert build.returncode == 0, build.stderr[-3000:]
  (wheel,) = dist.glob("drpm_tf-*.whl")
  site = tmp_path / "site"
  with zipfile.ZipFile(wheel) as archive:
    names = archive.namelist()
    archive.extractall(site)
  assert "disentanglement_ext/gin_configs/weak/base.gin" in names
  assert "disentanglement_ext/gin_configs/evaluation/dci_quick.gin" in names
  assert "drpm_tf/gin_configs/generative/digits_quick.gin" in names
  # The wheel's package first; run where no gin file lies around.
  elsewhere = tmp_path / "elsewhere"
  elsewhere.mkdir()
  env = dict(os.environ, PYTHONPATH=str(site), TF_CPP_MIN_LOG_LEVEL="2")
  probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True,
                         text=True, cwd=str(elsewhere), env=env, timeout=120)
  assert probe.returncode == 0, probe.stderr[-3000:]
  found = json.loads(probe.stdout)
  assert found["package"].startswith(str(site))
  assert found["configs"] == str(site / "disentanglement_ext" /
                                 "gin_configs" / "table1")
  assert found["num_latent"] == 10 and found["methods"] == ["adaptive",
                                                            "drpm"]
  assert found["macro"] == [0, 1, 3, 5]
  emit = subprocess.run(
      [sys.executable, "-m", "disentanglement_ext.bin.reproduce_table1",
       "--preset", "demo", "--output_dir", "out", "--emit-jobs", "jobs.txt"],
      capture_output=True, text=True, cwd=str(elsewhere), env=env,
      timeout=120)
  assert emit.returncode == 0, emit.stderr[-3000:]
  with open(elsewhere / "jobs.txt") as f:
    lines = f.read().splitlines()
  assert len(lines) == 4 and all("--preset demo" in l for l in lines)
  assert "Wrote 4 command(s) (0 of 4 runs already finished)" in emit.stdout

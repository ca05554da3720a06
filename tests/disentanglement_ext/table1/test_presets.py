"""Table 1 presets: the settings they give, and gin files that follow their
includes and repeat nothing."""
import os

import pytest

from disentanglement_ext import gin_configs
from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import runs
from drpm_tf import errors
from drpm_tf import gin_config


@pytest.mark.parametrize("preset,counts", [
    ("demo", (2, 2, 1)), ("quick", (4, 4, 2)), ("paper", (4, 4, 5))])
def test_enumeration(tmp_path, preset, counts):
  settings = presets.load_settings(preset)
  assert (len(settings["methods"]), len(settings["n_s_values"]),
          len(settings["seeds"])) == counts
  grid = runs.enumerate_runs(settings, str(tmp_path))
  assert len(grid) == counts[0] * counts[1] * counts[2]
  names = [r.name for r in grid]
  assert len(set(names)) == len(names)
  for run in grid:
    assert run.name == "{}_ns{}_seed{}".format(run.method, run.n_s, run.seed)
    assert run.model_dir == os.path.join(str(tmp_path), run.name)
    assert run.method in presets.METHODS and run.n_s in presets.N_S_VALUES
  if preset == "paper":
    assert settings["architecture"] == "conv64"
    assert settings["training_steps"] == 300000
    assert settings["batch_size"] == 64
    assert (settings["num_latent"], settings["beta"],
            settings["gamma"]) == (10, 1.0, 0.25)
    assert settings["seeds"] == [0, 1, 2, 3, 4]
    # The preset named after the paper trains on the real mpi3d_toy.
    assert settings["dataset"] == "mpi3d_toy"
  else:
    assert settings["dataset"] == "synthetic_mpi3d"
  assert settings["objective"] == "paper"


def test_the_configs_are_package_data():
  assert presets.CONFIG_DIR == os.path.join(
      os.path.dirname(gin_configs.__file__), "table1")
  for name in ("base", "demo", "quick", "cpu", "paper", "label", "adaptive",
               "hg", "drpm", "ns0", "ns1", "ns3", "ns5"):
    assert os.path.isfile(os.path.join(presets.CONFIG_DIR, name + ".gin"))
  assert os.path.isfile(gin_configs.path("weak", "quick.gin"))
  assert os.path.isfile(gin_configs.path("evaluation", "dci.gin"))


def test_unknown_preset_lists_the_presets():
  with pytest.raises(errors.ConfigError,
                     match=r"'nosuch'.*Presets: cpu, demo, paper, quick\."):
    presets.preset_path("nosuch")


def test_the_reader_follows_includes_from_any_directory(tmp_path,
                                                       monkeypatch):
  monkeypatch.chdir(tmp_path)
  values = gin_config.read_values([gin_configs.path("table1", "base.gin")])
  # Bound only in weak/base.gin, which table1/base.gin includes.
  assert values["weak_vae.num_latent"] == 10
  assert values["drpm_aggregation.final_temperature"] == 0.5
  assert values["weak_vae.objective"] == "paper"
  # Later bindings override what an include set.
  quick = gin_config.read_values([gin_configs.path("weak", "quick.gin")])
  assert quick["weak_vae.architecture"] == "conv32"
  assert quick["train_weak.learning_rate"] == 1e-4


def test_a_user_preset_may_include_a_packaged_one(tmp_path):
  preset = tmp_path / "longer.gin"
  preset.write_text("include '{}'\n"
                    "train_weak.training_steps = 5000\n".format(
                        gin_configs.name("table1", "quick.gin")))
  settings = presets.load_settings(str(preset))
  assert settings["preset"] == "longer"
  assert settings["training_steps"] == 5000
  assert settings["learning_rate"] == 5e-4  # from quick.gin
  assert settings["seeds"] == [0, 1]


def _values_without(path, tmp_path):
  """Bindings of `path` alone and of what it includes, separately."""
  with open(path) as f:
    lines = f.read().splitlines()
  body = tmp_path / "body.gin"
  body.write_text("\n".join(l for l in lines
                            if not l.startswith("include")) + "\n")
  included = tmp_path / "included.gin"
  included.write_text("\n".join(l for l in lines
                                if l.startswith("include")) + "\n")
  return (gin_config.read_values([str(body)]),
          gin_config.read_values([str(included)]))


@pytest.mark.parametrize("path,base", [
    ("table1/base.gin", None),
    ("weak/quick.gin", None),
    ("table1/demo.gin", "table1/base.gin"),
    ("table1/quick.gin", "table1/base.gin"),
    ("table1/cpu.gin", "table1/base.gin"),
    ("table1/paper.gin", "table1/base.gin"),
])
def test_no_gin_file_restates_what_it_builds_on(path, base, tmp_path):
  """A file binds only what differs from its includes (or, for a preset,
  from table1/base.gin, which the sweep applies before it)."""
  own, included = _values_without(gin_configs.path(path), tmp_path)
  if base is not None:
    included = gin_config.read_values([gin_configs.path(base)])
  assert own
  restated = {k: v for k, v in own.items()
              if k in included and included[k] == v}
  assert not restated, "{} restates {}".format(path, restated)

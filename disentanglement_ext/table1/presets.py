"""Table 1 presets: which gin files a sweep uses and what they set.

A preset is a gin file in the packaged `table1/` configs (`demo`, `quick`,
`cpu`, `paper`) or any path. It overrides the scale of `table1/base.gin` and
sets the sweep with the gin macros TABLE1_METHODS, TABLE1_N_S, TABLE1_SEEDS,
TABLE1_EVAL_MIN_PAIRS_PER_FACTOR and TABLE1_DCI_CONFIG (drpm-train-weak
ignores unused macros, so the same file is also a training config).
`load_settings` reads the values the way gin would apply them, following
`include` statements, without registering or binding anything
(`drpm_tf.gin_config.read_values`).
"""
import os

from disentanglement_ext import gin_configs
from drpm_tf import errors
from drpm_tf import gin_config

CONFIG_DIR = gin_configs.TABLE1
EVALUATION_CONFIG_DIR = gin_configs.EVALUATION

METHODS = ("label", "adaptive", "hg", "drpm")
METHOD_LABELS = {"label": "LABEL", "adaptive": "ADA", "hg": "HG",
                 "drpm": "DRPM"}
N_S_VALUES = (0, 1, 3, 5)


def preset_path(preset, config_dir=CONFIG_DIR):
  """`preset` is a name in `config_dir` ('demo', 'quick', 'paper') or a path."""
  if os.path.exists(preset) and preset.endswith(".gin"):
    return os.path.abspath(preset)
  path = os.path.join(config_dir, preset + ".gin")
  if not os.path.exists(path):
    names = sorted(f[:-4] for f in os.listdir(config_dir)
                   if f.endswith(".gin") and f[:-4] not in
                   ("base",) + METHODS and not f.startswith("ns"))
    raise errors.ConfigError("Unknown preset {!r}: no {}. Presets: {}.".format(
        preset, path, ", ".join(names)))
  return path


def preset_name(preset):
  return os.path.basename(preset)[:-4] if preset.endswith(".gin") else preset


def load_settings(preset, config_dir=CONFIG_DIR):
  """The sweep and scale of a preset (base.gin overridden by the preset)."""
  path = preset_path(preset, config_dir)
  values = gin_config.read_values([os.path.join(config_dir, "base.gin"),
                                    path])
  methods = list(values["TABLE1_METHODS"])
  unknown = [m for m in methods if m not in METHODS]
  if unknown:
    raise errors.ConfigError(
        "TABLE1_METHODS of {}: unknown {}; valid: {}.".format(
            path, unknown, ", ".join(METHODS)))
  return dict(
      preset=preset_name(preset), preset_path=path, config_dir=config_dir,
      methods=methods, n_s_values=[int(k) for k in values["TABLE1_N_S"]],
      seeds=[int(s) for s in values["TABLE1_SEEDS"]],
      eval_min_pairs=int(values["TABLE1_EVAL_MIN_PAIRS_PER_FACTOR"]),
      dci_config=values.get("TABLE1_DCI_CONFIG", "dci.gin"),
      dataset=values.get("dataset.name"),
      architecture=values.get("weak_vae.architecture"),
      training_steps=int(values["train_weak.training_steps"]),
      batch_size=int(values["train_weak.batch_size"]),
      num_latent=values.get("weak_vae.num_latent"),
      beta=values.get("weak_vae.beta"), gamma=values.get("weak_vae.gamma"),
      learning_rate=values.get("train_weak.learning_rate"),
      objective=values.get("weak_vae.objective", "paper"),
      aggregation_bindings={k: v for k, v in sorted(values.items())
                            if k.split(".")[0].endswith("_aggregation") and
                            not k.endswith("_temperature")})


def override_sweep(settings, methods=None, n_s_values=None, seeds=None):
  """`settings` with the sweep (methods, n_s, seeds) replaced where given."""
  settings = dict(settings)
  if methods is not None:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
      raise errors.ConfigError("--methods: unknown {}; valid: {}.".format(
          unknown, ", ".join(METHODS)))
    settings["methods"] = list(methods)
  if n_s_values is not None:
    settings["n_s_values"] = [int(k) for k in n_s_values]
  if seeds is not None:
    settings["seeds"] = [int(s) for s in seeds]
  return settings

"""Trains a weakly-supervised VAE: `drpm-train-weak --model_dir D --gin_config F`.

Flags as dlib's training scripts: --model_dir, --gin_config (multi),
--gin_bindings (multi), --overwrite. Rerunning the same command resumes from
the latest checkpoint that restores; --overwrite starts over (it deletes
model_dir only if it is a run of ours). --export_only redoes the TF-Hub export
of a finished run from its checkpoints. The packaged configs are named
`disentanglement_ext/gin_configs/...` from any directory (e.g.
`--gin_config disentanglement_ext/gin_configs/weak/quick.gin`). Bad settings
and files stop with one line (--verbose: with the traceback).
"""
from absl import flags

from drpm_tf import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Directory to save the trained model "
                    "in.", required=True)
flags.DEFINE_multi_string("gin_config", [], "List of paths to the config "
                          "files.")
flags.DEFINE_multi_string("gin_bindings", [], "Newline separated list of Gin "
                          "parameter bindings.")
flags.DEFINE_boolean("overwrite", False, "Start over: delete the run in "
                     "model_dir (only if it is one of ours).")
flags.DEFINE_boolean("export_only", False, "Only redo the TF-Hub export of "
                     "the finished run in model_dir, from its checkpoints.")
cli.define_absl_verbose_flag()


def _main(unused_argv):
  # Imported here: TensorFlow loads only once the flags are valid.
  from disentanglement_ext import train  # pylint: disable=g-import-not-at-top
  cli.run(train.train_or_export, FLAGS.model_dir, FLAGS.overwrite,
          FLAGS.gin_config, FLAGS.gin_bindings, FLAGS.export_only)


def main():
  cli.run_app(_main)


if __name__ == "__main__":
  main()

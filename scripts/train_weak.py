"""Trains a weakly-supervised VAE: `drpm-train-weak --model_dir D --gin_config F`.

Flags as dlib's training scripts: --model_dir, --gin_config (multi),
--gin_bindings (multi), --overwrite. Rerunning the same command resumes from
the latest checkpoint; --overwrite deletes model_dir and starts over.
"""
from absl import app
from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Directory to save the trained model "
                    "in.", required=True)
flags.DEFINE_multi_string("gin_config", [], "List of paths to the config "
                          "files.")
flags.DEFINE_multi_string("gin_bindings", [], "Newline separated list of Gin "
                          "parameter bindings.")
flags.DEFINE_boolean("overwrite", False, "Whether to overwrite the output "
                     "directory.")


def _main(argv):
  del argv
  from disentanglement_ext import train  # pylint: disable=g-import-not-at-top
  train.train_with_gin(FLAGS.model_dir, FLAGS.overwrite, FLAGS.gin_config,
                       FLAGS.gin_bindings)


def main():
  app.run(_main)


if __name__ == "__main__":
  main()

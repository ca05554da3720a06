"""Trains the generative DRPM-VAE: `drpm-train-generative --model_dir D --gin_config F`.

Rerunning the same command resumes from the latest checkpoint; `--overwrite`
starts over.
"""

from absl import app
from absl import flags
import gin

from drpm_tf import training

FLAGS = flags.FLAGS
flags.DEFINE_string('model_dir', None, 'Run directory.', required=True)
flags.DEFINE_multi_string('gin_config', [], 'Gin config files.')
flags.DEFINE_multi_string('gin_bindings', [], 'Gin bindings, e.g. '
                          '"train_generative.num_steps = 100".')
flags.DEFINE_boolean('overwrite', False, 'Delete model_dir first.')


def _main(argv):
  del argv
  gin.parse_config_files_and_bindings(FLAGS.gin_config, FLAGS.gin_bindings)
  training.train_generative(FLAGS.model_dir, overwrite=FLAGS.overwrite)


def main():
  app.run(_main)


if __name__ == '__main__':
  main()

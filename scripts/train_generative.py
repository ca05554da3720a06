"""Trains the generative DRPM-VAE: `drpm-train-generative --model_dir D --gin_config F`.

Rerunning the same command resumes from the newest checkpoint that restores
(a larger `train_generative.num_steps` trains on; a new learning rate takes
effect); `--overwrite` starts over, deleting model_dir only if it is a run of
ours. Bad settings and files stop with one line (--verbose: with the
traceback). See docs/troubleshooting.md.
"""

from absl import app
from absl import flags

from drpm_tf import cli
from drpm_tf import gin_config
from drpm_tf import training

FLAGS = flags.FLAGS
flags.DEFINE_string('model_dir', None, 'Run directory.', required=True)
flags.DEFINE_multi_string('gin_config', [], 'Gin config files.')
flags.DEFINE_multi_string('gin_bindings', [], 'Gin bindings, e.g. '
                          '"train_generative.num_steps = 100".')
flags.DEFINE_boolean('overwrite', False, 'Start over: delete the run in '
                     'model_dir (only if it is one of ours).')
cli.define_absl_verbose_flag()


def train_with_gin(model_dir, overwrite, gin_config_files, gin_bindings):
  """Parses gin, then trains (gin parse errors are one-line errors too)."""
  gin_config.parse(gin_config_files, gin_bindings)
  training.train_generative(model_dir, overwrite=overwrite)


def _main(argv):
  del argv
  cli.run(train_with_gin, FLAGS.model_dir, FLAGS.overwrite, FLAGS.gin_config,
          FLAGS.gin_bindings)


def main():
  app.run(_main)


if __name__ == '__main__':
  main()

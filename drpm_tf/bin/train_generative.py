"""`drpm-train-generative`: trains the generative DRPM-VAE.

    drpm-train-generative --model_dir D --gin_config F [--gin_config F2 ...]
        [--gin_bindings B ...] [--overwrite] [--verbose]

Rerunning the same command resumes from the newest checkpoint that restores
(a larger `train_generative.num_steps` trains on; a new learning rate takes
effect); `--overwrite` starts over, deleting model_dir only if it is a run of
ours. The packaged configs are named `drpm_tf/gin_configs/generative/...`
from any directory. Bad settings and files stop with one line (--verbose:
with the traceback). See docs/troubleshooting.md. Implementation:
`drpm_tf.training.train_with_gin`.
"""
from absl import flags

from drpm_tf import cli

FLAGS = flags.FLAGS
flags.DEFINE_string('model_dir', None, 'Run directory.', required=True)
flags.DEFINE_multi_string('gin_config', [], 'Gin config files.')
flags.DEFINE_multi_string('gin_bindings', [], 'Gin bindings, e.g. '
                          '"train_generative.num_steps = 100".')
flags.DEFINE_boolean('overwrite', False, 'Start over: delete the run in '
                     'model_dir (only if it is one of ours).')
cli.define_absl_verbose_flag()


def _main(unused_argv):
  # Imported here: TensorFlow loads only once the flags are valid.
  from drpm_tf import training  # pylint: disable=g-import-not-at-top
  cli.run(training.train_with_gin, FLAGS.model_dir, FLAGS.overwrite,
          FLAGS.gin_config, FLAGS.gin_bindings)


def main():
  cli.run_app(_main)


if __name__ == '__main__':
  main()

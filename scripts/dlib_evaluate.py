"""`drpm-dlib-evaluate`: disentanglement_lib's `dlib_evaluate` with the compat shim.

Same flags as dlib's script: --input_dir (e.g. <model_dir>/postprocessed/mean),
--output_dir, --gin_config (multi), --gin_bindings (multi),
--gin_evaluation_config_glob, --overwrite. Example:

    drpm-dlib-evaluate --input_dir runs/x/postprocessed/mean \
        --output_dir runs/x/metrics/dci --gin_config gin_configs/evaluation/dci.gin

Bad flags and directories stop with one line (--verbose: with the traceback).
"""
import os

from absl import app
from absl import flags

from drpm_tf import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("input_dir", None, "Directory to take trained "
                    "representation from.")
flags.DEFINE_string("output_dir", None, "Directory to save scores to.")
flags.DEFINE_multi_string("gin_config", [],
                          "List of paths to the config files.")
flags.DEFINE_multi_string("gin_bindings", [],
                          "Newline separated list of Gin parameter bindings.")
flags.DEFINE_string("gin_evaluation_config_glob", None,
                    "Path to glob pattern to evaluation configs.")
flags.DEFINE_boolean("overwrite", False,
                     "Whether to overwrite output directory.")
cli.define_absl_verbose_flag()


def _main(unused_argv):
  import glob  # pylint: disable=g-import-not-at-top
  from disentanglement_ext import evaluate  # pylint: disable=g-import-not-at-top
  if FLAGS.gin_evaluation_config_glob is not None:
    for config in sorted(glob.glob(FLAGS.gin_evaluation_config_glob)):
      metric_name = os.path.basename(config).replace(".gin", "")
      cli.run(
          evaluate.dlib_evaluate,
          FLAGS.input_dir, os.path.join(FLAGS.output_dir, metric_name),
          FLAGS.overwrite, [config],
          ["evaluation.name = '{}'".format(metric_name)])
  else:
    cli.run(evaluate.dlib_evaluate, FLAGS.input_dir, FLAGS.output_dir,
            FLAGS.overwrite, FLAGS.gin_config, FLAGS.gin_bindings)


def main():
  app.run(_main)


if __name__ == "__main__":
  main()

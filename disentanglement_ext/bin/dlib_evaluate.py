"""`drpm-dlib-evaluate`: disentanglement_lib's `dlib_evaluate` with the compat shim.

Same flags as dlib's script: --input_dir (e.g. <model_dir>/postprocessed/mean),
--output_dir, --gin_config (multi), --gin_bindings (multi),
--gin_evaluation_config_glob, --overwrite. The packaged metric configs are
named `disentanglement_ext/gin_configs/evaluation/...` from any directory:

    drpm-dlib-evaluate --input_dir runs/x/postprocessed/mean \\
        --output_dir runs/x/metrics/dci \\
        --gin_config disentanglement_ext/gin_configs/evaluation/dci.gin

Bad flags and directories stop with one line (--verbose: with the traceback).
"""
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
  from disentanglement_ext import evaluate  # pylint: disable=g-import-not-at-top
  cli.run(evaluate.dlib_evaluate, FLAGS.input_dir, FLAGS.output_dir,
          FLAGS.overwrite, FLAGS.gin_config, FLAGS.gin_bindings,
          config_glob=FLAGS.gin_evaluation_config_glob)


def main():
  cli.run_app(_main)


if __name__ == "__main__":
  main()

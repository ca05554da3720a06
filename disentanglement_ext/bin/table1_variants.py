"""`drpm-table1-variants`: Table 1 variants compared on the validation pairs.

    drpm-table1-variants --preset cpu --stage scores [--jobs 2]
        [--output_root runs] [--report docs/results/variants_scores.md]
        [--verbose]

Implementation: disentanglement_ext/table1/variants.py.
"""
from absl import flags

from disentanglement_ext.table1 import variants
from drpm_tf import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("preset", None, "Preset name or .gin path.", required=True)
flags.DEFINE_enum("stage", None, sorted(variants.STAGES), "Study stage.",
                  required=True)
flags.DEFINE_integer("jobs", 2, "Parallel run processes.")
flags.DEFINE_string("output_root", "runs", "Directory of the variants' "
                    "output directories.")
flags.DEFINE_string("report", None, "Also write the report to this file.")
cli.define_absl_verbose_flag()


def _main(unused_argv):
  cli.run(variants.run_stage, FLAGS.preset, FLAGS.stage, FLAGS.output_root,
          FLAGS.jobs, FLAGS.report,
          log=lambda message: print(message, flush=True))
  return 0


def main():
  cli.run_app(_main)


if __name__ == "__main__":
  main()

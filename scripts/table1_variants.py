"""`drpm-table1-variants`: Table 1 variants compared on the validation pairs.

    drpm-table1-variants --preset cpu --stage scores [--jobs 2]
        [--output_root runs] [--report docs/results/variants_scores.md]
        [--verbose]

See disentanglement_ext/table1_variants.py.
"""
import argparse
import sys

from disentanglement_ext import table1_variants
from drpm_tf import cli


def main(argv=None):
  parser = argparse.ArgumentParser(prog="drpm-table1-variants",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("--preset", required=True)
  parser.add_argument("--stage", required=True,
                      choices=sorted(table1_variants.STAGES))
  parser.add_argument("--jobs", type=int, default=2)
  parser.add_argument("--output_root", default="runs")
  parser.add_argument("--report", default=None)
  cli.add_verbose_argument(parser)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  cli.run(table1_variants.run_stage, args.preset, args.stage,
          args.output_root, args.jobs, args.report)
  return 0


if __name__ == "__main__":
  sys.exit(main())

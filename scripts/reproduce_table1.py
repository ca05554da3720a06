"""`drpm-reproduce-table1`: the Table 1 / Figure 5 sweep (see docs/table1.md).

    drpm-reproduce-table1 --preset demo|quick|paper --output_dir D [--jobs N]
        [--emit-jobs FILE] [--run NAME] [--aggregate_only] [--dci] [--verbose]

Implementation: disentanglement_ext/table1.py.
"""
import sys

from drpm_tf import cli


def main():
  from disentanglement_ext import table1  # pylint: disable=g-import-not-at-top
  sys.exit(cli.run(table1.main))


if __name__ == "__main__":
  main()

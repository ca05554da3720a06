"""Factor traversals of a ground-truth dataset as one PNG (dlib_visualize_dataset-style).

    drpm-visualize-dataset [--dataset synthetic_mpi3d]
        [--output docs/synthetic_mpi3d_traversals.png] [--seed 1]
        [--max_values 10] [--verbose]

Implementation: disentanglement_ext/data/traversals.py.
"""
from absl import flags

from drpm_tf import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "synthetic_mpi3d", "Any `dataset.name` value, "
                    "e.g. mpi3d_toy.")
flags.DEFINE_string("output", None, "PNG path (default "
                    "docs/<dataset>_traversals.png).")
flags.DEFINE_integer("seed", 1, "Seed of the base sample.")
flags.DEFINE_integer("max_values", 10, "Columns per row; longer factors are "
                     "subsampled.")
cli.define_absl_verbose_flag()


def _main(unused_argv):
  from disentanglement_ext.data import traversals  # pylint: disable=g-import-not-at-top
  output = cli.run(traversals.write_traversals, FLAGS.dataset, FLAGS.output,
                   seed=FLAGS.seed, max_values=FLAGS.max_values)
  print("wrote", output)


def main():
  cli.run_app(_main)


if __name__ == "__main__":
  main()

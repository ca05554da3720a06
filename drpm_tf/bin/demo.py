"""`drpm-demo`: samples a few DRPM partitions, prints them and plots their
assignment matrices.

    drpm-demo [--output_dir demo_output] [--seed 0] [--num_samples 4]
        [--verbose]

Bad arguments stop with one line (--verbose: with the traceback).
Implementation: `drpm_tf.demo.run_demo`.
"""
from absl import flags

from drpm_tf import cli

FLAGS = flags.FLAGS
flags.DEFINE_string('output_dir', 'demo_output', 'Where drpm_partitions.png '
                    'goes.')
flags.DEFINE_integer('seed', 0, 'Sampling seed.')
flags.DEFINE_integer('num_samples', 4, 'Partitions to sample.')
cli.define_absl_verbose_flag()


def _main(unused_argv):
  # Imported here: --help does not pay for the TensorFlow import.
  from drpm_tf import demo  # pylint: disable=g-import-not-at-top
  cli.run(demo.run_demo, FLAGS.output_dir, FLAGS.seed, FLAGS.num_samples)


def main():
  cli.run_app(_main)


if __name__ == '__main__':
  main()

"""`drpm-sample-partitions`: figures of a trained DRPM-VAE like paper Figures
1, 7 and 8, and the purity of its sampled partitions.

    drpm-sample-partitions --model_dir D [--output_dir D/figures]
        [--num_elements 32] [--samples_per_prior 10] [--seed 0]
        [--num_partitions 100] [--verbose]

Writes `partition.png` and `prior_samples.png` to the output directory and
`D/results/partition_purity.json`, and prints the purity. Bad settings and a
run directory without a trained model stop with one line (--verbose: with
the traceback). Implementation:
`drpm_tf.generative_figures.sample_and_report`.
"""
from absl import flags

from drpm_tf import cli

FLAGS = flags.FLAGS
flags.DEFINE_string('model_dir', None, 'Run directory.', required=True)
flags.DEFINE_string('output_dir', None, 'Default: <model_dir>/figures.')
flags.DEFINE_integer('num_elements', 32, 'Elements of the sampled partition.')
flags.DEFINE_integer('samples_per_prior', 10, 'Columns of prior_samples.png.')
flags.DEFINE_integer('seed', 0, 'Sampling seed.')
flags.DEFINE_integer('num_partitions', 100, 'Partitions pooled for the '
                     'subset purity.')
cli.define_absl_verbose_flag()


def _main(unused_argv):
  from drpm_tf import generative_figures  # pylint: disable=g-import-not-at-top
  cli.run(generative_figures.sample_and_report, FLAGS.model_dir,
          FLAGS.output_dir, FLAGS.num_elements, FLAGS.samples_per_prior,
          FLAGS.seed, FLAGS.num_partitions)


def main():
  cli.run_app(_main)


if __name__ == '__main__':
  main()

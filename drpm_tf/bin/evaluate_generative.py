"""`drpm-evaluate-generative`: clustering ACC / NMI / ARI and prior purity of
a trained DRPM-VAE.

    drpm-evaluate-generative --model_dir D [--seed 0]
        [--samples_per_prior 100] [--stage final|initialization] [--verbose]

Prints the clustering scores next to k-means and the prior purity (majority
digit of each prior's decoded samples and its share), and writes
`D/results/evaluation.json`. With `--stage initialization` it evaluates the
model right after the autoencoder pretraining and the mixture initialization
instead (`D/results/evaluation_initialization.json`). Bad settings and a run
directory without a trained model stop with one line (--verbose: with the
traceback). Implementation: `drpm_tf.training.print_evaluation`.
"""
from absl import flags

from drpm_tf import cli

FLAGS = flags.FLAGS
flags.DEFINE_string('model_dir', None, 'Run directory.', required=True)
flags.DEFINE_integer('seed', 0, 'Seed of k-means and of the prior samples.')
flags.DEFINE_integer('samples_per_prior', 100, 'Decoded samples per prior for '
                     'the prior purity.')
flags.DEFINE_enum('stage', 'final', ['final', 'initialization'],
                  'Which model of the run to evaluate.')
cli.define_absl_verbose_flag()


def _main(unused_argv):
  from drpm_tf import training  # pylint: disable=g-import-not-at-top
  cli.run(training.print_evaluation, FLAGS.model_dir, seed=FLAGS.seed,
          samples_per_prior=FLAGS.samples_per_prior, stage=FLAGS.stage)


def main():
  cli.run_app(_main)


if __name__ == '__main__':
  main()

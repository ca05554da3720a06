"""Clustering ACC / NMI / ARI and prior purity of a trained DRPM-VAE.

`drpm-evaluate-generative --model_dir D` prints the clustering scores next to
k-means and the prior purity (majority digit of each prior's decoded samples
and its share), and writes `D/results/evaluation.json`. With
`--stage initialization` it evaluates the model right after the autoencoder
pretraining and the mixture initialization instead
(`D/results/evaluation_initialization.json`). Bad settings and a run
directory without a trained model stop with one line (--verbose: with the
traceback).
"""

from absl import app
from absl import flags

from drpm_tf import cli
from drpm_tf import training

FLAGS = flags.FLAGS
flags.DEFINE_string('model_dir', None, 'Run directory.', required=True)
flags.DEFINE_integer('seed', 0, 'Seed of k-means and of the prior samples.')
flags.DEFINE_integer('samples_per_prior', 100, 'Decoded samples per prior for '
                     'the prior purity.')
flags.DEFINE_enum('stage', 'final', ['final', 'initialization'],
                  'Which model of the run to evaluate.')
cli.define_absl_verbose_flag()


def evaluate(model_dir, seed, samples_per_prior, stage):
  print(training.format_evaluation(training.evaluate_generative(
      model_dir, seed=seed, samples_per_prior=samples_per_prior,
      stage=stage)))


def _main(argv):
  del argv
  cli.run(evaluate, FLAGS.model_dir, FLAGS.seed, FLAGS.samples_per_prior,
          FLAGS.stage)


def main():
  app.run(_main)


if __name__ == '__main__':
  main()

"""Clustering ACC / NMI / ARI of a trained DRPM-VAE next to k-means.

`drpm-evaluate-generative --model_dir D` prints a table and writes
`D/results/evaluation.json`.
"""

from absl import app
from absl import flags

from drpm_tf import training

FLAGS = flags.FLAGS
flags.DEFINE_string('model_dir', None, 'Run directory.', required=True)
flags.DEFINE_integer('seed', 0, 'k-means seed.')


def _main(argv):
  del argv
  print(training.format_evaluation(
      training.evaluate_generative(FLAGS.model_dir, seed=FLAGS.seed)))


def main():
  app.run(_main)


if __name__ == '__main__':
  main()

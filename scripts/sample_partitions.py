"""Figures of a trained DRPM-VAE like paper Figures 1, 7 and 8.

`drpm-sample-partitions --model_dir D [--num_elements 32] [--output_dir D/figures]`
writes
- `partition.png`: a partition `Y ~ p(Y; omega_p, s_p)` of `num_elements`
  elements sampled from the learned prior DRPM; each element is decoded from
  `z ~ N(mu_k, sigma_k^2)` of its subset `k`; one row per non-empty subset;
- `prior_samples.png`: `samples_per_prior` decoded samples of every prior.
"""

import os

from absl import app
from absl import flags
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np
import tensorflow as tf

from drpm_tf import training

FLAGS = flags.FLAGS
flags.DEFINE_string('model_dir', None, 'Run directory.', required=True)
flags.DEFINE_string('output_dir', None, 'Default: <model_dir>/figures.')
flags.DEFINE_integer('num_elements', 32, 'Elements of the sampled partition.')
flags.DEFINE_integer('samples_per_prior', 10, 'Columns of prior_samples.png.')
flags.DEFINE_integer('seed', 0, 'Sampling seed.')


def _image_grid(ax, images, image_shape, rows, cols):
  canvas = np.zeros((rows * (image_shape[0] + 1), cols * (image_shape[1] + 1)))
  for (r, c), image in images.items():
    top, left = r * (image_shape[0] + 1), c * (image_shape[1] + 1)
    canvas[top:top + image_shape[0], left:left + image_shape[1]] = (
        image.reshape(image_shape))
  ax.imshow(canvas, cmap='gray_r', vmin=0., vmax=1., interpolation='nearest')
  ax.set_xticks([])
  ax.set_yticks([])


def write_figures(model, image_shape, output_dir, num_elements=32,
                  samples_per_prior=10, seed=0):
  """Writes partition.png and prior_samples.png; returns their paths."""
  os.makedirs(output_dir, exist_ok=True)
  partition = model.prior_partition(num_elements).sample(
      seed=tf.constant([seed, 0])).numpy()  # [K, n]
  clusters = partition.argmax(0)
  images = model.sample_prior(clusters, seed=tf.constant([seed, 1])).numpy()
  subsets = [k for k in range(model.num_clusters) if partition[k].any()]
  width = max(int(partition[k].sum()) for k in subsets)
  cells = {}
  for row, k in enumerate(subsets):
    for col, i in enumerate(np.flatnonzero(clusters == k)):
      cells[(row, col)] = images[i]
  fig, ax = plt.subplots(figsize=(max(3., 0.5 * width), 0.5 * len(subsets) + 1))
  _image_grid(ax, cells, image_shape, len(subsets), width)
  ax.set_yticks([(image_shape[0] + 1) * (r + 0.5) for r in range(len(subsets))])
  ax.set_yticklabels([f'subset {k}' for k in subsets])
  ax.set_title(f'Partition of {num_elements} elements from the prior DRPM')
  partition_path = os.path.join(output_dir, 'partition.png')
  fig.savefig(partition_path, dpi=120, bbox_inches='tight')
  plt.close(fig)

  ids = np.repeat(np.arange(model.num_clusters), samples_per_prior)
  samples = model.sample_prior(ids, seed=tf.constant([seed, 2])).numpy()
  cells = {(k, j): samples[k * samples_per_prior + j]
           for k in range(model.num_clusters) for j in range(samples_per_prior)}
  fig, ax = plt.subplots(figsize=(0.5 * samples_per_prior + 1,
                                  0.5 * model.num_clusters + 1))
  _image_grid(ax, cells, image_shape, model.num_clusters, samples_per_prior)
  ax.set_yticks([(image_shape[0] + 1) * (k + 0.5)
                 for k in range(model.num_clusters)])
  ax.set_yticklabels([f'prior {k}' for k in range(model.num_clusters)])
  ax.set_title('Samples of each learned prior')
  prior_path = os.path.join(output_dir, 'prior_samples.png')
  fig.savefig(prior_path, dpi=120, bbox_inches='tight')
  plt.close(fig)
  return partition_path, prior_path


def _main(argv):
  del argv
  model, data = training.load_trained_model(FLAGS.model_dir)
  paths = write_figures(
      model, data.image_shape,
      FLAGS.output_dir or os.path.join(FLAGS.model_dir, 'figures'),
      FLAGS.num_elements, FLAGS.samples_per_prior, FLAGS.seed)
  for path in paths:
    print(f'wrote {path}')


def main():
  app.run(_main)


if __name__ == '__main__':
  main()

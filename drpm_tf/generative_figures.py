"""Figures of a trained DRPM-VAE like paper Figures 1, 7 and 8, and their purity.

`sample_and_report` (`drpm-sample-partitions`) writes

- `partition.png`: a partition `Y ~ p(Y; omega_p, s_p)` of `num_elements`
  elements sampled from the learned prior DRPM; each element is decoded from
  `z ~ N(mu_k, sigma_k^2)` of its subset `k`; one row per non-empty subset;
- `prior_samples.png`: `samples_per_prior` decoded samples of every prior;

and reports, for the drawn partition and pooled over `num_partitions` more,
the fraction of subsets whose decoded members a classifier trained on the
labeled training images assigns to one digit (`drpm_tf.prior_purity`).
"""
import os

import matplotlib
matplotlib.use('Agg')  # Headless: no display on CI machines.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np
import tensorflow as tf

from drpm_tf import errors
from drpm_tf import generative_layout as layout
from drpm_tf import prior_purity
from drpm_tf import run_directory
from drpm_tf import training


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
  clusters, images = prior_purity.sample_partition(model, num_elements, seed)
  subsets = sorted(set(clusters.tolist()))
  width = max(int(np.sum(clusters == k)) for k in subsets)
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


def purity_report(model, classifier, num_elements=32, num_partitions=100,
                  seed=0):
  """Subset purity of the figure's partition and pooled over more of them."""
  clusters, images = prior_purity.sample_partition(model, num_elements, seed)
  drawn = prior_purity.subset_purity(clusters, classifier.predict(images))
  pooled = prior_purity.partition_purity(
      model, classifier, num_elements, num_partitions, seed=seed + 1)
  return dict(drawn_partition=drawn, pooled=pooled)


def sample_and_report(model_dir, output_dir, num_elements, samples_per_prior,
                      seed, num_partitions):
  """`drpm-sample-partitions`: the figures of the run in `model_dir` (to
  `output_dir`, default `<model_dir>/figures`) and its partition purity
  (printed, and written to `<model_dir>/results/partition_purity.json`).

  Returns:
    The purity report (`purity_report`, with the classifier's held-out
    accuracy).

  Raises:
    ConfigError: a count < 1 or a negative seed.
    RunDirectoryError: `output_dir` cannot be written, or `model_dir` holds
      no trained model.
  """
  for flag, value in (('--num_elements', num_elements),
                      ('--samples_per_prior', samples_per_prior),
                      ('--num_partitions', num_partitions)):
    errors.check_count(flag, value)
  errors.check_count('--seed', seed, minimum=0)
  output_dir = output_dir or os.path.join(model_dir, layout.FIGURES)
  run_directory.check_writable(output_dir, flag='--output_dir')
  model, data = training.load_trained_model(model_dir)
  paths = write_figures(model, data.image_shape, output_dir, num_elements,
                        samples_per_prior, seed)
  for path in paths:
    print(f'wrote {path}')
  classifier = prior_purity.train_digit_classifier(data.x_train, data.y_train)
  report = purity_report(model, classifier, num_elements, num_partitions,
                         seed)
  report['classifier_test_accuracy'] = float(classifier.score(data.x_test,
                                                             data.y_test))
  drawn, pooled = report['drawn_partition'], report['pooled']
  print(f"Drawn partition: {drawn['pure']} of {drawn['subsets']} subsets share "
        f"one predicted digit ({drawn['pure_multi']} of {drawn['multi']} "
        'with two or more members).')
  print(f"{pooled['num_partitions']} partitions of {pooled['num_elements']}: "
        f"{pooled['fraction_pure']:.3f} of the subsets share one predicted "
        f"digit ({pooled['fraction_pure_multi']:.3f} of those with two or more "
        'members); classifier held-out accuracy '
        f"{report['classifier_test_accuracy']:.3f}.")
  path = os.path.join(model_dir, layout.PARTITION_PURITY_RESULTS)
  run_directory.write_json(path, report)
  print(f'wrote {path}')
  return report

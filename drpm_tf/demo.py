"""A few DRPM partitions, printed and plotted: what `drpm-demo` shows.

`run_demo` samples partitions of a fixed DRPM, prints each with its exact
log-probability and the Lemma 4 bounds, and draws their assignment matrices.
"""
import os

import numpy as np
import tensorflow as tf

from drpm_tf import errors
from drpm_tf import run_directory
from drpm_tf.distributions import DifferentiableRandomPartition


def _plot(partitions, counts, path):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")  # Headless: no display on CI machines.
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  num, k, n = partitions.shape
  fig, axes = plt.subplots(num, 1, figsize=(0.4 * n + 1.5, 0.45 * k * num + 1.0),
                           squeeze=False)
  for i, ax in enumerate(axes[:, 0]):
    ax.imshow(partitions[i], cmap="Greys", vmin=0, vmax=1, aspect="equal")
    ax.set_yticks(range(k))
    ax.set_yticklabels([f"S{j} ({int(c)})" for j, c in enumerate(counts[i])])
    ax.set_xticks(range(n))
    ax.set_title(f"sample {i}", fontsize=9)
  axes[-1, 0].set_xlabel("element")
  fig.suptitle("DRPM samples: rows = subsets (size), black = assigned")
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def run_demo(output_dir="demo_output", seed=0, num_samples=4):
  """`drpm-demo`: samples `num_samples` partitions of a fixed DRPM (n = 12
  elements, K = 4 subsets), prints them with their log-probability and its
  Lemma 4 bounds, and plots them to `<output_dir>/drpm_partitions.png`.

  Returns:
    The path of the PNG.

  Raises:
    ConfigError: `num_samples` < 1.
    RunDirectoryError: `output_dir` cannot be written.
  """
  errors.check_count("--num_samples", num_samples)
  run_directory.check_writable(output_dir, flag="--output_dir")

  n, k = 12, 4
  log_weights = tf.math.log(tf.constant([1.0, 2.0, 4.0, 8.0]))
  log_scores = tf.constant(np.linspace(-2.0, 2.0, n), tf.float32)
  drpm = DifferentiableRandomPartition(log_weights, log_scores, temperature=0.5)

  comps = drpm.sample_components(sample_shape=(num_samples,),
                                 seed=tf.constant([seed, 0], tf.int32))
  partition = comps.partition
  log_p = drpm.log_prob(partition).numpy()
  lower = drpm.log_prob_lower_bound(partition).numpy()
  upper = drpm.log_prob_upper_bound(partition).numpy()
  y = np.round(partition.numpy()).astype(int)
  counts = np.round(comps.counts.numpy()).astype(int)

  print(f"DRPM: n={n} elements, K={k} subsets, temperature 0.5, seed {seed}")
  print(f"  log_weights = {np.array2string(log_weights.numpy(), precision=3)}")
  print(f"  log_scores  = {np.array2string(log_scores.numpy(), precision=2)}")
  for i in range(num_samples):
    subsets = [np.flatnonzero(y[i, j]).tolist() for j in range(k)]
    print(f"sample {i}: subsets {subsets}")
    print(f"  counts {counts[i].tolist()}  log p(Y) = {log_p[i]:.4f}  "
          f"Lemma 4: {lower[i]:.4f} <= log p(Y) <= {upper[i]:.4f}")

  os.makedirs(output_dir, exist_ok=True)
  path = os.path.join(output_dir, "drpm_partitions.png")
  _plot(y, counts, path)
  print(f"wrote {path}")
  return path

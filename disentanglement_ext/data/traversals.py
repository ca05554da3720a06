"""Factor traversals of a ground-truth dataset as one PNG
(dlib_visualize_dataset-style).

One row per factor: a fixed base sample with only that factor varied over its
values (factors with many values are subsampled evenly to `max_values`).
"""
import os

import numpy as np

from disentanglement_ext import data


def traversal_factors(base, factor_sizes, max_values):
  """Factors of all traversal rows.

  Args:
    base: int `[num_factors]` base sample.
    factor_sizes: number of values of each factor.
    max_values: most values shown per factor.

  Returns:
    List (one entry per factor) of int64 `[num_values_k, num_factors]`.
  """
  rows = []
  for k, size in enumerate(factor_sizes):
    values = np.unique(np.round(
        np.linspace(0, size - 1, min(size, max_values))).astype(np.int64))
    factors = np.tile(np.asarray(base, np.int64), (len(values), 1))
    factors[:, k] = values
    rows.append(factors)
  return rows


def plot_traversals(dataset, path, seed=0, max_values=10):
  """Renders the traversal grid of `dataset` to `path` (PNG)."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")  # Headless: no display on CI machines.
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  random_state = np.random.RandomState(seed)
  base = dataset.sample_factors(1, random_state)[0]
  sizes = dataset.factors_num_values
  names = getattr(dataset, "factor_names",
                  ["factor {}".format(k) for k in range(len(sizes))])
  rows = traversal_factors(base, sizes, max_values)
  num_cols = max(len(r) for r in rows)
  fig, axes = plt.subplots(len(rows), num_cols, squeeze=False,
                           figsize=(1.0 * num_cols + 1.6, 1.05 * len(rows) + 0.6))
  for k, factors in enumerate(rows):
    images = dataset.sample_observations_from_factors(factors, random_state)
    for j in range(num_cols):
      ax = axes[k, j]
      ax.set_xticks([])
      ax.set_yticks([])
      if j < len(factors):
        ax.imshow(np.squeeze(np.clip(images[j], 0., 1.)),
                  interpolation="nearest")
        ax.set_xlabel(str(factors[j, k]), fontsize=7, labelpad=1)
      else:
        ax.axis("off")
    axes[k, 0].set_ylabel("{}\n({} values)".format(names[k], sizes[k]),
                          fontsize=8, rotation=0, ha="right", va="center")
  fig.suptitle("{}: factor traversals from base sample {}".format(
      getattr(dataset, "name", type(dataset).__name__), list(map(int, base))),
               fontsize=9)
  fig.tight_layout()
  directory = os.path.dirname(path)
  if directory:
    os.makedirs(directory, exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)


def write_traversals(dataset_name="synthetic_mpi3d", output=None, seed=1,
                     max_values=10):
  """`drpm-visualize-dataset`: the traversal grid of the dataset called
  `dataset_name` (any `dataset.name` value) to `output` (default
  `docs/<dataset_name>_traversals.png`); returns the path.

  Raises:
    ConfigError: an unknown dataset name (the message lists the valid ones).
  """
  output = output or os.path.join("docs",
                                  "{}_traversals.png".format(dataset_name))
  plot_traversals(data.get_dataset(dataset_name), output, seed=seed,
                  max_values=max_values)
  return output

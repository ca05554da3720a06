"""Does each learned prior generate one digit? Paper Figures 1, 7 and 8 as numbers.

The paper shows that every prior of the trained DRPM-VAE draws one MNIST digit
(Figure 8) and that every subset of a partition sampled from the prior DRPM
stems from a single digit (Figures 1 and 7). Here a classifier trained on the
labeled training images (multinomial logistic regression on the pixels)
labels decoded samples:

- `prior_purity`: `N` samples of each prior; per prior the majority predicted
  digit and its share, their mean over the priors, and how many distinct
  digits the `K` majorities cover.
- `partition_purity`: partitions sampled from the prior DRPM, each element
  decoded from the prior of its subset; the fraction of non-empty subsets whose
  members all get the same predicted digit (a singleton always does, so the
  subsets with at least two members are also counted on their own).

The decoded samples are Bernoulli means, the images the figures show. The
classifier's held-out accuracy on real images is reported with the scores: it
bounds how far a share can be trusted.
"""

import numpy as np
import tensorflow as tf
from sklearn import linear_model

__all__ = ['train_digit_classifier', 'prior_purity', 'sample_partition',
           'subset_purity', 'partition_purity']


def train_digit_classifier(x, y, max_examples=20_000, seed=0):
  """Multinomial logistic regression on (at most `max_examples`) labeled images."""
  x = np.asarray(x)
  y = np.asarray(y)
  if len(x) > max_examples:
    rows = np.random.default_rng(seed).choice(len(x), max_examples,
                                              replace=False)
    x, y = x[rows], y[rows]
  return linear_model.LogisticRegression(max_iter=1000).fit(x, y)


def prior_purity(model, classifier, samples_per_prior=100, seed=0):
  """Majority predicted digit of each prior's decoded samples and its share.

  Args:
    model: a `DRPMVAE` (anything with `num_clusters` and
      `sample_prior(cluster_ids, seed)`).
    classifier: fitted, with `predict([num, input_dim]) -> [num]` labels.
    samples_per_prior: `N`.
    seed: sampling seed.

  Returns:
    Dict with `majority_digit` and `share` (lists over the `K` priors),
    `mean_share`, `min_share`, `distinct_digits` (distinct majorities) and
    `samples_per_prior`.
  """
  if samples_per_prior < 1:
    raise ValueError(f'Argument `samples_per_prior` must be >= 1, got '
                     f'{samples_per_prior}.')
  k = model.num_clusters
  ids = np.repeat(np.arange(k), samples_per_prior)
  images = np.asarray(model.sample_prior(ids, seed=tf.constant([seed, 3])))
  predicted = np.asarray(classifier.predict(images)).reshape(
      k, samples_per_prior)
  majority, share = [], []
  for row in predicted:
    labels, counts = np.unique(row, return_counts=True)
    majority.append(int(labels[counts.argmax()]))
    share.append(float(counts.max() / samples_per_prior))
  return dict(majority_digit=majority, share=share,
              mean_share=float(np.mean(share)), min_share=float(np.min(share)),
              distinct_digits=len(set(majority)),
              samples_per_prior=int(samples_per_prior))


def sample_partition(model, num_elements, seed=0):
  """A partition from the prior DRPM and its decoded elements.

  Returns `(subset, images)`: the subset `[num_elements]` of every element and
  its image `[num_elements, input_dim]`, decoded from `z ~ N(mu_k,
  sigma_k^2)` of its subset `k`.
  """
  partition = model.prior_partition(num_elements).sample(
      seed=tf.constant([seed, 0])).numpy()  # [K, n]
  subset = partition.argmax(0)
  images = model.sample_prior(subset, seed=tf.constant([seed, 1])).numpy()
  return subset, images


def subset_purity(subset, predicted):
  """Counts of the non-empty subsets and of those whose members agree.

  Args:
    subset: `[n]` subset of every element.
    predicted: `[n]` predicted label of every element.

  Returns:
    Dict: `subsets`, `pure` (all members share one label), `multi` (subsets
    with >= 2 members) and `pure_multi` (those of them that are pure).
  """
  subset = np.asarray(subset)
  predicted = np.asarray(predicted)
  counts = dict(subsets=0, pure=0, multi=0, pure_multi=0)
  for k in np.unique(subset):
    labels = predicted[subset == k]
    pure = int(np.all(labels == labels[0]))
    counts['subsets'] += 1
    counts['pure'] += pure
    if len(labels) > 1:
      counts['multi'] += 1
      counts['pure_multi'] += pure
  return counts


def partition_purity(model, classifier, num_elements=32, num_partitions=100,
                     seed=0):
  """Subset purity pooled over `num_partitions` partitions of the prior DRPM.

  Returns a dict with the pooled `subset_purity` counts, `fraction_pure`
  (pure / non-empty subsets), `fraction_pure_multi` (the same over subsets
  with >= 2 members; NaN if there are none), `num_partitions` and
  `num_elements`.
  """
  totals = dict(subsets=0, pure=0, multi=0, pure_multi=0)
  for i in range(num_partitions):
    subset, images = sample_partition(model, num_elements, seed=seed + i)
    counts = subset_purity(subset, classifier.predict(images))
    for key, value in counts.items():
      totals[key] += value
  return dict(totals, num_partitions=int(num_partitions),
              num_elements=int(num_elements),
              fraction_pure=totals['pure'] / totals['subsets'],
              fraction_pure_multi=(totals['pure_multi'] / totals['multi']
                                   if totals['multi'] else float('nan')))

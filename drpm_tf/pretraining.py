"""Initializing the generative DRPM-VAE from a pretrained autoencoder.

VaDE's recipe (Jiang et al., 2017), which the authors' DRPM clustering code
follows: train the encoder and decoder as a deterministic autoencoder
(reconstruction only, `DRPMVAE.autoencoder_loss`), fit a diagonal Gaussian
mixture with `K` components to the encoder means of the training images, and
start the DRPM-VAE with its `K` Gaussian priors on the mixture's components and
its prior subset weights `omega_p` on the mixture weights.

The DRPM-VAE infers its partition from two learned heads on the encoder
features `h` (paper C.3.3): `omega(X)` from `softmax(W_w h)` and the scores
from `log s(x) = lambda sum_k k softmax(W_s h)_k`. Left random, they assign
elements to subsets unrelated to the priors, so the first training steps pull
every prior towards the images of other clusters. `initialize_partition_heads`
sets both heads from the mixture instead. With the component variances
replaced by their weighted mean `v` (a tied diagonal covariance), the mixture's
log-posterior of component `k` is linear in the encoder mean `mu(x) = W_mu h +
b_mu`, hence in `h`:

```none
log p(k | x) = mu(x)^T (mu_k / v) - |mu_k|_v^2 / 2 + log pi_k + const(x),
```

so `softmax(W_w h)` is that posterior exactly (no fitting) and `omega(X)`
estimates the batch's cluster proportions. Since the DRPM fills subset 1 with
the highest-scored elements, subset 2 with the next ones, and so on, the score
head is the same map with its outputs reversed: a cluster-`k` element puts its
mass on position `K + 1 - k`, and `lambda` is set large enough that elements
of different clusters are ordered by cluster.

`fit_prior_mixture` can also refit the mixture during training, warm-started
from the current priors so that component `k` stays prior `k` (a fresh
k-means++ fit would permute the components against the score scale and
`omega_p` learned so far); training then resets the heads to the refitted
mixture's posterior.
"""

import gin
import numpy as np
import tensorflow as tf
from sklearn import mixture as sk_mixture

__all__ = ['encode_dataset', 'fit_prior_mixture', 'initialize_priors',
           'initialize_posterior_variance', 'current_priors',
           'initialize_partition_heads']


def encode_dataset(model, x, batch_size=1024):
  """Encoder means `[num, latent_dim]` of the rows of `x`."""
  return np.concatenate([model.encode(x[i:i + batch_size])[0].numpy()
                         for i in range(0, len(x), batch_size)])


@gin.configurable('fit_prior_mixture',
                  denylist=['means', 'num_clusters', 'seed', 'warm_start'])
def fit_prior_mixture(means, num_clusters, seed=0, warm_start=None,
                      num_restarts=10, reg_covar=1e-4, max_iter=100):
  """Fits a diagonal Gaussian mixture to encoder means.

  Args:
    means: `[num, d]` encoder means.
    num_clusters: `K`.
    seed: seed of the k-means++ initializations.
    warm_start: `None` (k-means++ initializations, `num_restarts` of them, the
      best by likelihood kept) or `(means, variances, weights)` of the current
      priors, `[K, d]`, `[K, d]`, `[K]` (one EM run from there).
    num_restarts: k-means++ restarts without `warm_start`.
    reg_covar: added to every variance (scikit-learn's regularization).
    max_iter: EM iterations per restart.

  Returns:
    The fitted `sklearn.mixture.GaussianMixture`.
  """
  means = np.asarray(means, np.float64)
  if means.ndim != 2 or len(means) < num_clusters:
    raise ValueError(f'Argument `means` must be [num >= {num_clusters}, d], '
                     f'got shape {means.shape}.')
  if not np.all(np.isfinite(means)):
    raise ValueError('Argument `means` must be finite.')
  kwargs = dict(n_components=num_clusters, covariance_type='diag',
                reg_covar=reg_covar, max_iter=max_iter, random_state=seed)
  if warm_start is None:
    mixture = sk_mixture.GaussianMixture(init_params='k-means++',
                                         n_init=num_restarts, **kwargs)
  else:
    prior_means, variances, weights = (np.asarray(v, np.float64)
                                       for v in warm_start)
    mixture = sk_mixture.GaussianMixture(
        means_init=prior_means, precisions_init=1. / variances,
        weights_init=weights / weights.sum(), **kwargs)
  return mixture.fit(means)


def initialize_priors(model, mixture):
  """Puts the model's priors and `omega_p` on a fitted `GaussianMixture`."""
  model.set_priors(mixture.means_, mixture.covariances_, mixture.weights_)


def initialize_posterior_variance(model, variances, fraction=0.1):
  """Starts `q(z | x)` with variance `fraction * min_k variances[k]` per dim.

  The `z_log_var` head is not pretrained. Left random, its variances can
  exceed those of the tight mixture components many times, and then
  `KL(q(z | x) || N(mu_k, sigma_k^2))` is smallest for the broadest prior
  whatever the mean: the partition heads learn to put every element there.
  With `s^2 << sigma_k^2` for all `k` the KL is dominated by
  `(mu(x) - mu_k)^2 / sigma_k^2 + log sigma_k^2`, i.e. it ranks the priors like
  their densities at `mu(x)`, the evaluation's assignment rule.
  """
  variances = np.asarray(variances, np.float64)
  model.z_log_var.kernel.assign(tf.zeros_like(model.z_log_var.kernel))
  model.z_log_var.bias.assign(
      np.log(fraction * variances.min(axis=0)).astype(np.float32))


def current_priors(model):
  """`(means, variances, weights)` of the model's priors, for `warm_start`."""
  weights = np.exp(model.prior_log_weights.numpy().astype(np.float64))
  return (model.prior_means.numpy(), np.exp(model.prior_log_vars.numpy()),
          weights / weights.sum())


def initialize_partition_heads(model, mixture, score_scale=10.):
  """Sets the `omega` and score heads from a fitted mixture (module doc).

  Args:
    model: a `DRPMVAE` whose encoder means the mixture was fit to.
    mixture: fitted diagonal `GaussianMixture` with `K` components.
    score_scale: the score scale `lambda`: adjacent clusters' log-scores are
      `lambda` apart, so a Plackett-Luce order puts an element of cluster `k`
      after one of cluster `k + 1` with probability `1 / (1 + e^lambda)`.
  """
  means = np.asarray(mixture.means_, np.float64)
  weights = np.asarray(mixture.weights_, np.float64)
  tied = weights @ np.asarray(mixture.covariances_, np.float64)  # [d]
  precision_means = means / tied  # [K, d]
  kernel = model.z_mean.kernel.numpy().astype(np.float64) @ precision_means.T
  bias = (model.z_mean.bias.numpy().astype(np.float64) @ precision_means.T -
          0.5 * np.sum(means * precision_means, axis=1) + np.log(weights))
  kernel, bias = kernel.astype(np.float32), bias.astype(np.float32)
  model.omega_head.kernel.assign(kernel)
  model.omega_head.bias.assign(bias)
  model.score_head.kernel.assign(kernel[:, ::-1].copy())
  model.score_head.bias.assign(bias[::-1].copy())
  model.score_scale.assign(float(score_scale))

"""View aggregation for the weakly-supervised group VAEs (paper eq. 49-50).

Both views `x_1, x_2` of a pair are encoded independently into diagonal
Gaussians `q(z | x_j) = N(mean_j, exp(log_var_j))`, `[B, d]`. An aggregator
picks, per pair, the set `S` of SHARED latent dimensions and replaces both
views' posteriors on `S` by their average (eq. 49); the other dimensions keep
each view's own posterior (eq. 50). The methods differ only in how `S` is
chosen:

- `label`    (LabelVAE, paper C.1.1 and dlib's `aggregate_labels`): the pair
  comes with the index `j` of ONE changed factor (the weak label, see
  `disentanglement_ext.data.weak_pairs`); latent dim `j` is independent and
  every other dim is shared (latent dim `i` <-> factor `i`, so it needs
  `num_latent >= num_factors`). This is dlib's rule: its labels are the one-hot
  of a single resampled factor. `label_aggregation.mode = 'oracle_num_changed'`
  is a stronger, NON-paper oracle kept for ablations: it is given the true
  NUMBER `k` of changed factors and treats the `k` dims with the largest
  per-dim KL as independent.
- `adaptive` (AdaVAE, dlib's `aggregate_argmax`): per pair, the per-dim KLs are
  split in two bins of equal width, `[min, (min+max)/2)` -> shared and
  `[(min+max)/2, max]` -> independent (`tf.histogram_fixed_width_bins(kl,
  [min, max], nbins=2) == 0`). If all KLs are equal, every dim is shared.
- `hg` (HGVAE): the number of shared dims `n_s` is a relaxed Fisher noncentral
  MVHG sample, `counts ~ RelaxedNoncentralMultivariateHypergeometric(tau,
  total_count=d, num_balls=[d, d], log_weights=Dense_2(KL))` (class 0 = shared),
  and the `n_s` dims with the SMALLEST KL are shared. The mask is
  `clip(n_s - rank_i, 0, 1)` with `rank_i` the ascending-KL rank of dim `i`:
  exactly 0/1 in the forward pass (hard counts) and straight-through w.r.t. the
  relaxed counts (so the Dense layer gets gradients). No extra loss term (as in
  Sutter et al.'s HGVAE, which has no KL on the MVHG).
- `drpm` (DRPMVAE, paper C.1.4): `Y ~ DRPM(log_omega = Dense_2(f(KL)),
  log_scores = g(KL), tau)` with K = 2 subsets over the d dims, mask = the
  shared row of `Y` (hard, straight-through). Plackett-Luce puts the element
  with the LARGEST score first and subset 0 takes the first ranks. The paper
  says "the scores are the KL values"; `drpm_aggregation.log_scores` chooses
  how they enter the log-scores:

    'log_kl'       log s = log(KL + 1e-6): s = KL literally; the high-KL dims
                   come first (subset 0 = independent, subset 1 = shared).
    'log_kl_stop_gradient'  the same values, but no gradient flows from the
                   scores into the encoder (d log s / d KL = 1 / KL grows
                   without bound exactly as shared dims become invariant).
    'kl'           log s = KL: the KL on the log-score scale, so the Gumbel
                   noise of Plackett-Luce (std ~1.3) competes with KL
                   differences in nats rather than with their ratios;
                   high-KL dims first (subset 1 = shared).
    'neg_kl'       log s = -KL: the low-KL dims come first (subset 0 = shared).

  and `drpm_aggregation.omega_input` what the omega head reads: 'kl' (the raw
  per-dim KLs, paper C.1.4), 'log_kl' (log(KL + 1e-6)) or 'standardized_kl'
  (the KLs standardized per pair: zero mean, unit standard deviation).
  Extra loss (eq. 47-48), weighted by `gamma` (default 0.25), averaged over
  the batch, with `kl_estimator`:

    'bound' (the paper's, default):
      partition_kl = log|Pi_Y| + log q(n; omega(X)) - log p(n; omega_p)
                     + log max_{pi in Pi_Y} q(pi; s(X))
                     - log max_{pi in Pi_Y} p(pi; s_p)
                   = q.log_prob_upper_bound(Y) - p.log_prob_lower_bound(Y)
    'exact':
      partition_kl = log q(Y) - log p(Y)   (the DRPM's exact likelihoods)

  where `p = DRPM(omega_p, s_p = 0)` is the prior: learnable `log omega_p`
  (initialized at 0) and uniform prior scores (so `max_pi p(pi; s_p) = 1/d!`,
  a constant). The max is over `Pi_Y` (eq. 47), which is tighter than the
  global max and still a valid bound, so 'bound' upper-bounds the single-
  sample estimate 'exact' of `KL(q(Y) || p(Y))`.

`hg` and `drpm` anneal their temperature with
`ExponentialAnnealing(1.0, 0.5, num_steps)` (paper: 1 -> 0.5 over training).

Deterministic shared sets (`deterministic=True`, used for evaluation): `hg`
shares the dims with the smallest KL, as many as the MVHG's most likely count
(its mode); `drpm` takes the mode of the subset sizes and the noise-free
Plackett-Luce order (the scores sorted, no Gumbel perturbation). `label` and
`adaptive` are deterministic anyway. So a pair's shared set at evaluation does
not depend on any seed.

Averaging (`averaging`, all aggregators): 'gvae' (default, dlib's GroupVAE and
AdaVAE's default: mean = (m1 + m2) / 2, var = (v1 + v2) / 2) or 'mlvae'
(product of the two Gaussians: precision-weighted, as dlib's MLVae).

The per-dim "KL" is dlib's `compute_kl` scaled to a true KL:
`KL(q(z_i|x_1) || q(z_i|x_2))` (not symmetrized), `[B, d]`.

Every aggregator returns an `Aggregation` with the aggregated posteriors of
both views, the averaged posterior, the float32 `[B, d]` shared mask it used
(exactly 0/1, straight-through where it is sampled) and a dict of extra loss
terms (already weighted; summed into the loss by the model) and diagnostics.
"""
import collections

import gin
import tensorflow as tf

from drpm_tf import errors
from drpm_tf import gaussian
from drpm_tf.distributions import DifferentiableRandomPartition
from drpm_tf.distributions import NoncentralMultivariateHypergeometric
from drpm_tf.distributions import RelaxedNoncentralMultivariateHypergeometric
from drpm_tf.schedules import ExponentialAnnealing

AGGREGATIONS = ("label", "adaptive", "hg", "drpm")
AVERAGINGS = ("gvae", "mlvae")
OMEGA_INPUTS = ("kl", "log_kl", "standardized_kl")
_LOG_EPS = 1e-6

Aggregation = collections.namedtuple(
    "Aggregation",
    ["mean1", "log_var1", "mean2", "log_var2", "mean", "log_var", "mask",
     "losses", "metrics"])
Aggregation.__doc__ = """Output of an aggregator.

mean1, log_var1, mean2, log_var2: aggregated posteriors `[B, d]` (eq. 49-50).
mean, log_var: the averaged posterior `[B, d]` (eq. 49) on every dim; it is
  the posterior of the shared latent z_s on the shared dims.
mask: float32 `[B, d]`, 1 on the dims treated as shared (exactly 0/1).
losses: dict name -> scalar, extra loss terms, already weighted (added to the
  model's loss as they are).
metrics: dict name -> scalar, diagnostics (not part of the loss).
"""


def average_posteriors(mean1, log_var1, mean2, log_var2, averaging="gvae"):
  """The averaged posterior of eq. 49: returns (mean, log_var)."""
  if averaging == "gvae":
    mean = 0.5 * (mean1 + mean2)
    log_var = tf.math.log(0.5 * tf.exp(log_var1) + 0.5 * tf.exp(log_var2))
  elif averaging == "mlvae":
    precision1, precision2 = tf.exp(-log_var1), tf.exp(-log_var2)
    log_var = -tf.math.log(precision1 + precision2)
    mean = (mean1 * precision1 + mean2 * precision2) * tf.exp(log_var)
  else:
    raise errors.ConfigError("Unknown averaging {!r}; valid: {}.".format(
        averaging, ", ".join(AVERAGINGS)))
  return mean, log_var


def ascending_ranks(values):
  """Rank of every entry along the last axis (0 = smallest), as float."""
  order = tf.argsort(values, axis=-1, stable=True)
  ranks = tf.argsort(order, axis=-1, stable=True)
  return tf.cast(ranks, values.dtype)


def count_mask(num_shared, kl):
  """Mask of the `num_shared` [B] dims with smallest KL, ST w.r.t. num_shared."""
  ranks = ascending_ranks(tf.stop_gradient(kl))
  return tf.clip_by_value(num_shared[:, None] - ranks, 0., 1.)


def two_class_mvhg_mode(log_weights, num_elements):
  """Most likely counts of the MVHG with K = 2 and `num_balls = [n, n]`.

  The support has only `n + 1` points, so the mode is found by evaluating the
  exact log-pmf on all of them (ties: the smaller first count).

  Args:
    log_weights: `[B, 2]` log class importances.
    num_elements: the total count `n` (also the balls per class).

  Returns:
    float `[B, 2]` counts (integer-valued, summing to `n`).
  """
  n = int(num_elements)
  first = tf.range(n + 1, dtype=log_weights.dtype)
  support = tf.stack([first, float(n) - first], axis=-1)  # [n + 1, 2]
  mvhg = NoncentralMultivariateHypergeometric(
      total_count=float(n), num_balls=[float(n), float(n)],
      log_weights=log_weights)
  log_probs = mvhg.log_prob(support[:, None, :])  # [n + 1, B]
  return tf.gather(support, tf.argmax(log_probs, axis=0))


class Aggregator(tf.keras.layers.Layer):
  """Base class: `call(mean1, log_var1, mean2, log_var2, ...) -> Aggregation`."""

  def __init__(self, averaging="gvae", **kwargs):
    super().__init__(**kwargs)
    if averaging not in AVERAGINGS:
      raise errors.ConfigError("Unknown averaging {!r}; valid: {}.".format(
          averaging, ", ".join(AVERAGINGS)))
    self.averaging = averaging

  def shared_mask(self, kl, step, seed, deterministic, shared_factors=None,
                  known_factor=None):
    """Returns (mask [B, d], losses dict, metrics dict)."""
    raise NotImplementedError

  def call(self, mean1, log_var1, mean2, log_var2, step=0,
           shared_factors=None, known_factor=None, seed=None,
           deterministic=False):
    """Aggregates the two views.

    Args:
      mean1, log_var1, mean2, log_var2: `[B, d]` posteriors of both views.
      step: training step (temperature annealing).
      shared_factors: bool `[B, num_factors]`, True where the pair shares the
        factor (only `label` in its oracle mode uses it).
      known_factor: int `[B]`, the index of one changed factor per pair, -1 if
        none (`label` only; see `disentanglement_ext.data.weak_pairs`).
      seed: stateless seed `[2]` int32 (only `hg` and `drpm` sample).
      deterministic: use each method's deterministic shared set (module doc)
        instead of a sample.

    Returns:
      `Aggregation`.
    """
    kl = gaussian.kl_per_dim(mean1, log_var1, mean2, log_var2)
    mask, losses, metrics = self.shared_mask(
        kl, step, seed, deterministic, shared_factors=shared_factors,
        known_factor=known_factor)
    mean, log_var = average_posteriors(mean1, log_var1, mean2, log_var2,
                                       self.averaging)
    keep = 1. - mask
    metrics = dict(metrics)
    metrics["num_shared_dims"] = tf.reduce_mean(tf.reduce_sum(mask, -1))
    return Aggregation(
        mean1=mask * mean + keep * mean1, log_var1=mask * log_var + keep *
        log_var1, mean2=mask * mean + keep * mean2,
        log_var2=mask * log_var + keep * log_var2, mean=mean, log_var=log_var,
        mask=mask, losses=losses, metrics=metrics)


@gin.configurable("label_aggregation", denylist=["num_latent", "num_steps"])
class LabelAggregator(Aggregator):
  """LabelVAE: one known changed factor per pair (see module doc)."""

  MODES = ("single_factor", "oracle_num_changed")

  def __init__(self, num_latent=10, num_steps=1, averaging="gvae",
               mode="single_factor", **kwargs):
    del num_steps
    super().__init__(averaging=averaging, **kwargs)
    if mode not in self.MODES:
      raise errors.ConfigError("Unknown label_aggregation.mode {!r}; valid: {}.".format(
          mode, ", ".join(self.MODES)))
    self.mode = mode
    self.num_latent = num_latent

  def shared_mask(self, kl, step, seed, deterministic, shared_factors=None,
                  known_factor=None):
    if self.mode == "single_factor":
      if known_factor is None:
        raise errors.ConfigError("The 'label' aggregation needs each pair's known "
                         "changed factor (`known_factor`).")
      # one_hot(-1) is all zeros: no changed factor, every dim shared.
      independent = tf.one_hot(tf.cast(known_factor, tf.int32),
                               kl.shape[-1], dtype=kl.dtype)
      return 1. - independent, {}, {}
    if shared_factors is None:
      raise errors.ConfigError("label_aggregation.mode = 'oracle_num_changed' needs "
                       "the pairs' shared-factor mask (`shared_factors`).")
    shared_factors = tf.cast(shared_factors, kl.dtype)
    num_changed = (float(shared_factors.shape[-1]) -
                   tf.reduce_sum(shared_factors, -1))
    num_shared = tf.maximum(float(kl.shape[-1]) - num_changed, 0.)
    return tf.stop_gradient(count_mask(num_shared, kl)), {}, {}


@gin.configurable("adaptive_aggregation", denylist=["num_latent", "num_steps"])
class AdaptiveAggregator(Aggregator):
  """AdaVAE: threshold the per-pair KLs at (min + max) / 2 (see module doc)."""

  def __init__(self, num_latent=10, num_steps=1, averaging="gvae", **kwargs):
    del num_latent, num_steps
    super().__init__(averaging=averaging, **kwargs)

  def shared_mask(self, kl, step, seed, deterministic, shared_factors=None,
                  known_factor=None):
    kl = tf.stop_gradient(kl)
    low = tf.reduce_min(kl, -1, keepdims=True)
    high = tf.reduce_max(kl, -1, keepdims=True)
    threshold = 0.5 * (low + high)
    mask = tf.cast((kl < threshold) | (high <= low), kl.dtype)
    return mask, {}, {}


class _AnnealedAggregator(Aggregator):
  """Shared parts of `hg` and `drpm`: Dense(2) on the KLs, annealed tau."""

  def __init__(self, num_latent=10, num_steps=1, averaging="gvae",
               initial_temperature=1.0, final_temperature=0.5,
               omega_input="kl", **kwargs):
    super().__init__(averaging=averaging, **kwargs)
    if omega_input not in OMEGA_INPUTS:
      raise errors.ConfigError("Unknown omega_input {!r}; valid: {}.".format(
          omega_input, ", ".join(OMEGA_INPUTS)))
    self.num_latent = int(num_latent)
    self.omega_input = omega_input
    self.temperature_schedule = ExponentialAnnealing(
        initial_temperature, final_temperature, max(int(num_steps), 1))
    self.omega_layer = tf.keras.layers.Dense(2, name="log_omega")
    self.omega_layer.build((None, self.num_latent))

  def temperature(self, step):
    return self.temperature_schedule(step)

  def log_omega(self, kl):
    """`[B, 2]` MVHG log-weights from the per-dim KLs `[B, d]`."""
    if self.omega_input == "log_kl":
      features = tf.math.log(kl + _LOG_EPS)
    elif self.omega_input == "standardized_kl":
      mean, variance = tf.nn.moments(kl, axes=[-1], keepdims=True)
      features = (kl - mean) * tf.math.rsqrt(variance + _LOG_EPS)
    else:
      features = kl
    return self.omega_layer(features)

  def mode_counts(self, kl):
    """The MVHG's most likely counts `[B, 2]` (no gradient)."""
    return tf.stop_gradient(two_class_mvhg_mode(self.log_omega(kl),
                                                self.num_latent))


@gin.configurable("hg_aggregation", denylist=["num_latent", "num_steps"])
class HypergeometricAggregator(_AnnealedAggregator):
  """HGVAE: relaxed MVHG over the number of shared dims (see module doc)."""

  def shared_mask(self, kl, step, seed, deterministic, shared_factors=None,
                  known_factor=None):
    mode_mask = count_mask(self.mode_counts(kl)[:, 0], kl)
    metrics = {"num_shared_dims_mode":
                   tf.reduce_mean(tf.reduce_sum(mode_mask, -1))}
    if deterministic:
      return mode_mask, {}, metrics
    if seed is None:
      seed = tf.constant([0, 0], tf.int32)
    d = float(kl.shape[-1])
    tau = self.temperature(step)
    counts = RelaxedNoncentralMultivariateHypergeometric(
        temperature=tau, total_count=d, num_balls=[d, d],
        log_weights=self.log_omega(kl), hard=True).sample(seed=seed)  # [B, 2]
    metrics["temperature"] = tau
    return count_mask(counts[:, 0], kl), {}, metrics


@gin.configurable("drpm_aggregation",
                  denylist=["num_latent", "num_steps", "gamma"])
class DRPMAggregator(_AnnealedAggregator):
  """DRPMVAE: DRPM with K = 2 over the latent dims (see module doc)."""

  LOG_SCORES = ("log_kl", "log_kl_stop_gradient", "kl", "neg_kl")
  KL_ESTIMATORS = ("bound", "exact")

  def __init__(self, num_latent=10, num_steps=1, averaging="gvae",
               gamma=0.25, log_scores="log_kl", omega_input="kl",
               kl_estimator="bound", initial_temperature=1.0,
               final_temperature=0.5, **kwargs):
    super().__init__(num_latent=num_latent, num_steps=num_steps,
                     averaging=averaging,
                     initial_temperature=initial_temperature,
                     final_temperature=final_temperature,
                     omega_input=omega_input, **kwargs)
    if log_scores not in self.LOG_SCORES:
      raise errors.ConfigError(
          "Unknown drpm_aggregation.log_scores {!r}; valid: {}.".format(
              log_scores, ", ".join(self.LOG_SCORES)))
    if kl_estimator not in self.KL_ESTIMATORS:
      raise errors.ConfigError(
          "Unknown drpm_aggregation.kl_estimator {!r}; valid: {}.".format(
              kl_estimator, ", ".join(self.KL_ESTIMATORS)))
    self.log_scores_kind = log_scores
    self.kl_estimator = kl_estimator
    # Which row of Y holds the shared dims: the low-KL end of the order.
    self.shared_subset = 0 if log_scores == "neg_kl" else 1
    self.gamma = float(gamma)
    self.prior_log_weights = self.add_weight(
        name="prior_log_omega", shape=(2,), initializer="zeros",
        trainable=True)

  def log_scores(self, kl):
    if self.log_scores_kind == "log_kl":
      return tf.math.log(kl + _LOG_EPS)
    if self.log_scores_kind == "log_kl_stop_gradient":
      return tf.math.log(tf.stop_gradient(kl) + _LOG_EPS)
    if self.log_scores_kind == "kl":
      return kl
    return -kl

  def posterior(self, kl, step):
    return DifferentiableRandomPartition(
        self.log_omega(kl), self.log_scores(kl), self.temperature(step),
        hard=True)

  def prior(self, step):
    return DifferentiableRandomPartition(
        self.prior_log_weights, tf.zeros([self.num_latent]),
        self.temperature(step), hard=True)

  def mode_partition(self, kl):
    """The noise-free partition `[B, 2, d]`: mode counts, sorted scores.

    Subset 0 takes the `n_0` dims with the largest log-scores (Plackett-Luce
    with no Gumbel perturbation), subset 1 the rest.
    """
    counts = self.mode_counts(kl)
    descending_ranks = ascending_ranks(-tf.stop_gradient(self.log_scores(kl)))
    first = tf.cast(descending_ranks < counts[:, :1], kl.dtype)
    return tf.stack([first, 1. - first], axis=1)

  def shared_mask(self, kl, step, seed, deterministic, shared_factors=None,
                  known_factor=None):
    mode_mask = self.mode_partition(kl)[:, self.shared_subset, :]
    metrics = {"num_shared_dims_mode":
                   tf.reduce_mean(tf.reduce_sum(mode_mask, -1))}
    if deterministic:
      return mode_mask, {}, metrics
    if seed is None:
      seed = tf.constant([0, 0], tf.int32)
    posterior = self.posterior(kl, step)
    partition = posterior.sample_components(seed=seed).partition  # [B, 2, d]
    prior = self.prior(step)
    if self.kl_estimator == "exact":
      log_ratio = posterior.log_prob(partition) - prior.log_prob(partition)
    else:
      # Lemma-4 bound terms of eq. 47-48 (see module doc).
      log_ratio = (posterior.log_prob_upper_bound(partition) -
                   prior.log_prob_lower_bound(partition))
    partition_kl = tf.reduce_mean(log_ratio)
    losses = {"partition_kl": self.gamma * partition_kl}
    metrics.update(partition_kl=partition_kl,
                   temperature=self.temperature(step))
    return partition[:, self.shared_subset, :], losses, metrics


_CLASSES = {
    "label": LabelAggregator,
    "adaptive": AdaptiveAggregator,
    "hg": HypergeometricAggregator,
    "drpm": DRPMAggregator,
}


def make_aggregator(name, num_latent, num_steps, gamma=0.25):
  """Builds the aggregator called `name` (its other args come from gin).

  Raises:
    ValueError: unknown name (lists the valid ones).
  """
  if name not in _CLASSES:
    raise errors.ConfigError(
        "Unknown aggregation {!r} (gin `weak_vae.aggregation`). Valid names: "
        "{}.".format(name, ", ".join(AGGREGATIONS)))
  kwargs = dict(num_latent=num_latent, num_steps=num_steps,
                name="aggregation_" + name)
  if name == "drpm":
    kwargs["gamma"] = gamma
  return _CLASSES[name](**kwargs)

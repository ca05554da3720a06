"""View aggregation for the weakly-supervised group VAEs (paper eq. 49-50).

Both views `x_1, x_2` of a pair are encoded independently into diagonal
Gaussians `q(z | x_j) = N(mean_j, exp(log_var_j))`, `[B, d]`. An aggregator
picks, per pair, the set `S` of SHARED latent dimensions and replaces both
views' posteriors on `S` by their average (eq. 49); the other dimensions keep
each view's own posterior (eq. 50). The methods differ only in how `S` is
chosen:

- `label`    (LabelVAE): knows the ground-truth number `k` of CHANGED factors
  of each pair and treats the `k` dims with the largest per-dim KL as
  independent, the rest as shared (the "known k" variant of Locatello et al.
  2020, which is how the paper's C.1.1 describes LabelVAE). Option
  `label_aggregation.mode = 'factor_index'` instead reproduces dlib's
  `aggregate_labels` literally: latent dim `i` <-> factor `i`, dim `i` is
  independent iff factor `i` changed (dims >= num_factors are always shared).
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
- `drpm` (DRPMVAE, paper C.1.4): `Y ~ DRPM(log_omega = Dense_2(KL),
  log_scores, tau)` with K = 2 subsets over the d dims, mask = the shared row
  of `Y` (hard, straight-through). Plackett-Luce puts the element with the
  LARGEST score first and subset 0 takes the first ranks. By default
  (`drpm_aggregation.scores = 'kl'`) the scores are the KL values as in the
  paper, `log s = log(KL + 1e-6)`: the high-KL dims (where the views differ)
  fill subset 0 = independent and subset 1 = shared. The alternatives order
  the other way round and use subset 0 = shared: 'neg_kl' (`log s = -KL`) and
  'neg_log_kl' (`log s = -log(KL + 1e-6)`, the mirror image of 'kl').
  Extra loss (eq. 48),
  with `gamma` (default 0.25):

      partition_kl = log|Pi_Y| + log q(n; omega(X)) - log p(n; omega_p)
                     + log max_{pi in Pi_Y} q(pi; s(X))
                     - log max_{pi in Pi_Y} p(pi; s_p)
                   = q.log_prob_upper_bound(Y) - p.log_prob_lower_bound(Y)

  averaged over the batch, where `p = DRPM(omega_p, s_p = 0)` is the prior:
  learnable `log omega_p` (initialized at 0) and uniform prior scores (so
  `max_pi p(pi; s_p) = 1/d!`, a constant). The max is over `Pi_Y` (eq. 47, and
  DESIGN.md's Lemma-4 bounds), which is tighter than the global max and still a
  valid bound: the term upper-bounds `log q(Y) - log p(Y)`, so the loss stays
  the negative of a lower bound of the ELBO.

`hg` and `drpm` anneal their temperature with
`ExponentialAnnealing(1.0, 0.5, num_steps)` (paper: 1 -> 0.5 over training).

Averaging (`averaging`, all aggregators): 'gvae' (default, dlib's GroupVAE and
AdaVAE's default: mean = (m1 + m2) / 2, var = (v1 + v2) / 2) or 'mlvae'
(product of the two Gaussians: precision-weighted, as dlib's MLVae).

The per-dim "KL" is dlib's `compute_kl` scaled to a true KL:
`KL(q(z_i|x_1) || q(z_i|x_2))` (not symmetrized), `[B, d]`.

Every aggregator returns an `Aggregation` with the aggregated posteriors of
both views, the float32 `[B, d]` shared mask it used (exactly 0/1) and a dict of
extra loss terms (already weighted; summed into the loss by the model) and
diagnostics.
"""
import collections

import gin
import numpy as np
import tensorflow as tf

from drpm_tf.distributions import DifferentiableRandomPartition
from drpm_tf.distributions import RelaxedNoncentralMultivariateHypergeometric
from drpm_tf.schedules import ExponentialAnnealing

AGGREGATIONS = ("label", "adaptive", "hg", "drpm")
AVERAGINGS = ("gvae", "mlvae")

Aggregation = collections.namedtuple(
    "Aggregation",
    ["mean1", "log_var1", "mean2", "log_var2", "mask", "losses", "metrics"])
Aggregation.__doc__ = """Output of an aggregator.

mean1, log_var1, mean2, log_var2: aggregated posteriors `[B, d]`.
mask: float32 `[B, d]`, 1 on the dims treated as shared (exactly 0/1).
losses: dict name -> scalar, extra loss terms, already weighted (added to the
  model's loss as they are).
metrics: dict name -> scalar, diagnostics (not part of the loss).
"""


def per_dim_kl(mean1, log_var1, mean2, log_var2):
  """`KL(N(mean1, e^log_var1) || N(mean2, e^log_var2))` per dim, `[B, d]`."""
  return 0.5 * (tf.exp(log_var1 - log_var2) +
                tf.square(mean2 - mean1) * tf.exp(-log_var2) - 1. +
                log_var2 - log_var1)


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
    raise ValueError("Unknown averaging {!r}; valid: {}.".format(
        averaging, ", ".join(AVERAGINGS)))
  return mean, log_var


def apply_mask(mask, mean1, log_var1, mean2, log_var2, averaging="gvae"):
  """Eq. 49-50 with a (possibly straight-through) 0/1 mask `[B, d]`."""
  mean, log_var = average_posteriors(mean1, log_var1, mean2, log_var2,
                                     averaging)
  keep = 1. - mask
  return (mask * mean + keep * mean1, mask * log_var + keep * log_var1,
          mask * mean + keep * mean2, mask * log_var + keep * log_var2)


def ascending_ranks(values):
  """Rank of every entry along the last axis (0 = smallest), as float."""
  order = tf.argsort(values, axis=-1, stable=True)
  ranks = tf.argsort(order, axis=-1, stable=True)
  return tf.cast(ranks, values.dtype)


def count_mask(num_shared, kl):
  """Mask of the `num_shared` [B] dims with smallest KL, ST w.r.t. num_shared."""
  ranks = ascending_ranks(tf.stop_gradient(kl))
  return tf.clip_by_value(num_shared[:, None] - ranks, 0., 1.)


class Aggregator(tf.keras.layers.Layer):
  """Base class: `call(mean1, log_var1, mean2, log_var2, ...) -> Aggregation`."""

  name_ = None
  needs_labels = False

  def __init__(self, averaging="gvae", **kwargs):
    super().__init__(**kwargs)
    if averaging not in AVERAGINGS:
      raise ValueError("Unknown averaging {!r}; valid: {}.".format(
          averaging, ", ".join(AVERAGINGS)))
    self.averaging = averaging

  def shared_mask(self, kl, step, shared_factors, seed, training):
    """Returns (mask [B, d], losses dict, metrics dict)."""
    raise NotImplementedError

  def call(self, mean1, log_var1, mean2, log_var2, step=0,
           shared_factors=None, seed=None, training=True):
    """Aggregates the two views.

    Args:
      mean1, log_var1, mean2, log_var2: `[B, d]` posteriors of both views.
      step: training step (temperature annealing).
      shared_factors: bool `[B, num_factors]`, True where the pair shares the
        factor (only `label` uses it).
      seed: stateless seed `[2]` int32 (only `hg` and `drpm` sample).
      training: unused except for bookkeeping.

    Returns:
      `Aggregation`.
    """
    kl = per_dim_kl(mean1, log_var1, mean2, log_var2)
    mask, losses, metrics = self.shared_mask(kl, step, shared_factors, seed,
                                             training)
    outputs = apply_mask(mask, mean1, log_var1, mean2, log_var2,
                         self.averaging)
    metrics = dict(metrics)
    metrics["num_shared_dims"] = tf.reduce_mean(tf.reduce_sum(mask, -1))
    return Aggregation(*outputs, mask=mask, losses=losses, metrics=metrics)


@gin.configurable("label_aggregation", denylist=["num_latent", "num_steps"])
class LabelAggregator(Aggregator):
  """LabelVAE: the number of changed factors per pair is known (see module doc)."""

  name_ = "label"
  needs_labels = True
  MODES = ("num_changed", "factor_index")

  def __init__(self, num_latent=10, num_steps=1, averaging="gvae",
               mode="num_changed", **kwargs):
    del num_steps
    super().__init__(averaging=averaging, **kwargs)
    if mode not in self.MODES:
      raise ValueError("Unknown label_aggregation.mode {!r}; valid: {}.".format(
          mode, ", ".join(self.MODES)))
    self.mode = mode
    self.num_latent = num_latent

  def shared_mask(self, kl, step, shared_factors, seed, training):
    if shared_factors is None:
      raise ValueError("The 'label' aggregation needs the pairs' shared-factor "
                       "mask (`shared_factors`).")
    shared_factors = tf.cast(shared_factors, kl.dtype)
    num_factors = shared_factors.shape[-1]
    if self.mode == "factor_index":
      d = kl.shape[-1]
      if num_factors > d:
        raise ValueError("factor_index mode needs num_latent >= num_factors "
                         "({} < {}).".format(d, num_factors))
      pad = tf.ones_like(kl[:, num_factors:])
      return tf.concat([shared_factors, pad], -1), {}, {}
    num_changed = float(num_factors) - tf.reduce_sum(shared_factors, -1)
    num_shared = tf.maximum(float(kl.shape[-1]) - num_changed, 0.)
    return tf.stop_gradient(count_mask(num_shared, kl)), {}, {}


@gin.configurable("adaptive_aggregation", denylist=["num_latent", "num_steps"])
class AdaptiveAggregator(Aggregator):
  """AdaVAE: threshold the per-pair KLs at (min + max) / 2 (see module doc)."""

  name_ = "adaptive"

  def __init__(self, num_latent=10, num_steps=1, averaging="gvae", **kwargs):
    del num_latent, num_steps
    super().__init__(averaging=averaging, **kwargs)

  def shared_mask(self, kl, step, shared_factors, seed, training):
    kl = tf.stop_gradient(kl)
    low = tf.reduce_min(kl, -1, keepdims=True)
    high = tf.reduce_max(kl, -1, keepdims=True)
    threshold = 0.5 * (low + high)
    mask = tf.cast((kl < threshold) | (high <= low), kl.dtype)
    return mask, {}, {}


class _AnnealedAggregator(Aggregator):
  """Shared parts of `hg` and `drpm`: Dense(2) on the KLs, annealed tau."""

  def __init__(self, num_latent=10, num_steps=1, averaging="gvae",
               initial_temperature=1.0, final_temperature=0.5, **kwargs):
    super().__init__(averaging=averaging, **kwargs)
    self.num_latent = int(num_latent)
    self.temperature_schedule = ExponentialAnnealing(
        initial_temperature, final_temperature, max(int(num_steps), 1))
    self.omega_layer = tf.keras.layers.Dense(2, name="log_omega")
    self.omega_layer.build((None, self.num_latent))

  def temperature(self, step):
    return self.temperature_schedule(step)


@gin.configurable("hg_aggregation", denylist=["num_latent", "num_steps"])
class HypergeometricAggregator(_AnnealedAggregator):
  """HGVAE: relaxed MVHG over the number of shared dims (see module doc)."""

  name_ = "hg"

  def shared_mask(self, kl, step, shared_factors, seed, training):
    if seed is None:
      seed = tf.constant([0, 0], tf.int32)
    d = float(kl.shape[-1])
    log_weights = self.omega_layer(kl)  # [B, 2]
    tau = self.temperature(step)
    counts = RelaxedNoncentralMultivariateHypergeometric(
        temperature=tau, total_count=d, num_balls=[d, d],
        log_weights=log_weights, hard=True).sample(seed=seed)  # [B, 2]
    mask = count_mask(counts[:, 0], kl)
    return mask, {}, {"temperature": tau}


@gin.configurable("drpm_aggregation",
                  denylist=["num_latent", "num_steps", "gamma"])
class DRPMAggregator(_AnnealedAggregator):
  """DRPMVAE: DRPM with K = 2 over the latent dims (see module doc)."""

  name_ = "drpm"
  SCORES = ("kl", "neg_kl", "neg_log_kl")

  def __init__(self, num_latent=10, num_steps=1, averaging="gvae",
               gamma=0.25, scores="kl", initial_temperature=1.0,
               final_temperature=0.5, **kwargs):
    super().__init__(num_latent=num_latent, num_steps=num_steps,
                     averaging=averaging,
                     initial_temperature=initial_temperature,
                     final_temperature=final_temperature, **kwargs)
    if scores not in self.SCORES:
      raise ValueError("Unknown drpm_aggregation.scores {!r}; valid: {}.".format(
          scores, ", ".join(self.SCORES)))
    self.scores = scores
    # Which row of Y holds the shared dims: the low-KL end of the order.
    self.shared_subset = 1 if scores == "kl" else 0
    self.gamma = float(gamma)
    self.prior_log_weights = self.add_weight(
        name="prior_log_omega", shape=(2,), initializer="zeros",
        trainable=True)

  def log_scores(self, kl):
    if self.scores == "kl":
      return tf.math.log(kl + 1e-6)
    if self.scores == "neg_kl":
      return -kl
    return -tf.math.log(kl + 1e-6)

  def posterior(self, kl, step):
    return DifferentiableRandomPartition(
        self.omega_layer(kl), self.log_scores(kl), self.temperature(step),
        hard=True)

  def prior(self, step):
    return DifferentiableRandomPartition(
        self.prior_log_weights, tf.zeros([self.num_latent]),
        self.temperature(step), hard=True)

  def shared_mask(self, kl, step, shared_factors, seed, training):
    if seed is None:
      seed = tf.constant([0, 0], tf.int32)
    posterior = self.posterior(kl, step)
    sample = posterior.sample_components(seed=seed)
    partition = sample.partition  # [B, 2, d]
    # Lemma-4 bound terms of eq. 47-48 (see module doc).
    log_q_upper = posterior.log_prob_upper_bound(partition)
    log_p_lower = self.prior(step).log_prob_lower_bound(partition)
    partition_kl = tf.reduce_mean(log_q_upper - log_p_lower)
    losses = {"partition_kl": self.gamma * partition_kl}
    metrics = {"partition_kl": partition_kl,
               "temperature": self.temperature(step)}
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
    raise ValueError(
        "Unknown aggregation {!r} (gin `weak_vae.aggregation`). Valid names: "
        "{}.".format(name, ", ".join(AGGREGATIONS)))
  kwargs = dict(num_latent=num_latent, num_steps=num_steps,
                name="aggregation_" + name)
  if name == "drpm":
    kwargs["gamma"] = gamma
  return _CLASSES[name](**kwargs)

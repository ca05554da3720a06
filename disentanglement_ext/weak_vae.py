"""Keras group VAE for weakly-supervised pairs (paper Section 3.1, App. C.1).

Architectures (`weak_vae.architecture`):

- 'conv64' (default): disentanglement_lib's `conv_encoder` / `deconv_decoder`
  for 64x64xC inputs, layer by layer as in dlib 1.5
  `methods/shared/architectures.py`:
    encoder: conv 32 k4 s2, conv 32 k4 s2, conv 64 k2 s2, conv 64 k2 s2 (all
      ReLU, 'same'), flatten, dense 256 ReLU, dense d (means), dense d (log_var)
      [dlib's e3/e4 use kernel_size=2, not 4; we follow dlib's code];
    decoder: dense 256 ReLU, dense 1024 ReLU, reshape 4x4x64, deconv 64 k4 s2
      ReLU, deconv 32 k4 s2 ReLU, deconv 32 k4 s2 ReLU, deconv C k4 s2 (logits).
- 'conv32': NOT dlib's architecture; a reduced variant for fast CPU runs. It
  reads 32x32 images: 64x64 images are 2x2 average-pooled to 32x32 inside the
  model (so the model, its Hub export and dlib's evaluation still take 64x64
  images), while training may feed the 32x32 images directly (the weak-pair
  pipeline downsamples, or reads them from a cache, see
  `disentanglement_ext.data.image_cache`); the encoder is dlib's (four
  stride-2 convs reach 2x2x64); the decoder drops one 32-channel deconv
  (4 -> 8 -> 16 -> 32) and reconstructs the 32x32 image.

Objective (`weak_vae.objective`), per batch, mean over pairs, dlib's
Bernoulli reconstruction loss (per-image sum of sigmoid cross-entropy):

- 'paper' (default, paper eq. 6 / 48): ONE posterior q(z_s, z_1, z_2 | Y, X).
  The shared dims S (the aggregator's mask) form a single latent z_s with the
  averaged posterior q_s (eq. 49); it is sampled ONCE and decoded by both
  decoders, and its KL to the prior is counted once; each view's independent
  dims have their own sample and their own KL:

      z_j   = mask * (mu_s + sigma_s * eps_s) + (1 - mask) * (mu_j + sigma_j * eps_j)
      loss  = recon(x1 | z_1) + recon(x2 | z_2)
              + beta * sum_i [mask_i KL(q_s,i || N(0, 1))
                              + (1 - mask_i) (KL(q_1,i || N(0, 1)) + KL(q_2,i || N(0, 1)))]
              + sum(aggregator extra losses)       (drpm: gamma * partition KL)

  The accounting is linear in the mask, so with a straight-through mask (hg,
  drpm) the gradient reaches the aggregator's parameters through both the
  reconstruction and the KL: declaring a dim shared saves
  `KL_1,i + KL_2,i - KL_s,i` nats, about one view's KL when the views agree.
- 'dlib' (disentanglement_lib's GroupVAE, `weak_vae.py` there): two per-view
  ELBOs of the aggregated posteriors q~_j (eq. 49-50), each view with its own
  noise, so a shared dim's KL is counted twice:

      loss  = recon(x1 | z~_1) + recon(x2 | z~_2)
              + beta * (KL(q~_1 || N(0, I)) + KL(q~_2 || N(0, I))) + extras

  dlib averages the two views' terms (a factor 1/2 on its whole loss); both
  objectives here sum them, so that `gamma` weighs the DRPM's partition KL the
  same way under either.
"""
import gin
import tensorflow as tf

from disentanglement_ext import aggregation as aggregation_lib
from drpm_tf import errors
from drpm_tf import gaussian

ARCHITECTURES = ("conv64", "conv32")
OBJECTIVES = ("paper", "dlib")


def _conv(filters, kernel, name, activation="relu"):
  return tf.keras.layers.Conv2D(filters, kernel, strides=2, padding="same",
                                activation=activation, name=name)


def _deconv(filters, name, activation="relu"):
  return tf.keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same",
                                         activation=activation, name=name)


def encoder_layer_specs(architecture):
  """[(kind, name, filters/units, kernel)] of the encoder trunk."""
  del architecture  # Same trunk for both.
  return [("conv", "e1", 32, 4), ("conv", "e2", 32, 4), ("conv", "e3", 64, 2),
          ("conv", "e4", 64, 2), ("flatten", None, None, None),
          ("dense", "e5", 256, None)]


def decoder_layer_specs(architecture, channels):
  """[(kind, name, filters/units, activation)] of the decoder."""
  specs = [("dense", "d1", 256, "relu"), ("dense", "d2", 1024, "relu"),
           ("reshape", None, (4, 4, 64), None),
           ("deconv", "d3", 64, "relu"), ("deconv", "d4", 32, "relu")]
  if architecture == "conv64":
    specs.append(("deconv", "d5", 32, "relu"))
  specs.append(("deconv", "d6", channels, None))
  return specs


def check_architecture(architecture):
  if architecture not in ARCHITECTURES:
    raise errors.ConfigError("Unknown architecture {!r} (gin `weak_vae.architecture`); "
                     "valid: {}.".format(architecture, ", ".join(ARCHITECTURES)))


def bernoulli_loss(images, logits):
  """dlib's `bernoulli_loss`: per-image sum of sigmoid cross-entropy, [B]."""
  flat = tf.reshape(images, [tf.shape(images)[0], -1])
  flat_logits = tf.reshape(logits, [tf.shape(logits)[0], -1])
  return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(
      labels=flat, logits=flat_logits), axis=1)


def latent_kl(agg, mean1, log_var1, mean2, log_var2, objective="paper"):
  """KL of the latents to N(0, I) per pair, `[B]` (see the module doc).

  'paper': `sum_i mask_i KL(q_s,i) + (1 - mask_i) (KL(q_1,i) + KL(q_2,i))`,
  linear in the (possibly straight-through) mask, so its gradient w.r.t.
  `mask_i` is `KL(q_s,i) - KL(q_1,i) - KL(q_2,i)`. 'dlib': `KL(q~_1) +
  KL(q~_2)` of the aggregated posteriors.
  """
  if objective == "paper":
    kl_shared = gaussian.kl_per_dim(agg.mean, agg.log_var)
    kl_views = (gaussian.kl_per_dim(mean1, log_var1) +
                gaussian.kl_per_dim(mean2, log_var2))
    return tf.reduce_sum(agg.mask * kl_shared + (1. - agg.mask) * kl_views,
                         axis=1)
  return tf.reduce_sum(gaussian.kl_per_dim(agg.mean1, agg.log_var1) +
                       gaussian.kl_per_dim(agg.mean2, agg.log_var2), axis=1)


@gin.configurable("weak_vae", denylist=["input_shape", "num_steps"])
class WeakVAE(tf.keras.Model):
  """Group VAE with a pluggable view aggregation (see module doc)."""

  def __init__(self, input_shape=(64, 64, 3), num_steps=1,
               aggregation="adaptive", num_latent=10, beta=1.0, gamma=0.25,
               architecture="conv64", objective="paper", seed=0, **kwargs):
    """Builds the model.

    Args:
      input_shape: observation shape (64, 64, C).
      num_steps: training steps (temperature annealing of hg / drpm).
      aggregation: 'label', 'adaptive', 'hg' or 'drpm'.
      num_latent: latent dims d.
      beta: weight of the Gaussian KL terms.
      gamma: weight of the DRPM partition KL (drpm only).
      architecture: 'conv64' (dlib) or 'conv32' (reduced, see module doc).
      objective: 'paper' (eq. 6) or 'dlib' (two per-view ELBOs), module doc.
      seed: seed of the model's random stream (sampling noise).
    """
    super().__init__(**kwargs)
    check_architecture(architecture)
    if objective not in OBJECTIVES:
      raise errors.ConfigError("Unknown objective {!r} (gin `weak_vae.objective`); "
                       "valid: {}.".format(objective, ", ".join(OBJECTIVES)))
    if aggregation not in aggregation_lib.AGGREGATIONS:
      raise errors.ConfigError(
          "Unknown aggregation {!r} (gin `weak_vae.aggregation`). Valid names: "
          "{}.".format(aggregation, ", ".join(aggregation_lib.AGGREGATIONS)))
    self.observation_shape = tuple(int(s) for s in input_shape)
    if self.observation_shape[:2] != (64, 64):
      raise errors.ConfigError("WeakVAE expects 64x64xC observations, got {}.".format(
          self.observation_shape))
    self.aggregation_name = aggregation
    self.num_latent = int(num_latent)
    self.beta = float(beta)
    self.gamma = float(gamma)
    self.architecture = architecture
    self.objective = objective
    channels = self.observation_shape[2]
    layers = []
    for kind, name, size, kernel in encoder_layer_specs(architecture):
      if kind == "conv":
        layers.append(_conv(size, kernel, name))
      elif kind == "flatten":
        layers.append(tf.keras.layers.Flatten())
      else:
        layers.append(tf.keras.layers.Dense(size, activation="relu", name=name))
    self.encoder_trunk = tf.keras.Sequential(layers, name="encoder")
    self.means_layer = tf.keras.layers.Dense(self.num_latent, name="means")
    self.log_var_layer = tf.keras.layers.Dense(self.num_latent, name="log_var")
    layers = []
    for kind, name, size, activation in decoder_layer_specs(architecture,
                                                             channels):
      if kind == "dense":
        layers.append(tf.keras.layers.Dense(size, activation=activation,
                                            name=name))
      elif kind == "reshape":
        layers.append(tf.keras.layers.Reshape(size))
      else:
        layers.append(_deconv(size, name, activation))
    self.decoder = tf.keras.Sequential(layers, name="decoder")
    self.aggregator = aggregation_lib.make_aggregator(
        aggregation, self.num_latent, num_steps, gamma=self.gamma)
    self.rng = tf.random.Generator.from_seed(seed)
    # Build all weights now (export and checkpoints need them).
    dummy = tf.zeros((1,) + self.observation_shape)
    mean, _ = self.encode(dummy)
    self.decoder(mean)

  @property
  def input_size(self):
    """Side of the images the networks read (the decoder reconstructs)."""
    return 32 if self.architecture == "conv32" else 64

  @property
  def reconstruction_shape(self):
    return (self.input_size, self.input_size, self.observation_shape[2])

  def targets(self, images):
    """`images` (64x64 or `input_size`) at the resolution the model reads.

    Average pooling, so feeding `downsample(images)` computed elsewhere gives
    the same result.
    """
    factor = int(images.shape[1]) // self.input_size
    if factor == 1:
      return images
    return tf.nn.avg_pool2d(images, factor, factor, "VALID")

  def encode(self, images):
    """images [B, S, S, C] in [0, 1], S = 64 or `input_size` -> (mean,
    log_var) [B, d]."""
    h = self.encoder_trunk(self.targets(images))
    return self.means_layer(h), self.log_var_layer(h)

  def decode(self, z):
    """Latents [B, d] -> logits [B] + reconstruction_shape."""
    return self.decoder(z)

  def call(self, images):
    return self.encode(images)[0]

  def compute_losses(self, x1, x2, shared_factors, step, known_factor=None,
                     seeds=None, noise_rows=None):
    """All loss terms of one batch of pairs; returns a dict of scalars.

    `shared_factors` (bool `[B, F]`) and `known_factor` (int `[B]`) are the
    pairs' labels (see `disentanglement_ext.data.weak_pairs`); only `label`
    uses them for aggregation, the true number of shared factors is logged.
    `seeds` (int32 `[2, 4]`: aggregation, shared noise, noise of view 1,
    noise of view 2) defaults to a draw from `self.rng`. `noise_rows =
    (begin, global_batch)` says that this batch is rows `[begin, begin + B)`
    of a global batch: the Gaussian noise is then drawn for the global batch
    and sliced, so that a batch split across replicas gets the unsplit
    batch's noise (train.py).
    """
    if seeds is None:
      seeds = tf.cast(self.rng.make_seeds(4), tf.int32)
    mean1, log_var1 = self.encode(x1)
    mean2, log_var2 = self.encode(x2)
    agg = self.aggregator(mean1, log_var1, mean2, log_var2, step=step,
                          shared_factors=shared_factors,
                          known_factor=known_factor, seed=seeds[:, 0])
    z1, z2 = self.sample_latents(agg, seeds[:, 1:], noise_rows)
    kl = tf.reduce_mean(latent_kl(agg, mean1, log_var1, mean2, log_var2,
                                  self.objective))
    recon = tf.reduce_mean(bernoulli_loss(self.targets(x1), self.decode(z1)) +
                           bernoulli_loss(self.targets(x2), self.decode(z2)))
    extra = tf.add_n(list(agg.losses.values())) if agg.losses else 0.
    loss = recon + self.beta * kl + extra
    terms = {"loss": loss, "reconstruction_loss": recon, "kl_loss": kl,
             "elbo": -(recon + kl + agg.metrics.get("partition_kl", 0.))}
    for key, value in agg.metrics.items():
      terms["aggregation/" + key] = value
    if shared_factors is not None:
      true_shared = tf.reduce_sum(tf.cast(shared_factors, tf.float32), -1)
      terms["aggregation/true_num_shared_factors"] = tf.reduce_mean(true_shared)
    return terms

  def sample_latents(self, agg, seeds, noise_rows=None):
    """Reparameterized latents (z1, z2) `[B, d]` of both views.

    `seeds`: int32 `[2, 3]` (shared noise, noise of view 1, of view 2). Under
    the 'paper' objective the shared dims take ONE sample of z_s, the same
    in both views; under 'dlib' each view draws its own noise everywhere.
    """
    batch = tf.shape(agg.mean1)[0]

    def noise(seed):
      if noise_rows is None:
        return tf.random.stateless_normal(tf.shape(agg.mean1), seed=seed)
      begin, global_batch = noise_rows
      return tf.random.stateless_normal(
          [global_batch, self.num_latent], seed=seed)[begin:begin + batch]

    noise1, noise2 = noise(seeds[:, 1]), noise(seeds[:, 2])
    if self.objective == "paper":
      shared_noise = noise(seeds[:, 0])
      noise1 = agg.mask * shared_noise + (1. - agg.mask) * noise1
      noise2 = agg.mask * shared_noise + (1. - agg.mask) * noise2
    return (agg.mean1 + tf.exp(0.5 * agg.log_var1) * noise1,
            agg.mean2 + tf.exp(0.5 * agg.log_var2) * noise2)

  def aggregate(self, x1, x2, shared_factors=None, known_factor=None,
                step=None, seed=None):
    """Evaluation helper: (means, log_vars, aggregation) for a batch of pairs.

    With `seed=None` (the default) the aggregation is each method's
    deterministic shared set (see `disentanglement_ext.aggregation`); with a
    stateless `seed` `[2]`, one sample at the final temperature (or `step`).
    """
    if step is None:
      step = getattr(getattr(self.aggregator, "temperature_schedule", None),
                     "num_steps", 0)
    mean1, log_var1 = self.encode(x1)
    mean2, log_var2 = self.encode(x2)
    agg = self.aggregator(
        mean1, log_var1, mean2, log_var2, step=step,
        shared_factors=shared_factors, known_factor=known_factor,
        seed=None if seed is None else tf.constant(seed, tf.int32),
        deterministic=seed is None)
    return (mean1, mean2), (log_var1, log_var2), agg


def build_model(observation_shape, training_steps, num_factors):
  """The gin-configured `WeakVAE` (weights built) for data with `num_factors`.

  Raises:
    ConfigError: LabelVAE's single-factor rule (latent dim i <-> factor i)
      with fewer latent dims than factors.
  """
  model = WeakVAE(input_shape=observation_shape, num_steps=training_steps)
  if (getattr(model.aggregator, "mode", None) == "single_factor" and
      model.num_latent < num_factors):
    raise errors.ConfigError(
        "weak_vae.num_latent = {} < {} factors: the 'label' aggregation ties "
        "latent dim i to factor i and needs num_latent >= num_factors.".format(
            model.num_latent, num_factors))
  return model

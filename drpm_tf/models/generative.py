"""The generative DRPM-VAE of paper Section 3.2 / Appendix C.3.

Generative process for a batch `X = {x_1..x_n}`: a partition `Y ~ DRPM(omega_p,
s_p)` of the batch into `K` clusters, `z_i ~ N(mu_k, sigma_k^2)` for the
cluster `k` of `x_i` (`K` learnable Gaussian priors), `x_i ~ Bernoulli(D(z_i))`.
Inference: `q(z_i | x_i) = N(mu(x_i), sigma(x_i)^2)` and `q(Y | X) =
DRPM(omega(X), s(X))`, where (C.3.3) `log omega(X) = log mean_i softmax(W_w
h_i)` and `log s(x_i) = lambda sum_k k softmax(W_s h_i)_k` with a learnable
scale `lambda`. The prior scores `s_p` are uniform, so `p(pi; s_p) = 1 / n!`.

Loss per batch (C.3.4, negated ELBO, divided by `n` so it reads per element):

```none
recon  = sum_i -log p(x_i | z_i)                     z_i ~ q(z | x_i), M = 1
kl_z   = 1/L sum_l sum_i sum_k Y^l[k, i] KL(q(z | x_i) || N(mu_k, sigma_k^2))
bound  (kl_estimator='bound', the paper's estimator, Lemma 4):
  kl_n  = 1/L sum_l log |Pi_{Y^l}| + log q(n^l; omega(X)) - log p(n^l; omega_p)
  kl_pi = log max_pi q(pi; s(X)) - 1/L sum_l max_{pi in Pi_{Y^l}} log p(pi; s_p)
  loss  = (recon + beta kl_z + gamma kl_n + delta kl_pi) / n
exact  (kl_estimator='exact'):
  kl_Y  = 1/L sum_l log q(Y^l; omega(X), s(X)) - log p(Y^l; omega_p, s_p)
  loss  = (recon + beta kl_z + gamma kl_Y) / n
```

with `L` relaxed partition samples drawn at once (`sample_components(L)`,
vectorized). The 'bound' terms replace `log q(Y)` by its Lemma 4 upper bound and
`log p(Y)` by its lower bound (the DRPM's `log_num_orderings`,
`log_prob_counts`, `log_max_permutation_prob` and `log_max_ordering_prob`;
with the uniform prior scores `max_{pi in Pi_Y} log p(pi; s_p) = -log n!`), so `kl_n + kl_pi` over-estimates `KL(q(Y) || p(Y))`
and `delta` trades it off separately; 'exact' uses the exact DRPM likelihood
of both, an unbiased Monte-Carlo estimate of the partition KL, with one weight.
`beta`, `gamma`, `delta` and the temperature follow `ExponentialAnnealing`.
"""

import inspect

import gin
import numpy as np
import tensorflow as tf

from drpm_tf import errors
from drpm_tf import gaussian
from drpm_tf.distributions import DifferentiableRandomPartition
from drpm_tf.schedules import ExponentialAnnealing

__all__ = ['DRPMVAE']

_KL_ESTIMATORS = ('bound', 'exact')
_LOG_2PI = float(np.log(2. * np.pi))


class _SeededInitializers:
  """Distinct, reproducible Glorot-uniform initializers derived from one seed."""

  def __init__(self, seed):
    self._seed = seed
    self._count = 0

  def __call__(self):
    self._count += 1
    return tf.keras.initializers.GlorotUniform(seed=self._seed * 1000 +
                                               self._count)


def _dense(units, initializers, **kwargs):
  return tf.keras.layers.Dense(units, kernel_initializer=initializers(),
                               **kwargs)


def _mlp(units, initializers, name):
  return tf.keras.Sequential(
      [_dense(u, initializers, activation='relu') for u in units], name=name)


def _keras_inspectable(cls):
  """Lets Keras 3 inspect the constructor of a gin-configurable model.

  Keras 3 reads `inspect.getfullargspec(cls.__init__)` whenever a model is
  created. That does not follow the `functools.wraps` wrapper `gin.configurable`
  puts around `__init__` (it sees `(*args, **kwargs)` and raises IndexError),
  but it honours `__signature__`, so the wrapper advertises the real one.
  """
  cls.__init__.__signature__ = inspect.signature(cls.__init__)
  return cls


@_keras_inspectable  # Applied after gin's decorator (bottom-up).
@gin.configurable('drpm_vae', denylist=['name'])
class DRPMVAE(tf.keras.Model):
  """Generative DRPM-VAE with `K` Gaussian priors and a custom `train_step`.

  Shapes: a batch `x` is `[n, input_dim]` with `n` fixed (the DRPM partitions
  the batch, so the batch size is static; drop the remainder when batching).
  """

  def __init__(self, input_dim=784, latent_dim=10, num_clusters=10,
               encoder_units=(500, 500, 2000), num_partition_samples=100,
               kl_estimator='bound', temperature=(1., 0.5), beta=(0.01, 0.1),
               gamma=(0.1, 1.), delta=(1e-4, 1e-3), anneal_steps=100_000,
               seed=0, name='drpm_vae'):
    """Builds the model.

    Args:
      input_dim: flattened input size (784 for MNIST, 64 for digits).
      latent_dim: size of `z`.
      num_clusters: `K`, the number of priors / DRPM subsets.
      encoder_units: hidden sizes of the encoder; the decoder mirrors them.
      num_partition_samples: `L`, partition samples per batch.
      kl_estimator: 'bound' (paper, Lemma 4) or 'exact' (exact DRPM log-probs).
      temperature, beta, gamma, delta: `(initial, final)` of the exponential
        annealing over `anneal_steps` steps (paper C.3.4 values by default).
      anneal_steps: steps to reach the final values.
      seed: seed of the model's random stream (initialization of the priors
        and all sampling in `train_step`).
      name: model name.
    """
    super().__init__(name=name)
    if kl_estimator not in _KL_ESTIMATORS:
      raise errors.ConfigError(
          f'drpm_vae.kl_estimator must be one of {_KL_ESTIMATORS}; got '
          f'{kl_estimator!r}.')
    for arg, value in (('input_dim', input_dim), ('latent_dim', latent_dim),
                       ('num_clusters', num_clusters),
                       ('num_partition_samples', num_partition_samples),
                       ('anneal_steps', anneal_steps)):
      errors.check_count(f'drpm_vae.{arg}', value)
    if (not isinstance(encoder_units, (tuple, list)) or not encoder_units):
      raise errors.ConfigError('drpm_vae.encoder_units must be a non-empty '
                               f'tuple of layer sizes; got {encoder_units!r}.')
    for units in encoder_units:
      errors.check_count('drpm_vae.encoder_units entries', units)
    self.input_dim = int(input_dim)
    self.latent_dim = int(latent_dim)
    self.num_clusters = int(num_clusters)
    self.num_partition_samples = int(num_partition_samples)
    self.kl_estimator = kl_estimator
    self.schedules = {}
    for key, values in dict(temperature=temperature, beta=beta, gamma=gamma,
                            delta=delta).items():
      try:
        self.schedules[key] = ExponentialAnnealing(*values, anneal_steps,
                                                   name=key)
      except (TypeError, ValueError) as error:
        raise errors.ConfigError(
            f'drpm_vae.{key} must be (initial, final), both finite and > 0; '
            f'got {values!r} ({error}).') from error
    initializers = _SeededInitializers(seed)
    self.encoder = _mlp(encoder_units, initializers, 'encoder')
    self.z_mean = _dense(latent_dim, initializers, name='z_mean')
    self.z_log_var = _dense(latent_dim, initializers, name='z_log_var')
    self.omega_head = _dense(num_clusters, initializers, name='omega_head')
    self.score_head = _dense(num_clusters, initializers, name='score_head')
    self.decoder = tf.keras.Sequential(
        [_mlp(encoder_units[::-1], initializers, 'decoder_hidden'),
         _dense(input_dim, initializers, name='logits')], name='decoder')
    self.score_scale = self.add_weight(
        name='score_scale', shape=(), initializer='ones')
    self.prior_means = self.add_weight(
        name='prior_means', shape=(num_clusters, latent_dim),
        initializer=tf.keras.initializers.RandomNormal(seed=seed))
    self.prior_log_vars = self.add_weight(
        name='prior_log_vars', shape=(num_clusters, latent_dim),
        initializer='zeros')
    self.prior_log_weights = self.add_weight(
        name='prior_log_weights', shape=(num_clusters,), initializer='zeros')
    self.rng = tf.random.Generator.from_seed(seed)
    self.build((None, input_dim))

  def build(self, input_shape):
    h = self.encoder.build(input_shape) or self.encoder.compute_output_shape(
        input_shape)
    for head in (self.z_mean, self.z_log_var, self.omega_head, self.score_head):
      head.build(h)
    self.decoder.build((None, self.latent_dim))
    self.built = True

  # Inference and generation.

  def encode(self, x):
    """`(mean, log_var, h)` of `q(z | x)`; `h` is the encoder's last layer."""
    h = self.encoder(x)
    return self.z_mean(h), self.z_log_var(h), h

  def decode(self, z):
    """Bernoulli logits `[..., input_dim]`."""
    return self.decoder(z)

  def partition_parameters(self, h):
    """`(log omega(X) [K], log s(X) [n])` from the encoder features `[n, .]`."""
    # log mean_i softmax(.)_i in log space: exact, and finite even when every
    # element puts (numerically) zero mass on a subset.
    log_weights = tf.reduce_logsumexp(
        tf.nn.log_softmax(self.omega_head(h), axis=-1), axis=0) - tf.math.log(
            tf.cast(tf.shape(h)[0], h.dtype))
    r = tf.nn.softmax(self.score_head(h), axis=-1)
    index = tf.range(1, self.num_clusters + 1, dtype=r.dtype)
    return log_weights, self.score_scale * tf.reduce_sum(r * index, axis=-1)

  def cluster_log_likelihoods(self, x):
    """`log N(mu(x); mu_k, sigma_k^2)` `[n, K]`: the cluster evidence of `x`."""
    mean, _, _ = self.encode(x)
    diff = mean[:, None] - self.prior_means[None]
    return -0.5 * tf.reduce_sum(
        _LOG_2PI + self.prior_log_vars + tf.square(diff) *
        tf.exp(-self.prior_log_vars), axis=-1)

  def predict_clusters(self, x, batch_size=1024):
    """Hard cluster of every row of `x` (numpy `[num, input_dim]`)."""
    out = [tf.argmax(self.cluster_log_likelihoods(x[i:i + batch_size]), -1)
           for i in range(0, len(x), batch_size)]
    return tf.concat(out, 0).numpy()

  def sample_prior(self, cluster_ids, seed=None):
    """Decoded means of `z ~ N(mu_k, sigma_k^2)` for each `k` in `cluster_ids`."""
    cluster_ids = tf.convert_to_tensor(cluster_ids, tf.int32)
    mean = tf.gather(self.prior_means, cluster_ids)
    std = tf.exp(0.5 * tf.gather(self.prior_log_vars, cluster_ids))
    seed = self.rng.make_seeds(1)[:, 0] if seed is None else seed
    z = mean + std * tf.random.stateless_normal(tf.shape(mean), seed=seed)
    return tf.sigmoid(self.decode(z))

  def prior_partition(self, num_elements, temperature=0.5):
    """The prior DRPM `p(Y; omega_p, s_p)` over `num_elements` elements."""
    return DifferentiableRandomPartition(
        self.prior_log_weights, tf.zeros([num_elements]), temperature)

  def call(self, x):
    """Reconstruction probabilities from the posterior means."""
    mean, _, _ = self.encode(x)
    return tf.sigmoid(self.decode(mean))

  # Pretraining and initialization.

  @property
  def autoencoder_variables(self):
    """What autoencoder pretraining trains: encoder, `z_mean` and decoder."""
    return (self.encoder.trainable_variables + self.z_mean.trainable_variables +
            self.decoder.trainable_variables)

  def autoencoder_loss(self, x, mean=None):
    """`-log p(x | z = mu(x))` per element: the deterministic autoencoder of
    VaDE-style pretraining, with the model's own Bernoulli likelihood.
    `mean`: `mu(x)` if the caller has already encoded `x`."""
    if mean is None:
      mean, _, _ = self.encode(x)
    return tf.reduce_mean(tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=self.decode(
            mean)), axis=-1))

  def set_priors(self, means, variances, weights):
    """Sets the `K` Gaussian priors `N(means[k], diag(variances[k]))` and the
    prior DRPM's subset weights `omega_p = weights` (`[K, d]`, `[K, d]`, `[K]`).
    """
    means = np.asarray(means, np.float64)
    variances = np.asarray(variances, np.float64)
    weights = np.asarray(weights, np.float64)
    shape = (self.num_clusters, self.latent_dim)
    for arg, value, expected in (('means', means, shape),
                                 ('variances', variances, shape),
                                 ('weights', weights, shape[:1])):
      if value.shape != expected:
        raise ValueError(f'Argument `{arg}` must have shape {expected}, got '
                         f'{value.shape}.')
      if not np.all(np.isfinite(value)):
        raise ValueError(f'Argument `{arg}` must be finite.')
    for arg, value in (('variances', variances), ('weights', weights)):
      if np.any(value <= 0):
        raise ValueError(f'Argument `{arg}` must be > 0.')
    self.prior_means.assign(means.astype(np.float32))
    self.prior_log_vars.assign(np.log(variances).astype(np.float32))
    self.prior_log_weights.assign(np.log(weights).astype(np.float32))

  # Training.

  def schedule_values(self, step):
    return {key: schedule(step) for key, schedule in self.schedules.items()}

  def compute_losses(self, x, step):
    """All loss terms for one batch `x` `[n, input_dim]` (n static) at `step`."""
    n = x.shape[0]
    if n is None:
      raise ValueError('The batch size must be static (batch with '
                       'drop_remainder=True): the DRPM partitions the batch.')
    weights = self.schedule_values(step)
    seeds = tf.cast(self.rng.make_seeds(2), tf.int32)  # TFP seeds are int32
    mean, log_var, h = self.encode(x)
    z = mean + tf.exp(0.5 * log_var) * tf.random.stateless_normal(
        tf.shape(mean), seed=seeds[:, 0])
    recon = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=x, logits=self.decode(z)))

    log_weights, log_scores = self.partition_parameters(h)
    posterior = DifferentiableRandomPartition(log_weights, log_scores,
                                              weights['temperature'])
    sample = posterior.sample_components(self.num_partition_samples,
                                         seed=seeds[:, 1])
    kl_matrix = tf.reduce_sum(gaussian.kl_per_dim(
        mean[None], log_var[None], self.prior_means[:, None],
        self.prior_log_vars[:, None]), axis=-1)  # [K, n]
    kl_z = tf.reduce_mean(
        tf.reduce_sum(sample.partition * kl_matrix, axis=[-2, -1]))
    prior = self.prior_partition(n, weights['temperature'])

    terms = dict(recon=recon / n, kl_z=kl_z / n)
    if self.kl_estimator == 'bound':
      # The count terms (log |Pi_Y| included) as functions of the
      # straight-through counts, so their gradients reach omega(X).
      kl_n = tf.reduce_mean(
          posterior.log_num_orderings(counts=sample.counts) +
          posterior.log_prob_counts(sample.counts) -
          prior.log_prob_counts(sample.counts))
      kl_pi = posterior.log_max_permutation_prob() - tf.reduce_mean(
          prior.log_max_ordering_prob(sample.partition))
      terms.update(kl_n=kl_n / n, kl_pi=kl_pi / n)
      partition_loss = weights['gamma'] * kl_n + weights['delta'] * kl_pi
    else:
      kl_y = tf.reduce_mean(posterior.log_prob(sample.partition) -
                            prior.log_prob(sample.partition))
      terms.update(kl_y=kl_y / n)
      partition_loss = weights['gamma'] * kl_y
    terms['loss'] = (recon + weights['beta'] * kl_z + partition_loss) / n
    terms['elbo'] = -(terms['recon'] + terms['kl_z'] +
                      terms.get('kl_y', terms.get('kl_n', 0.) +
                                terms.get('kl_pi', 0.)))
    terms.update({f'schedule/{k}': v for k, v in weights.items()})
    return terms

  def train_step(self, data):
    x = data[0] if isinstance(data, (tuple, list)) else data
    with tf.GradientTape() as tape:
      terms = self.compute_losses(x, self.optimizer.iterations)
    variables = self.trainable_variables
    grads = tape.gradient(terms['loss'], variables)
    self.optimizer.apply_gradients(zip(grads, variables))
    return terms

  def test_step(self, data):
    x = data[0] if isinstance(data, (tuple, list)) else data
    return self.compute_losses(x, self.optimizer.iterations)

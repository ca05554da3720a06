"""Contrastive pretraining of the generative DRPM-VAE's encoder.

The paper is silent on how the DRPM-VAE is initialized; the authors'
clustering code pretrains its encoder by default with a contrastive objective
in the style of twin contrastive learning (Li et al., 2021) rather than with an
autoencoder alone, and then fits the Gaussian mixture to the encoder means as
the autoencoder recipe does (`drpm_tf.pretraining`). This module is our own
implementation of that objective, selected with
`train_generative.pretrain_objective = 'contrastive'`:

```none
x' = random_affine(x)                                  a second view of x
h, h' = E(x), E(x')                                    encoder features
loss = 1/2 [recon(x) + recon(x')]                      the model's Bernoulli
                                                       autoencoder loss
     + NT-Xent(g(h), g(h'); tau_instance)              instance contrast
     + NT-Xent(c(h)^T, c(h')^T; tau_cluster)           cluster contrast
     + sum_{v in views} (log K - H(mean_i c(h_i)))     balanced clusters
```

with two projection heads used only here: `g` (features -> hidden -> `d`)
and `c` (features -> hidden -> softmax over `K`). NT-Xent is SimCLR's
normalized-temperature cross entropy: each of the `2n` rows must pick its
partner among the other `2n - 1` rows by cosine similarity; the cluster
contrast applies it to the `K` columns of the soft assignments (a cluster's
assignment vector over the batch must match the same cluster's in the other
view). The reconstruction term keeps the decoder trained for stage 2.
"""

import math

import gin
import tensorflow as tf

from drpm_tf import errors

__all__ = ['random_affine', 'nt_xent', 'cluster_contrast', 'ContrastiveHeads']


def random_affine(x, image_shape, seed, max_rotation=30., max_translation=0.2,
                  scale=(0.75, 1.25), max_shear=10.):
  """Random affine warps of flattened single-channel images (stateless).

  Each image gets its own rotation (uniform in +-`max_rotation` degrees),
  shear (+-`max_shear` degrees), scale (uniform in `scale`) about the image
  centre and translation (uniform in +-`max_translation` of the side), with
  bilinear interpolation and zero fill.

  Args:
    x: `[n, h * w]` images.
    image_shape: `(h, w)`.
    seed: stateless seed, shape `[2]`.
    max_rotation, max_translation, scale, max_shear: the ranges above.

  Returns:
    `[n, h * w]` warped images, a pure function of `(x, seed)`.
  """
  height, width = image_shape
  n = tf.shape(x)[0]
  u = 2. * tf.random.stateless_uniform([n, 5], seed, dtype=x.dtype) - 1.
  angle = u[:, 0] * max_rotation * math.pi / 180.
  shear = u[:, 1] * max_shear * math.pi / 180.
  zoom = (scale[0] + scale[1]) / 2. + u[:, 2] * (scale[1] - scale[0]) / 2.
  shift_x = u[:, 3] * max_translation * width
  shift_y = u[:, 4] * max_translation * height
  # Forward map A = zoom * rotation * shear; the transform op wants, per
  # output pixel p, the input pixel A^{-1} (p - centre - shift) + centre.
  cos, sin, tan = tf.cos(angle), tf.sin(angle), tf.tan(shear)
  a00, a01 = cos * zoom, (cos * tan - sin) * zoom
  a10, a11 = sin * zoom, (sin * tan + cos) * zoom
  det = a00 * a11 - a01 * a10
  i00, i01, i10, i11 = a11 / det, -a01 / det, -a10 / det, a00 / det
  cx, cy = (width - 1) / 2., (height - 1) / 2.
  ox = cx - i00 * (cx + shift_x) - i01 * (cy + shift_y)
  oy = cy - i10 * (cx + shift_x) - i11 * (cy + shift_y)
  zeros = tf.zeros_like(ox)
  transforms = tf.stack([i00, i01, ox, i10, i11, oy, zeros, zeros], axis=1)
  images = tf.reshape(x, [n, height, width, 1])
  warped = tf.raw_ops.ImageProjectiveTransformV3(
      images=images, transforms=transforms, output_shape=[height, width],
      interpolation='BILINEAR', fill_mode='CONSTANT',
      fill_value=tf.constant(0., x.dtype))
  return tf.reshape(warped, [n, height * width])


def nt_xent(a, b, temperature):
  """SimCLR's NT-Xent loss of paired rows `a[i]`, `b[i]` (`[n, d]` each).

  The mean over the `2n` rows of `-log softmax_j(cos(r_i, r_j) / t)` at the
  partner `j`, over all rows `j != i` of `[a; b]`.
  """
  rows = tf.math.l2_normalize(tf.concat([a, b], axis=0), axis=-1)
  n = tf.shape(a)[0]
  logits = tf.matmul(rows, rows, transpose_b=True) / temperature
  # A row is never its own candidate.
  logits += tf.linalg.diag(tf.fill([2 * n], tf.constant(-1e9, logits.dtype)))
  partners = tf.concat([tf.range(n, 2 * n), tf.range(n)], axis=0)
  return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
      partners, logits))


def cluster_contrast(c1, c2, temperature=1.):
  """Cluster-level contrast of soft assignments `c1`, `c2` (`[n, K]`).

  NT-Xent over the `K` columns plus, for each view, `log K` minus the
  entropy of the mean assignment (0 for balanced clusters; it keeps all
  points from landing in one cluster).
  """
  loss = nt_xent(tf.transpose(c1), tf.transpose(c2), temperature)
  for c in (c1, c2):
    p = tf.reduce_mean(c, axis=0)
    loss += tf.math.log(tf.cast(tf.shape(p)[0], p.dtype)) + tf.reduce_sum(
        p * tf.math.log(p + 1e-12))
  return loss


@gin.configurable('contrastive_pretraining', denylist=['name'])
class ContrastiveHeads(tf.Module):
  """The two projection heads and the loss of contrastive pretraining."""

  def __init__(self, feature_dim, latent_dim, num_clusters, image_shape,
               hidden_units=2000, instance_temperature=0.5,
               cluster_temperature=1., max_rotation=30., max_translation=0.2,
               scale=(0.75, 1.25), max_shear=10., seed=0,
               name='contrastive_heads'):
    """Builds the heads.

    Args:
      feature_dim: size of the encoder features `h`.
      latent_dim: output size of the instance head.
      num_clusters: `K`, output size of the cluster head.
      image_shape: `(h, w)` of the flattened images, for the augmentation.
      hidden_units: hidden layer size of both heads.
      instance_temperature, cluster_temperature: NT-Xent temperatures.
      max_rotation, max_translation, scale, max_shear: `random_affine`.
      seed: seed of the heads' initialization and of the augmentation.
      name: module name.
    """
    super().__init__(name=name)
    errors.check_count('contrastive_pretraining.hidden_units', hidden_units)
    for arg, value in (('instance_temperature', instance_temperature),
                       ('cluster_temperature', cluster_temperature)):
      if not value > 0:
        raise errors.ConfigError(
            f'contrastive_pretraining.{arg} must be > 0; got {value!r}.')
    if not 0 < scale[0] <= scale[1]:
      raise errors.ConfigError('contrastive_pretraining.scale must be (low, '
                               f'high) with 0 < low <= high; got {scale!r}.')
    self.image_shape = tuple(int(v) for v in image_shape)
    self.instance_temperature = float(instance_temperature)
    self.cluster_temperature = float(cluster_temperature)
    self.augmentation = dict(max_rotation=float(max_rotation),
                             max_translation=float(max_translation),
                             scale=tuple(float(v) for v in scale),
                             max_shear=float(max_shear))
    self.seed = int(seed)
    init = lambda k: tf.keras.initializers.GlorotUniform(  # noqa: E731
        seed=self.seed * 1000 + 500 + k)
    dense = tf.keras.layers.Dense
    self.instance_head = tf.keras.Sequential([
        dense(hidden_units, activation='gelu', kernel_initializer=init(0)),
        dense(latent_dim, kernel_initializer=init(1))], name='instance_head')
    self.cluster_head = tf.keras.Sequential([
        dense(hidden_units, activation='gelu', kernel_initializer=init(2)),
        dense(num_clusters, activation='softmax',
              kernel_initializer=init(3))], name='cluster_head')
    for head in (self.instance_head, self.cluster_head):
      head.build((None, feature_dim))

  @property
  def variables_to_train(self):
    return (self.instance_head.trainable_variables +
            self.cluster_head.trainable_variables)

  @property
  def head_variables(self):
    """Every variable of both heads (Keras' lists, which work under Keras 2
    and 3 alike, unlike `tf.Module.variables`)."""
    return self.instance_head.variables + self.cluster_head.variables

  def loss(self, model, x, step):
    """The loss terms of one batch `x` at pretraining step `step` (a scalar
    integer tensor; with the heads' seed it seeds the augmentation)."""
    seed = tf.stack([tf.constant(self.seed, tf.int32), tf.cast(step, tf.int32)])
    views = (x, random_affine(x, self.image_shape, seed, **self.augmentation))
    recon, instance, cluster = 0., [], []
    for view in views:
      mean, _, h = model.encode(view)
      recon += 0.5 * model.autoencoder_loss(view, mean)
      instance.append(self.instance_head(h))
      cluster.append(self.cluster_head(h))
    terms = dict(recon=recon,
                 instance=nt_xent(*instance, self.instance_temperature),
                 cluster=cluster_contrast(*cluster, self.cluster_temperature))
    terms['loss'] = terms['recon'] + terms['instance'] + terms['cluster']
    return terms

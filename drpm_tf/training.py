"""Training, restoring and evaluating the generative DRPM-VAE.

`train_generative` is gin-configurable (binding name `train_generative`). With
`prior_init = 'mixture'` a run has two stages (see `drpm_tf/pretraining.py`):

1. autoencoder pretraining, `pretrain_steps` steps of reconstruction only
   (its own Adam optimizer), then a diagonal Gaussian mixture fit to the
   encoder means of all training images; its components become the `K` priors,
   its weights the prior DRPM's `omega_p`, and its posterior initializes the
   partition heads;
2. DRPM-VAE training, `num_steps` steps of the negated ELBO, optionally
   refitting the mixture (warm-started from the current priors) and the
   partition heads every `refit_every` steps up to step `refit_until` (as the
   authors' clustering code recomputes its partition parameters from the
   priors at every step), and optionally with the
   pretrained encoder frozen (`freeze_encoder`; the `z` heads, the partition
   heads, the decoder and the priors still train).

With `prior_init = 'random'` (and `pretrain_steps = 0`) only stage 2 runs, from
randomly initialized priors. A run directory holds:

```none
<model_dir>/operative_config.gin   gin config of the run (written at start)
<model_dir>/checkpoints/           tf.train.CheckpointManager: model, both
                                   optimizers, the stage counters and the
                                   model's random stream; resumed from
<model_dir>/initialization/        the model right after the mixture
                                   initialization (stage 1's result)
<model_dir>/tensorboard/           scalars of every loss term and schedule
<model_dir>/results/train.json     steps, wall time, final loss terms
<model_dir>/results/evaluation.json  written by `evaluate_generative`
<model_dir>/results/evaluation_initialization.json  the same for the
                                   initialization (`stage='initialization'`)
```

Checkpoints are atomic: TensorFlow writes the checkpoint files first and then
atomically replaces the `checkpoint` state file, so an interrupted save leaves
the previous checkpoint as the latest one. Checkpoints are written every
`checkpoint_every` steps of either stage, right after the mixture
initialization, and at the end; nothing non-finite is ever saved. The batch
order of both stages is a pure function of `(seed, step)`, the mixture fits
are seeded, and the model's random stream is checkpointed, so a resumed run
continues where it stopped, also across the stage boundary. It is
bit-identical to an uninterrupted run when TensorFlow itself is deterministic
on the CPU: with `TF_ENABLE_ONEDNN_OPTS=0` (oneDNN sums in a load-dependent
order) and `TF_NUM_INTEROP_THREADS=1` (with concurrent ops, about one step in
a hundred rounds differently under machine load, which Adam then amplifies).
With TensorFlow's defaults a resumed run differs from an uninterrupted one only
in such rounding. `make test` sets both.

Evaluation assigns a test image `x` to the prior with the highest Gaussian
density at its posterior mean, `argmax_k N(mu(x); mu_k, sigma_k^2)`, ignoring
the mixture weights `omega_p`, as the authors' clustering code does. The DRPM
posterior `q(Y | X)` is not used: it partitions a whole batch, so the subset of
an image would depend on the other images evaluated with it, while the density
rule depends on the image alone. The weights are left out because in the DRPM
they set subset sizes of a whole partition, not a per-element prior
probability.
"""

import json
import os
import shutil
import time

import gin
import numpy as np
import tensorflow as tf
from scipy import optimize
from sklearn import cluster as sk_cluster
from sklearn import metrics as sk_metrics

from drpm_tf import datasets
from drpm_tf import pretraining
from drpm_tf import prior_purity
from drpm_tf.distributions import DifferentiableRandomPartition
from drpm_tf.models import DRPMVAE

__all__ = ['train_generative', 'load_trained_model', 'evaluate_generative',
           'format_evaluation', 'posterior_agreement', 'clustering_accuracy',
           'clustering_scores', 'write_json_atomically']

OPERATIVE_CONFIG = 'operative_config.gin'
INITIALIZATION = 'initialization'
_STAGES = ('final', INITIALIZATION)
_PRIOR_INITS = ('random', 'mixture')
# Batch-order streams of the two stages: `rng([seed, *stream, epoch])`.
_TRAIN_STREAM = ()
_PRETRAIN_STREAM = (1,)


def _batch_indices(num_examples, batch_size, step, seed, stream=_TRAIN_STREAM):
  """Row indices of batch `step`: epoch-wise permutations seeded by (seed, epoch)."""
  per_epoch = num_examples // batch_size
  epoch, position = divmod(int(step), per_epoch)
  order = np.random.default_rng([seed, *stream, epoch]).permutation(
      num_examples)
  return order[position * batch_size:(position + 1) * batch_size]


def write_json_atomically(path, payload):
  """Writes `payload` as JSON to `path` via a temporary file and a rename."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(payload, f, indent=2, sort_keys=True)
  os.replace(tmp, path)


def _to_python(terms):
  return {k: float(v) for k, v in terms.items()}


def _check_arguments(num_examples, batch_size, pretrain_batch_size, prior_init,
                     num_steps, pretrain_steps, refit_every, refit_until):
  if prior_init not in _PRIOR_INITS:
    raise ValueError(f'Argument `prior_init` must be one of {_PRIOR_INITS}, '
                     f'got {prior_init!r}.')
  for arg, value in (('num_steps', num_steps),
                     ('pretrain_steps', pretrain_steps),
                     ('refit_every', refit_every),
                     ('refit_until', refit_until)):
    if int(value) != value or value < 0:
      raise ValueError(f'Argument `{arg}` must be an integer >= 0, got '
                       f'{value}.')
  for arg, value in (('batch_size', batch_size),
                     ('pretrain_batch_size', pretrain_batch_size)):
    if value > num_examples:
      raise ValueError(f'Argument `{arg}` ({value}) exceeds the '
                       f'{num_examples} training examples.')
  if refit_every and prior_init != 'mixture':
    raise ValueError("Argument `refit_every` needs `prior_init = 'mixture'`.")


def _assert_finite(model, what):
  for variable in model.variables:
    if not np.all(np.isfinite(variable.numpy())):
      raise FloatingPointError(f'{what}: variable {variable.name} is not '
                               'finite; not checkpointing it.')


def _progress_bar(enabled, total, initial, desc):
  if not enabled or initial >= total:
    return None
  from tqdm import auto as tqdm  # pylint: disable=g-import-not-at-top
  return tqdm.tqdm(total=total, initial=initial, desc=desc, unit='step')


def _pretrain_step(model, optimizer):
  def step(x):
    with tf.GradientTape() as tape:
      loss = model.autoencoder_loss(x)
    variables = model.autoencoder_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss
  return step


def _fit_mixture(model, x, seed, warm_start=None):
  mixture = pretraining.fit_prior_mixture(
      pretraining.encode_dataset(model, x), model.num_clusters, seed=seed,
      warm_start=warm_start)
  pretraining.initialize_priors(model, mixture)
  return mixture


@gin.configurable('train_generative', denylist=['model_dir'])
def train_generative(model_dir, num_steps=1000, batch_size=256,
                     learning_rate=1e-4, prior_init='random', pretrain_steps=0,
                     pretrain_batch_size=256, pretrain_learning_rate=1e-3,
                     initialize_heads=True, head_score_scale=10.,
                     refit_every=0, refit_until=0, freeze_encoder=False,
                     checkpoint_every=500, log_every=25, seed=0,
                     overwrite=False, progress=True):
  """Trains a `DRPMVAE` on `datasets.load_dataset()` (both gin-configured).

  Args:
    model_dir: run directory (see the module docstring).
    num_steps: DRPM-VAE training steps (the run ends there; rerunning a
      finished run does nothing, rerunning an interrupted one resumes).
    batch_size: `n`, the number of elements the DRPM partitions per step.
    learning_rate: Adam learning rate of the DRPM-VAE stage.
    prior_init: 'mixture' (autoencoder pretraining, then the priors, `omega_p`
      and, with `initialize_heads`, the partition heads from a Gaussian
      mixture on the encoder means) or 'random'.
    pretrain_steps: autoencoder pretraining steps (0: none).
    pretrain_batch_size: batch size of pretraining.
    pretrain_learning_rate: Adam learning rate of pretraining.
    initialize_heads: with 'mixture', set the partition heads to the mixture's
      posterior (`pretraining.initialize_partition_heads`), at the
      initialization and at every refit (keeping the learned score scale).
    head_score_scale: the score scale `lambda` those heads start with.
    refit_every: with 'mixture', refit the mixture (warm-started from the
      current priors) every this many training steps (0: never) ...
    refit_until: ... up to this training step.
    freeze_encoder: keep the encoder's hidden layers at their pretrained values
      during DRPM-VAE training.
    checkpoint_every: steps (of either stage) between checkpoints.
    log_every: steps between TensorBoard/progress updates.
    seed: seed of the batch orders, the model and the mixture fits.
    overwrite: delete an existing `model_dir` first instead of resuming.
    progress: show progress bars.

  Returns:
    The trained model.
  """
  data = datasets.load_dataset()
  _check_arguments(len(data.x_train), batch_size, pretrain_batch_size,
                   prior_init, num_steps, pretrain_steps, refit_every,
                   refit_until)
  if overwrite and os.path.exists(model_dir):
    shutil.rmtree(model_dir)
  os.makedirs(model_dir, exist_ok=True)
  input_dim = data.x_train.shape[1]
  model = DRPMVAE(input_dim=input_dim, seed=seed)
  optimizer = tf.keras.optimizers.Adam(learning_rate)
  model.compile(optimizer=optimizer)
  pretrain_optimizer = tf.keras.optimizers.Adam(pretrain_learning_rate)
  pretrained = tf.Variable(0, dtype=tf.int64, name='pretrain_steps_done')
  initialized = tf.Variable(0, dtype=tf.int64, name='mixture_initialized')
  seconds = tf.Variable([0., 0.], dtype=tf.float64, name='stage_seconds')
  checkpoint = tf.train.Checkpoint(
      model=model, optimizer=optimizer, pretrain_optimizer=pretrain_optimizer,
      pretrain_steps_done=pretrained, mixture_initialized=initialized,
      stage_seconds=seconds)
  manager = tf.train.CheckpointManager(
      checkpoint, os.path.join(model_dir, 'checkpoints'), max_to_keep=3)
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
  resumed_from = dict(pretrain=int(pretrained.numpy()),
                      train=int(optimizer.iterations.numpy()))
  with open(os.path.join(model_dir, OPERATIVE_CONFIG), 'w') as f:
    f.write(gin.operative_config_str())
  writer = tf.summary.create_file_writer(os.path.join(model_dir, 'tensorboard'))

  def save(stage, began):
    seconds.assign_add(tf.constant(
        [time.time() - began, 0.] if stage == 0 else [0., time.time() - began],
        tf.float64))
    _assert_finite(model, f'{("pretraining", "training")[stage]} checkpoint')
    manager.save(checkpoint_number=int(pretrained.numpy()) +
                 int(initialized.numpy()) + int(optimizer.iterations.numpy()))
    return time.time()

  # Stage 1: autoencoder pretraining and the mixture initialization.
  pretrain_loss = None
  began = time.time()
  step_fn = tf.function(_pretrain_step(model, pretrain_optimizer),
                        input_signature=[tf.TensorSpec(
                            [pretrain_batch_size, input_dim], tf.float32)])
  bar = _progress_bar(progress, pretrain_steps, int(pretrained.numpy()),
                      'pretrain')
  for step in range(int(pretrained.numpy()), pretrain_steps):
    loss = step_fn(tf.constant(data.x_train[_batch_indices(
        len(data.x_train), pretrain_batch_size, step, seed,
        _PRETRAIN_STREAM)]))
    pretrained.assign(step + 1)
    done = step + 1
    if done % log_every == 0 or done % checkpoint_every == 0 or (
        done == pretrain_steps):
      pretrain_loss = float(loss)
      if not np.isfinite(pretrain_loss):
        raise FloatingPointError(f'Non-finite pretraining loss at step {done}.')
      with writer.as_default(step=done):
        tf.summary.scalar('pretrain/recon', pretrain_loss)
      if bar is not None:
        bar.set_postfix(recon=f'{pretrain_loss:.3f}', refresh=False)
    if bar is not None:
      bar.update(1)
    if done % checkpoint_every == 0 or done == pretrain_steps:
      began = save(0, began)
  if bar is not None:
    bar.close()
  if prior_init == 'mixture' and not int(initialized.numpy()):
    mixture = _fit_mixture(model, data.x_train, seed)
    pretraining.initialize_posterior_variance(model, mixture.covariances_)
    if initialize_heads:
      pretraining.initialize_partition_heads(model, mixture, head_score_scale)
    initialized.assign(1)
    # Kept apart from the rotating checkpoints, to evaluate stage 1 alone.
    tf.train.Checkpoint(model=model).write(
        os.path.join(model_dir, INITIALIZATION, 'model'))
    began = save(0, began)

  # Stage 2: DRPM-VAE training.
  if freeze_encoder:
    model.encoder.trainable = False
  began = time.time()
  train_step = tf.function(
      model.train_step,
      input_signature=[tf.TensorSpec([batch_size, input_dim], tf.float32)])
  start = int(optimizer.iterations.numpy())
  bar = _progress_bar(progress, num_steps, start, 'train')
  terms = {}
  for step in range(start, num_steps):
    batch = data.x_train[_batch_indices(len(data.x_train), batch_size, step,
                                        seed)]
    terms = train_step(tf.constant(batch))
    done = step + 1
    if done % log_every == 0 or done % checkpoint_every == 0 or (
        done == num_steps):
      values = _to_python(terms)
      if not np.isfinite(values['loss']):
        raise FloatingPointError(f'Non-finite loss at step {done}: {values}')
      with writer.as_default(step=done):
        for key, value in values.items():
          tf.summary.scalar(key, value)
      if bar is not None:
        bar.set_postfix(loss=f"{values['loss']:.3f}", refresh=False)
    if bar is not None:
      bar.update(1)
    if refit_every and done % refit_every == 0 and done <= refit_until:
      mixture = _fit_mixture(model, data.x_train, seed,
                             warm_start=pretraining.current_priors(model))
      if initialize_heads:
        pretraining.initialize_partition_heads(
            model, mixture, float(model.score_scale.numpy()))
    if done % checkpoint_every == 0 or done == num_steps:
      began = save(1, began)
  if bar is not None:
    bar.close()
  writer.flush()
  if terms or pretrain_loss is not None:
    pretrain_seconds, train_seconds = (float(v) for v in seconds.numpy())
    write_json_atomically(os.path.join(model_dir, 'results', 'train.json'), dict(
        dataset=data.name, steps=num_steps, pretrain_steps=pretrain_steps,
        prior_init=prior_init, resumed_from=resumed_from,
        pretrain_seconds=pretrain_seconds, train_seconds=train_seconds,
        seconds=pretrain_seconds + train_seconds, batch_size=batch_size,
        seed=seed, cpu_count=os.cpu_count(),
        load_average_at_end=os.getloadavg()[0],
        final_pretrain_recon=pretrain_loss,
        final_terms=_to_python(terms) if terms else None))
  return model


def _check_stage(stage):
  if stage not in _STAGES:
    raise ValueError(f'Argument `stage` must be one of {_STAGES}, got '
                     f'{stage!r}.')


def load_trained_model(model_dir, stage='final'):
  """Rebuilds the model of `model_dir` from its gin config and a checkpoint.

  `stage`: 'final' (the latest checkpoint) or 'initialization' (the model right
  after the mixture initialization, before DRPM-VAE training).
  """
  _check_stage(stage)
  config = os.path.join(model_dir, OPERATIVE_CONFIG)
  if stage == INITIALIZATION:
    checkpoints = os.path.join(model_dir, INITIALIZATION)
    latest = os.path.join(checkpoints, 'model')
    if not tf.io.gfile.exists(latest + '.index'):
      latest = None
  else:
    checkpoints = os.path.join(model_dir, 'checkpoints')
    latest = tf.train.latest_checkpoint(checkpoints)
  if not os.path.isfile(config) or latest is None:
    raise FileNotFoundError(f'{model_dir!r} holds no {stage} model (expected '
                            f'{OPERATIVE_CONFIG} and a checkpoint in '
                            f'{checkpoints!r}).')
  gin.parse_config_file(config)
  data = datasets.load_dataset()
  seed = gin.query_parameter('train_generative.seed')
  model = DRPMVAE(input_dim=data.x_train.shape[1], seed=seed)
  tf.train.Checkpoint(model=model).restore(latest).expect_partial()
  return model, data


def clustering_accuracy(labels, clusters):
  """Accuracy under the best one-to-one cluster-to-label map (Hungarian)."""
  labels = np.asarray(labels)
  clusters = np.asarray(clusters)
  size = max(labels.max(), clusters.max()) + 1
  counts = np.zeros((size, size), dtype=np.int64)
  np.add.at(counts, (clusters, labels), 1)
  rows, cols = optimize.linear_sum_assignment(-counts)
  return counts[rows, cols].sum() / len(labels)


def clustering_scores(labels, clusters):
  return dict(acc=float(clustering_accuracy(labels, clusters)),
              nmi=float(sk_metrics.normalized_mutual_info_score(labels,
                                                                clusters)),
              ari=float(sk_metrics.adjusted_rand_score(labels, clusters)))


def posterior_agreement(model, x, batch_size, num_samples=100, seed=0):
  """How often the DRPM posterior puts an element in its evaluation cluster.

  For consecutive batches of `batch_size` rows of `x` (the remainder is
  dropped, as in training), `num_samples` hard partitions `Y ~ q(Y | X)` at
  the final annealing temperature: the mean of `Y[c(x_i), i]`, where `c(x)` is
  the evaluation's cluster (`DRPMVAE.predict_clusters`). 1 means the partition
  the model trains with agrees with the priors it is evaluated by.
  """
  temperature = model.schedules['temperature'].final
  shares = []
  for b, start in enumerate(range(0, len(x) - batch_size + 1, batch_size)):
    batch = x[start:start + batch_size]
    _, _, h = model.encode(batch)
    log_weights, log_scores = model.partition_parameters(h)
    partition = DifferentiableRandomPartition(
        log_weights, log_scores, temperature).sample(
            num_samples, seed=tf.constant([seed, b])).numpy()
    clusters = model.predict_clusters(batch)
    shares.append(partition[:, clusters, np.arange(batch_size)].mean())
  if not shares:
    raise ValueError(f'Argument `x` has {len(x)} rows, fewer than '
                     f'`batch_size` = {batch_size}.')
  return float(np.mean(shares))


def evaluate_generative(model_dir, seed=0, samples_per_prior=100,
                        stage='final'):
  """Clustering scores and prior purity of the model in `model_dir`.

  ACC/NMI/ARI on the held-out split of the model (a test image goes to
  `argmax_k N(mu(x); mu_k, sigma_k^2)`, see the module docstring) and of
  k-means (K clusters, 10 restarts, `seed`) fit on the training pixels; and
  the prior purity (`prior_purity.prior_purity`, `samples_per_prior` decoded
  samples per prior, labeled by a classifier fit on the labeled training
  images, whose held-out accuracy is reported with it); and the
  `posterior_agreement` on held-out batches of the training batch size. `stage` as in
  `load_trained_model`. Writes `<model_dir>/results/evaluation.json`
  (`evaluation_initialization.json` for the initialization).
  """
  model, data = load_trained_model(model_dir, stage)
  model_scores = clustering_scores(data.y_test, model.predict_clusters(
      data.x_test))
  kmeans = sk_cluster.KMeans(n_clusters=model.num_clusters, n_init=10,
                             random_state=seed).fit(data.x_train)
  kmeans_scores = clustering_scores(data.y_test, kmeans.predict(data.x_test))
  classifier = prior_purity.train_digit_classifier(data.x_train, data.y_train,
                                                   seed=seed)
  purity = prior_purity.prior_purity(model, classifier, samples_per_prior,
                                     seed=seed)
  purity['classifier_test_accuracy'] = float(classifier.score(data.x_test,
                                                              data.y_test))
  batch_size = min(gin.query_parameter('train_generative.batch_size'),
                   len(data.x_test))
  model_scores['posterior_agreement'] = posterior_agreement(
      model, data.x_test, batch_size, seed=seed)
  result = dict(dataset=data.name, num_test=len(data.x_test),
                num_clusters=model.num_clusters, stage=stage,
                model=model_scores, kmeans=kmeans_scores, kmeans_seed=seed,
                prior_purity=purity)
  name = ('evaluation.json' if stage == 'final' else
          f'evaluation_{stage}.json')
  write_json_atomically(os.path.join(model_dir, 'results', name), result)
  return result


def format_evaluation(result):
  """Markdown tables of an `evaluate_generative` result."""
  stage = ('' if result['stage'] == 'final' else
           f", the model at its {result['stage']}")
  lines = [f"Held-out {result['dataset']} ({result['num_test']} images, "
           f"K = {result['num_clusters']}{stage})", '',
           '| method | ACC | NMI | ARI |', '|---|---|---|---|']
  for name, key in (('DRPM-VAE', 'model'), ('k-means (pixels)', 'kmeans')):
    s = result[key]
    lines.append(f"| {name} | {s['acc']:.3f} | {s['nmi']:.3f} | "
                 f"{s['ari']:.3f} |")
  purity = result['prior_purity']
  lines += [
      '', 'DRPM posterior partitions of held-out batches put '
      f"{result['model']['posterior_agreement']:.3f} of the elements in the "
      'subset of their evaluation cluster.',
      '', f"Prior purity ({purity['samples_per_prior']} decoded samples per "
      'prior, labeled by a logistic regression on the training images, '
      f"held-out accuracy {purity['classifier_test_accuracy']:.3f}): mean "
      f"majority share {purity['mean_share']:.3f}, lowest "
      f"{purity['min_share']:.3f}, {purity['distinct_digits']} distinct "
      f"digits among {len(purity['share'])} priors.", '',
      '| prior | ' + ' | '.join(str(k) for k in range(len(purity['share'])))
      + ' |', '|---|' + '---|' * len(purity['share']),
      '| majority digit | ' + ' | '.join(
          str(d) for d in purity['majority_digit']) + ' |',
      '| share | ' + ' | '.join(f'{v:.2f}' for v in purity['share']) + ' |']
  return '\n'.join(lines)

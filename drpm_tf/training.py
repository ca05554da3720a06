"""Training, restoring and evaluating the generative DRPM-VAE.

`train_generative` is gin-configurable (binding name `train_generative`). With
`prior_init = 'mixture'` a run has two stages (see `drpm_tf/pretraining.py`):

1. pretraining, `pretrain_steps` steps of reconstruction only
   (`pretrain_objective = 'autoencoder'`) or of reconstruction plus the
   contrastive terms of `drpm_tf.contrastive` (`'contrastive'`, the default of
   the authors' clustering code), with its own Adam optimizer, then a
   diagonal Gaussian mixture fit to the encoder means of all training
   images; its components become the `K` priors, its weights the prior DRPM's
   `omega_p`, and its posterior initializes the partition heads;
2. DRPM-VAE training, `num_steps` steps of the negated ELBO, optionally
   refitting the mixture (warm-started from the current priors) and the
   partition heads every `refit_every` steps up to step `refit_until` (as the
   authors' clustering code recomputes its partition parameters from the
   priors at every step), and optionally with the
   pretrained encoder frozen (`freeze_encoder`; the `z` heads, the partition
   heads, the decoder and the priors still train).

With `prior_init = 'random'` (and `pretrain_steps = 0`) only stage 2 runs, from
randomly initialized priors. `drpm_tf.generative_layout` lists the files of a
run directory.

Nothing is lost (docs/troubleshooting.md). Every setting, the dataset and the
model are checked before the run directory is touched, and `overwrite`
empties it only if it is one of our runs (`drpm_tf.run_directory`; a folder
holding anything else is never used). A run holds `<model_dir>/.run.lock`
while it trains. Each step of either stage checks, inside the compiled step,
that its loss and gradients are finite and applies the update only then; a
step that is not stops the run (`errors.TrainingDivergedError`) before
anything of it is saved, and no state with a non-finite value is ever
checkpointed.

Checkpoints are atomic: TensorFlow writes the checkpoint files first and then
atomically replaces the `checkpoint` state file, so an interrupted save leaves
the previous checkpoint as the latest one; a checkpoint whose files were
damaged later is skipped on resume and moved to `checkpoints/damaged/`
(`drpm_tf.checkpointing`). Checkpoints are written every `checkpoint_every`
steps of either stage, right after the mixture initialization, and at the end.
A resumed run may change the settings in `RESUMABLE_BINDINGS` (the learning
rates restored with the optimizers are replaced by the configured ones) and
refuses any other change. The batch
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

import math
import numbers
import os
import time

import gin
import numpy as np
import tensorflow as tf
from scipy import optimize
from sklearn import cluster as sk_cluster
from sklearn import metrics as sk_metrics

from drpm_tf import checkpointing
from drpm_tf import contrastive
from drpm_tf import datasets
from drpm_tf import errors
from drpm_tf import generative_layout as layout
from drpm_tf import gin_config
from drpm_tf import pretraining
from drpm_tf import prior_purity
from drpm_tf import run_directory
from drpm_tf.distributions import DifferentiableRandomPartition
from drpm_tf.models import DRPMVAE

__all__ = ['train_generative', 'train_with_gin', 'load_trained_model',
           'evaluate_generative', 'format_evaluation', 'print_evaluation',
           'posterior_agreement', 'clustering_accuracy', 'clustering_scores']

RUN_KIND = 'drpm-train-generative'
# Settings a resumed run may change. They take effect from the resumed step:
# the learning rates are re-set after restoring the optimizers, a larger
# `num_steps` trains on (the annealing is `drpm_vae.anneal_steps`', unchanged),
# the MNIST file may have moved. Changes are recorded; any other is refused.
RESUMABLE_BINDINGS = frozenset(
    ['train_generative.' + name for name in (
        'num_steps', 'learning_rate', 'pretrain_learning_rate',
        'checkpoint_every', 'log_every', 'progress', 'overwrite')] +
    ['load_dataset.path'])
_STAGES = ('final', layout.INITIALIZATION)
_PRIOR_INITS = ('random', 'mixture')
_PRETRAIN_OBJECTIVES = ('autoencoder', 'contrastive')
_STAGE_NAMES = ('pretraining (stage 1)',
                'DRPM-VAE training (stage 2)')
_RATE_BINDINGS = ('train_generative.pretrain_learning_rate',
                  'train_generative.learning_rate')
# Batch-order streams of the two stages: `rng([seed, *stream, epoch])`.
_TRAIN_STREAM = ()
_PRETRAIN_STREAM = (1,)


def _log(message):
  print(message, flush=True)


def _batch_indices(num_examples, batch_size, step, seed, stream=_TRAIN_STREAM):
  """Row indices of batch `step`: epoch-wise permutations seeded by (seed, epoch)."""
  per_epoch = num_examples // batch_size
  epoch, position = divmod(int(step), per_epoch)
  order = np.random.default_rng([seed, *stream, epoch]).permutation(
      num_examples)
  return order[position * batch_size:(position + 1) * batch_size]


def _to_python(terms):
  return {k: float(v) for k, v in terms.items()}


def _check_settings(settings):
  """Checks `train_generative`'s arguments (a dict) before anything runs."""
  name = lambda arg: 'train_generative.' + arg  # noqa: E731
  if settings['prior_init'] not in _PRIOR_INITS:
    raise errors.ConfigError(
        f"{name('prior_init')} must be one of {_PRIOR_INITS}; got "
        f"{settings['prior_init']!r}.")
  for arg in ('num_steps', 'batch_size', 'pretrain_batch_size',
              'checkpoint_every', 'log_every'):
    settings[arg] = errors.check_count(name(arg), settings[arg])
  for arg in ('pretrain_steps', 'refit_every', 'refit_until', 'seed'):
    settings[arg] = errors.check_count(name(arg), settings[arg], minimum=0)
  for arg in ('learning_rate', 'pretrain_learning_rate', 'head_score_scale'):
    value = settings[arg]
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or
        not math.isfinite(value) or value <= 0):
      raise errors.ConfigError(f'{name(arg)} must be a finite number > 0; got '
                               f'{value!r}.')
    settings[arg] = float(value)
  for arg in ('initialize_heads', 'freeze_encoder', 'progress'):
    settings[arg] = bool(settings[arg])
  if settings['pretrain_objective'] not in _PRETRAIN_OBJECTIVES:
    raise errors.ConfigError(
        f"{name('pretrain_objective')} must be one of {_PRETRAIN_OBJECTIVES}; "
        f"got {settings['pretrain_objective']!r}.")
  if settings['refit_every'] and settings['prior_init'] != 'mixture':
    raise errors.ConfigError(f"{name('refit_every')} needs "
                             f"{name('prior_init')} = 'mixture'.")


def _check_batch_sizes(settings, data):
  for arg in ('batch_size', 'pretrain_batch_size'):
    if settings[arg] > len(data.x_train):
      raise errors.ConfigError(
          f'train_generative.{arg} ({settings[arg]}) exceeds the '
          f'{len(data.x_train)} training examples of {data.name!r}.')


def _check_run_kind(model_dir, overwrite):
  """Refuses to resume a run directory of another of our trainers."""
  kind = run_directory.run_kind(model_dir)
  if kind not in (None, RUN_KIND) and not overwrite:
    raise errors.RunDirectoryError(
        f'{model_dir} holds a {kind} run, not a {RUN_KIND} run; use another '
        '--model_dir (or --overwrite to replace that run).')


def _prepare_run_directory(model_dir, overwrite):
  """Under the run lock: empties our run for `overwrite`, else checks that
  the directory is usable; then marks it as ours."""
  if overwrite:
    run_directory.clear_run(model_dir, layout.LEGACY_SIGNATURES)
  else:
    run_directory.check_usable(model_dir, layout.LEGACY_SIGNATURES)
  run_directory.mark(model_dir, RUN_KIND)


def _run_config(settings):
  """The gin bindings in force: those parsed, then `train_generative`'s
  arguments as called (defaults and Python arguments included; gin gives the
  later of two bindings)."""
  lines = [gin.config_str().rstrip(), '',
           '# train_generative as called (defaults and arguments included).']
  lines += [f'train_generative.{key} = {value!r}'
            for key, value in sorted(settings.items())]
  return '\n'.join(lines) + '\n'


def _guarded_step(loss_fn, variables, optimizer, input_spec):
  """The compiled step of a stage: `x -> (terms, finite)`.

  The update is applied only when `terms['loss']` and every gradient are
  finite; the caller stops at a step that returns `finite = False`.
  """
  @tf.function(input_signature=[input_spec])
  def step(x):
    with tf.GradientTape() as tape:
      terms = loss_fn(x)
    grads = tape.gradient(terms['loss'], variables)
    finite = checkpointing.all_finite(terms['loss'], grads)
    if finite:
      optimizer.apply_gradients(zip(grads, variables))
    return terms, finite
  return step


def _diverged(stage, step, loss, manager, resumed_at):
  """The error of a non-finite step `step` (1-based) of `stage` (0 or 1)."""
  last = manager.latest_checkpoint
  kept = (f'the last good checkpoint ({last}) is kept' if last else
          'no checkpoint had been written yet')
  advice = (f'Lower {_RATE_BINDINGS[stage]} and rerun the same command to '
            'resume from it.' if last else
            f'Lower {_RATE_BINDINGS[stage]} and rerun the same command.')
  if resumed_at and step == resumed_at + 1:
    # The restored state itself diverges: resuming again cannot help.
    advice = ('It diverged at the first step after resuming from that '
              'checkpoint, so the checkpoint itself is already bad: start '
              f'over with a lower {_RATE_BINDINGS[stage]} and --overwrite.')
  return errors.TrainingDivergedError(
      f'The {_STAGE_NAMES[stage]} diverged at its step {step}: the loss '
      f'({loss}) or its gradients are not finite. The run stopped before '
      f'saving anything from that step; {kept}. {advice}')


def _check_finite_state(variables, stage, step):
  """Raises unless every variable about to be checkpointed is finite."""
  bad = []
  for variable in variables:
    value = np.asarray(variable.numpy())
    if value.dtype.kind == 'f' and not np.all(np.isfinite(value)):
      bad.append(variable.name)
  if bad:
    raise errors.TrainingDivergedError(
        f'After step {step} of the {_STAGE_NAMES[stage]} the state holds '
        f'non-finite values ({", ".join(bad[:5])}); it was not saved and the '
        f'last good checkpoint is kept. Lower {_RATE_BINDINGS[stage]} and '
        'rerun the same command.')


def _progress_bar(enabled, total, initial, desc):
  if not enabled or initial >= total:
    return None
  from tqdm import auto as tqdm  # pylint: disable=g-import-not-at-top
  return tqdm.tqdm(total=total, initial=initial, desc=desc, unit='step')


def _fit_mixture(model, x, seed, warm_start=None):
  means = pretraining.encode_dataset(model, x)
  if not np.all(np.isfinite(means)):
    raise errors.TrainingDivergedError(
        'The encoder maps some training images to non-finite means, so no '
        'mixture can be fit to them; nothing was saved. Lower '
        'train_generative.pretrain_learning_rate (or learning_rate) and '
        'start over with --overwrite.')
  mixture = pretraining.fit_prior_mixture(means, model.num_clusters,
                                          seed=seed, warm_start=warm_start)
  pretraining.initialize_priors(model, mixture)
  return mixture


@gin.configurable('train_generative', denylist=['model_dir'])
def train_generative(model_dir, num_steps=1000, batch_size=256,
                     learning_rate=1e-4, prior_init='random', pretrain_steps=0,
                     pretrain_batch_size=256, pretrain_learning_rate=1e-3,
                     pretrain_objective='autoencoder',
                     initialize_heads=True, head_score_scale=10.,
                     refit_every=0, refit_until=0, freeze_encoder=False,
                     checkpoint_every=500, log_every=25, seed=0,
                     overwrite=False, progress=True):
  """Trains a `DRPMVAE` on `datasets.load_dataset()` (both gin-configured).

  Every setting, the dataset and the model are checked before `model_dir` is
  touched. The run holds `<model_dir>/.run.lock` while it trains, resumes
  from the newest checkpoint that restores, and may change only the settings
  in `RESUMABLE_BINDINGS` on resume (see the module docstring).

  Args:
    model_dir: run directory (see the module docstring).
    num_steps: DRPM-VAE training steps (the run ends there; rerunning a
      finished run does nothing, rerunning an interrupted one resumes, and a
      larger `num_steps` trains on).
    batch_size: `n`, the number of elements the DRPM partitions per step.
    learning_rate: Adam learning rate of the DRPM-VAE stage.
    prior_init: 'mixture' (pretraining, then the priors, `omega_p`
      and, with `initialize_heads`, the partition heads from a Gaussian
      mixture on the encoder means) or 'random'.
    pretrain_steps: pretraining steps (0: none).
    pretrain_batch_size: batch size of pretraining.
    pretrain_learning_rate: Adam learning rate of pretraining.
    pretrain_objective: 'autoencoder' (reconstruction only, VaDE) or
      'contrastive' (`drpm_tf.contrastive.ContrastiveHeads`, configured as
      `contrastive_pretraining`; its heads are checkpointed with the run).
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
    overwrite: start over, emptying `model_dir` first (only if it is one of
      our runs) instead of resuming.
    progress: show progress bars.

  Returns:
    The trained model.

  Raises:
    ConfigError: a bad setting (a count < 1, a batch larger than the data,
      an unknown `prior_init`, a bad `DRPMVAE` argument, ...).
    MissingDataError, DataError: no usable dataset file.
    RunDirectoryError: `model_dir` is a file, not writable, in use, holds
      files that are not a run of ours, or was started with other settings.
    TrainingDivergedError: a non-finite loss or gradient.
  """
  settings = dict(
      num_steps=num_steps, batch_size=batch_size, learning_rate=learning_rate,
      prior_init=prior_init, pretrain_steps=pretrain_steps,
      pretrain_batch_size=pretrain_batch_size,
      pretrain_learning_rate=pretrain_learning_rate,
      pretrain_objective=pretrain_objective,
      initialize_heads=initialize_heads, head_score_scale=head_score_scale,
      refit_every=refit_every, refit_until=refit_until,
      freeze_encoder=freeze_encoder, checkpoint_every=checkpoint_every,
      log_every=log_every, seed=seed, progress=progress)
  _check_settings(settings)
  run_directory.check_writable(model_dir)
  # Before a lock file is created in it (checked again under the lock).
  run_directory.check_usable(model_dir, layout.LEGACY_SIGNATURES)
  _check_run_kind(model_dir, overwrite)
  data = datasets.load_dataset()
  _check_batch_sizes(settings, data)
  model = DRPMVAE(input_dim=data.x_train.shape[1], seed=settings['seed'])
  with run_directory.run_lock(model_dir):
    _prepare_run_directory(model_dir, overwrite)
    run_directory.check_config_changes(model_dir, _run_config(settings),
                                       RESUMABLE_BINDINGS, log=_log)
    return _train_in_directory(model_dir, model, data, **settings)


def train_with_gin(model_dir, overwrite=False, gin_config_files=None,
                   gin_bindings=None):
  """`drpm-train-generative`: parses gin (its mistakes are `ConfigError`s),
  then trains or resumes the run in `model_dir` (`train_generative`).

  `gin_config_files` may name the packaged configs from any directory
  (`drpm_tf/gin_configs/generative/digits_quick.gin`, see
  `drpm_tf.gin_configs`).
  """
  gin_config.parse(gin_config_files, gin_bindings)
  return train_generative(model_dir, overwrite=overwrite)


def _train_in_directory(model_dir, model, data, *, num_steps, batch_size,
                        learning_rate, prior_init, pretrain_steps,
                        pretrain_batch_size, pretrain_learning_rate,
                        pretrain_objective, initialize_heads,
                        head_score_scale, refit_every, refit_until, freeze_encoder, checkpoint_every,
                        log_every, seed, progress):
  """Restores, runs both stages and writes the results (`train_generative`)."""
  input_dim = data.x_train.shape[1]
  optimizer = tf.keras.optimizers.Adam(learning_rate)
  model.compile(optimizer=optimizer)
  pretrain_optimizer = tf.keras.optimizers.Adam(pretrain_learning_rate)
  # Built now, so that a restore reads every slot at once (a damaged file
  # fails here, not at some later step) and the steps create no variables.
  optimizer.build(model.trainable_variables)
  pretrained = tf.Variable(0, dtype=tf.int64, name='pretrain_steps_done')
  initialized = tf.Variable(0, dtype=tf.int64, name='mixture_initialized')
  seconds = tf.Variable([0., 0.], dtype=tf.float64, name='stage_seconds')
  tracked = {}
  pretrain_variables = model.autoencoder_variables
  if pretrain_objective == 'contrastive':
    heads = contrastive.ContrastiveHeads(
        model.encoder.layers[-1].units, model.latent_dim, model.num_clusters,
        data.image_shape, seed=seed)
    tracked['contrastive_heads'] = heads
    pretrain_variables = pretrain_variables + heads.variables_to_train
    pretrain_loss_fn = lambda x: heads.loss(model, x, pretrained)  # noqa: E731
  else:
    def pretrain_loss_fn(x):
      recon = model.autoencoder_loss(x)
      return dict(loss=recon, recon=recon)
  pretrain_optimizer.build(pretrain_variables)
  checkpoint = tf.train.Checkpoint(
      model=model, optimizer=optimizer, pretrain_optimizer=pretrain_optimizer,
      pretrain_steps_done=pretrained, mixture_initialized=initialized,
      stage_seconds=seconds, **tracked)
  checkpoints = os.path.join(model_dir, layout.CHECKPOINTS)
  restored = checkpointing.restore_latest(checkpoint, checkpoints, log=_log)
  resumed_from = dict(pretrain=int(pretrained.numpy()),
                      train=int(optimizer.iterations.numpy()))
  if restored:
    _log(f'Resumed from {restored} (pretraining step '
         f"{resumed_from['pretrain']}, training step {resumed_from['train']}).")
  # The configured rates, not those the checkpoint restored.
  optimizer.learning_rate.assign(learning_rate)
  pretrain_optimizer.learning_rate.assign(pretrain_learning_rate)
  manager = tf.train.CheckpointManager(checkpoint, checkpoints, max_to_keep=3)
  run_directory.write_atomic(
      os.path.join(model_dir, layout.OPERATIVE_CONFIG),
      gin.operative_config_str())
  writer = tf.summary.create_file_writer(
      os.path.join(model_dir, layout.TENSORBOARD))
  state = (model.variables + optimizer.variables +
           pretrain_optimizer.variables + [
               v for heads in tracked.values() for v in heads.head_variables])

  def save(stage, began, step):
    seconds.assign_add(tf.constant(
        [time.time() - began, 0.] if stage == 0 else [0., time.time() - began],
        tf.float64))
    _check_finite_state(state, stage, step)
    manager.save(checkpoint_number=int(pretrained.numpy()) +
                 int(initialized.numpy()) + int(optimizer.iterations.numpy()))
    return time.time()

  # Stage 1: pretraining and the mixture initialization.
  pretrain_loss = None
  began = time.time()
  step_fn = _guarded_step(
      pretrain_loss_fn, pretrain_variables, pretrain_optimizer,
      tf.TensorSpec([pretrain_batch_size, input_dim], tf.float32))
  bar = _progress_bar(progress, pretrain_steps, resumed_from['pretrain'],
                      'pretrain')
  for step in range(resumed_from['pretrain'], pretrain_steps):
    terms, finite = step_fn(tf.constant(data.x_train[_batch_indices(
        len(data.x_train), pretrain_batch_size, step, seed,
        _PRETRAIN_STREAM)]))
    if not bool(finite):
      raise _diverged(0, step + 1, float(terms['loss']), manager,
                      resumed_from['pretrain'])
    pretrained.assign(step + 1)
    done = step + 1
    if done % log_every == 0 or done % checkpoint_every == 0 or (
        done == pretrain_steps):
      values = _to_python(terms)
      pretrain_loss = values['recon']
      with writer.as_default(step=done):
        for key, value in values.items():
          tf.summary.scalar('pretrain/' + key, value)
      if bar is not None:
        bar.set_postfix(recon=f'{pretrain_loss:.3f}', refresh=False)
    if bar is not None:
      bar.update(1)
    if done % checkpoint_every == 0 or done == pretrain_steps:
      began = save(0, began, done)
  if bar is not None:
    bar.close()
  if prior_init == 'mixture' and not int(initialized.numpy()):
    mixture = _fit_mixture(model, data.x_train, seed)
    pretraining.initialize_posterior_variance(model, mixture.covariances_)
    if initialize_heads:
      pretraining.initialize_partition_heads(model, mixture, head_score_scale)
    initialized.assign(1)
    _check_finite_state(model.variables, 0, pretrain_steps)
    # Kept apart from the rotating checkpoints, to evaluate stage 1 alone.
    tf.train.Checkpoint(model=model).write(
        os.path.join(model_dir, layout.INITIALIZATION, 'model'))
    began = save(0, began, pretrain_steps)

  # Stage 2: DRPM-VAE training.
  if freeze_encoder:
    model.encoder.trainable = False
  began = time.time()
  train_step = _guarded_step(
      lambda x: model.compute_losses(x, optimizer.iterations),
      model.trainable_variables, optimizer,
      tf.TensorSpec([batch_size, input_dim], tf.float32))
  start = int(optimizer.iterations.numpy())
  if start >= num_steps and restored:
    _log(f'Nothing to train: the run is at training step {start} >= '
         f'train_generative.num_steps = {num_steps}.')
  bar = _progress_bar(progress, num_steps, start, 'train')
  terms = {}
  for step in range(start, num_steps):
    batch = data.x_train[_batch_indices(len(data.x_train), batch_size, step,
                                        seed)]
    terms, finite = train_step(tf.constant(batch))
    if not bool(finite):
      raise _diverged(1, step + 1, float(terms['loss']), manager,
                      resumed_from['train'])
    done = step + 1
    if done % log_every == 0 or done % checkpoint_every == 0 or (
        done == num_steps):
      values = _to_python(terms)
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
      began = save(1, began, done)
  if bar is not None:
    bar.close()
  writer.flush()
  if terms or pretrain_loss is not None:
    pretrain_seconds, train_seconds = (float(v) for v in seconds.numpy())
    results = os.path.join(model_dir, layout.TRAIN_RESULTS)
    run_directory.write_json(results, dict(
        dataset=data.name, steps=num_steps, pretrain_steps=pretrain_steps,
        prior_init=prior_init, pretrain_objective=pretrain_objective,
        resumed_from=resumed_from,
        pretrain_seconds=pretrain_seconds, train_seconds=train_seconds,
        seconds=pretrain_seconds + train_seconds, batch_size=batch_size,
        seed=seed, cpu_count=os.cpu_count(),
        load_average_at_end=os.getloadavg()[0],
        final_pretrain_recon=pretrain_loss,
        final_terms=_to_python(terms) if terms else None))
  return model


def _check_stage(stage):
  if stage not in _STAGES:
    raise errors.ConfigError(f'Argument `stage` must be one of {_STAGES}; got '
                             f'{stage!r}.')


def _check_selectors(config):
  """Refuses a config that binds the model under its former gin name: the
  unknown bindings would be skipped and the model built with defaults."""
  with open(config, encoding='utf-8') as f:
    if any(line.startswith('DRPMVAE.') for line in f):
      raise errors.RunDirectoryError(
          f"{config} binds the model as 'DRPMVAE', its former gin name: "
          "replace 'DRPMVAE.' by 'drpm_vae.' in it.")


def load_trained_model(model_dir, stage='final', log=_log):
  """Rebuilds the model of `model_dir` from its gin config and a checkpoint.

  `stage`: 'final' (the newest checkpoint that restores; damaged ones are
  skipped, logged and left in place) or 'initialization' (the model right
  after the mixture initialization, before DRPM-VAE training). Leaves the
  run's gin config active.

  Raises:
    RunDirectoryError: `model_dir` holds no such model, or its files are
      damaged.
  """
  _check_stage(stage)
  config = os.path.join(model_dir, layout.OPERATIVE_CONFIG)
  if stage == layout.INITIALIZATION:
    path = os.path.join(model_dir, layout.INITIALIZATION, 'model')
    found = tf.io.gfile.exists(path + '.index')
    where = os.path.join(model_dir, layout.INITIALIZATION)
  else:
    found = tf.train.get_checkpoint_state(
        os.path.join(model_dir, layout.CHECKPOINTS)) is not None
    where = os.path.join(model_dir, layout.CHECKPOINTS)
  if not os.path.isfile(config) or not found:
    raise errors.RunDirectoryError(
        f'{model_dir} holds no {stage} model of drpm-train-generative '
        f'(expected {layout.OPERATIVE_CONFIG} and a checkpoint in {where}).')
  _check_selectors(config)
  gin_config.parse([config], [], skip_unknown=True, finalize=False)
  data = datasets.load_dataset()
  seed = gin.query_parameter('train_generative.seed')
  model = DRPMVAE(input_dim=data.x_train.shape[1], seed=seed)
  checkpoint = tf.train.Checkpoint(model=model)
  if stage == layout.INITIALIZATION:
    try:
      checkpoint.read(path).expect_partial()
    except checkpointing.READ_ERRORS as error:
      raise errors.RunDirectoryError(
          f'The initialization model {path} does not restore '
          f'({checkpointing.first_line(error)}): its files are damaged. Train '
          'the run again with --overwrite to rewrite it.') from error
  elif checkpointing.restore_latest(checkpoint, where, log=log, partial=True,
                                    repair=False) is None:
    raise errors.RunDirectoryError(
        f'No checkpoint in {where} restores (see the lines above). Rerun '
        'drpm-train-generative on it to repair it and train on.')
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
  samples_per_prior = errors.check_count('samples_per_prior',
                                         samples_per_prior)
  seed = errors.check_count('seed', seed, minimum=0)
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
  run_directory.write_json(
      os.path.join(model_dir, layout.EVALUATION_RESULTS[stage]), result)
  return result


def print_evaluation(model_dir, seed=0, samples_per_prior=100, stage='final'):
  """`drpm-evaluate-generative`: `evaluate_generative`, printed as
  Markdown (`format_evaluation`); returns the result."""
  result = evaluate_generative(model_dir, seed=seed,
                               samples_per_prior=samples_per_prior,
                               stage=stage)
  print(format_evaluation(result), flush=True)
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

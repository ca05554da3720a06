"""gin-configured training of the weakly-supervised group VAEs.

`train_with_gin(model_dir, overwrite, gin_config_files, gin_bindings)` (the
console script `drpm-train-weak`, through `train_or_export`) trains a
`WeakVAE` on weak pairs, then exports it (`disentanglement_ext.export`), and
lays out `model_dir` like disentanglement_lib (`disentanglement_ext.run_layout`
lists the files): checkpoints, TensorBoard scalars, `results/` (operative gin
config, train_results.json), the TF1 Hub modules in `tfhub/` and
`postprocessed/mean/`, ready for dlib's `evaluation.evaluate`.

Resume: rerunning the same command continues from the latest checkpoint that
restores (the `checkpoint` state file, which TF rewrites atomically only after
the new checkpoint's files are complete, so an interrupted write is never
loaded; damaged files go to `checkpoints/damaged/`). Model, optimizer, step
and the model's random generator are checkpointed, and batch `i` of the data
stream is a function of (seed, i) only, so a resumed run follows the same
trajectory. A finished run (train_results.json present) is not rerun unless
`overwrite=True`, which empties `model_dir` first if it is one of our runs
(docs/troubleshooting.md).

Main gin parameters: `dataset.name`, `weak_pairs.n_s`, `weak_vae.*`
(aggregation, num_latent, beta, gamma, architecture), `train_weak.*` below and
the aggregators' own (`drpm_aggregation.*`, ...).

Multi-device training (`train_weak.strategy`): 'default' (one device, the
original code path), 'mirrored' (`tf.distribute.MirroredStrategy` over
`train_weak.devices`, default: all local GPUs, else the CPU) or 'multi_worker'
(`tf.distribute.MultiWorkerMirroredStrategy`, cluster from TF_CONFIG).
`batch_size` is the GLOBAL batch: every replica gets the same global batch and
takes its contiguous slice of `batch_size / num_replicas` pairs; each replica's
loss is its local mean divided by the number of replicas, so the all-reduced
(summed) gradients are those of the global mean loss; reported scalars are the
mean over replicas (= the global batch mean, slices being of equal size). The
sampling seeds are drawn once per step in cross-replica context and the
Gaussian noise is drawn for the global batch and sliced, so 'mirrored' on N
devices computes the same loss as 'default' for the deterministic
aggregations (label, adaptive); hg / drpm fold the replica id into their
partition-sampling seed (statistically equivalent, not bitwise equal).
Multi-worker: every worker builds the same global batch stream; only the chief
writes checkpoints, TensorBoard, results and the export (other workers write
their checkpoints to `<model_dir>/.workers/<task>`; all restore from the
chief's `checkpoints/`, so `model_dir` must be on a shared filesystem).
"""
import contextlib
import json
import os
import shutil
import sys
import time

import gin
import tensorflow as tf

from disentanglement_ext import compat  # noqa: F401  pylint: disable=unused-import
from disentanglement_ext import aggregation  # noqa: F401  (gin registration)
from disentanglement_ext import data as data_lib
from disentanglement_ext import export as export_lib
from disentanglement_ext import run_layout
from disentanglement_ext import weak_vae
from disentanglement_ext.data import image_cache
from disentanglement_ext.data import weak_pairs
from disentanglement_lib.utils import results
from drpm_tf import checkpointing
from drpm_tf import errors
from drpm_tf import gin_config
from drpm_tf import run_directory

STRATEGIES = ("default", "mirrored", "multi_worker")
RUN_KIND = "drpm-train-weak"
# Settings a resumed run may change: they take effect from the resumed step
# (the learning rate is re-set after restoring; training_steps also rescales
# the hg / drpm temperature annealing from there on) and are recorded. Any
# other change of a binding is refused.
RESUMABLE_BINDINGS = frozenset(
    "train_weak." + name for name in (
        "training_steps", "learning_rate", "checkpoint_every", "log_every",
        "max_checkpoints_to_keep", "export", "num_parallel_calls",
        "data_cache_dir", "jit_compile", "strategy", "devices"))
# Gin macros of the Table 1 sweep, which the trainer ignores.
IGNORED_BINDING_PREFIXES = ("TABLE1_",)


def is_finished(model_dir, export=True):
  """Training results written (and, with `export`, the export finished)."""
  done = os.path.exists(os.path.join(model_dir, run_layout.TRAIN_RESULTS))
  if export:
    done = done and os.path.exists(os.path.join(model_dir,
                                                run_layout.POSTPROCESS_GIN))
  return done


def make_checkpoint(model, optimizer):
  step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
  return tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)


def make_optimizer(learning_rate):
  # dlib's AdamOptimizer defaults (beta1 0.9, beta2 0.999, epsilon 1e-8).
  return tf.keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9,
                                  beta_2=0.999, epsilon=1e-8)


_STRATEGIES = {}


def make_strategy(name, devices=None):
  """The `tf.distribute` strategy called `name` (see module doc), or None.

  Strategies are cached per process: two MirroredStrategy objects in one
  process reuse the same collective instance keys, and a second training with
  a new one fails with a collective shape mismatch (measured, TF 2.15).
  """
  if name == "default":
    return None
  key = (name, tuple(devices) if devices else None)
  if key in _STRATEGIES:
    return _STRATEGIES[key]
  if name == "mirrored":
    _STRATEGIES[key] = tf.distribute.MirroredStrategy(
        devices=list(devices) if devices else None)
    return _STRATEGIES[key]
  if name == "multi_worker":
    _STRATEGIES[key] = tf.distribute.MultiWorkerMirroredStrategy()
    return _STRATEGIES[key]
  raise errors.ConfigError("Unknown strategy {!r} (gin `train_weak.strategy`); valid: "
                   "{}.".format(name, ", ".join(STRATEGIES)))


def worker_task(strategy):
  """(is_chief, task name) of this process in `strategy`'s cluster."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None:
    return True, "chief"
  cluster = resolver.cluster_spec().as_dict()
  task_type, task_id = resolver.task_type, resolver.task_id
  if not cluster or task_type is None:
    return True, "chief"
  chief = (task_type == "chief" or
           (task_type == "worker" and task_id == 0 and "chief" not in cluster))
  return chief, "{}_{}".format(task_type, task_id)


def _log(message):
  print(message, flush=True)
  sys.stdout.flush()


def _positive(name, value):
  if isinstance(value, bool) or int(value) != value or int(value) < 1:
    raise errors.ConfigError("train_weak.{} must be an integer >= 1; got "
                             "{!r}.".format(name, value))
  return int(value)


def validate_settings(training_steps, batch_size, checkpoint_every, log_every,
                      max_checkpoints_to_keep, num_parallel_calls):
  """Checks the loop settings; returns them as ints (first bad one raises)."""
  checked = [_positive(name, value) for name, value in (
      ("training_steps", training_steps), ("batch_size", batch_size),
      ("checkpoint_every", checkpoint_every), ("log_every", log_every),
      ("max_checkpoints_to_keep", max_checkpoints_to_keep))]
  if num_parallel_calls != tf.data.AUTOTUNE:
    _positive("num_parallel_calls", num_parallel_calls)
  return checked


def _feed(dataset, model, data_cache_dir):
  """Pipeline arguments: with an image cache of a procedural dataset, pairs
  at the resolution the model reads, straight from the cache; otherwise the
  dataset's own images, which the model pools inside its step (pooling in
  the Python pair pipeline instead measured 0.75-0.78x as fast on 2 cores).
  """
  if (not data_cache_dir or not hasattr(dataset, "cache_fingerprint") or
      int(dataset.observation_shape[0]) == model.input_size):
    return {}
  return dict(
      observe=image_cache.reduced_observations(
          dataset, model.input_size, data_cache_dir,
          name=gin.query_parameter("dataset.name")),
      observation_shape=model.reconstruction_shape)


def prepare_run_directory(model_dir, overwrite, export):
  """Checks `model_dir` against the request, after all settings were checked.

  Under the run lock: refuses a directory holding files that are not a run of
  ours, and a finished run without `overwrite`; with `overwrite`, empties
  the run; then marks the directory as ours.
  """
  if overwrite:
    run_directory.clear_run(model_dir, run_layout.LEGACY_SIGNATURES)
  else:
    run_directory.check_usable(model_dir, run_layout.LEGACY_SIGNATURES)
    if is_finished(model_dir, export):
      raise errors.RunDirectoryError(
          "{} already holds a finished run ({}); pass --overwrite to train "
          "again, or --export_only to redo its export.".format(
              model_dir, run_layout.TRAIN_RESULTS))
  run_directory.mark(model_dir, RUN_KIND)


def check_config_changes(model_dir, log=_log):
  """Compares this run's gin bindings with those it was started with.

  A fresh run records them (`run_config.gin`). A resumed run may change the
  bindings in `RESUMABLE_BINDINGS` (they take effect now and are appended to
  `config_changes.txt`); any other difference raises, listing them.
  """
  path = os.path.join(model_dir, run_layout.RUN_CONFIG)
  current = gin.config_str()
  if not os.path.exists(path):
    run_directory.write_atomic(path, current)
    return []
  with open(path) as f:
    saved = f.read()
  changes = [c for c in run_directory.config_changes(saved, current)
             if not c[0].startswith(IGNORED_BINDING_PREFIXES)]
  refused = [c for c in changes if c[0] not in RESUMABLE_BINDINGS]
  if refused:
    raise errors.RunDirectoryError(
        "{} was started with other settings: {}. Rerun with the saved "
        "settings ({}), or start over with --overwrite or a new "
        "--model_dir.".format(model_dir, run_directory.format_changes(refused),
                              path))
  if changes:
    message = "Resumed with changed settings: {}.".format(
        run_directory.format_changes(changes))
    log(message)
    with open(os.path.join(model_dir, run_layout.CONFIG_CHANGES), "a") as f:
      f.write(message + "\n")
    run_directory.write_atomic(path, current)
  return changes


def build_model_and_optimizer(dataset, training_steps, learning_rate,
                              random_seed, dist):
  """(model, optimizer, checkpoint), built under the strategy's scope."""
  tf.keras.utils.set_random_seed(random_seed)
  with (dist.scope() if dist is not None else contextlib.nullcontext()):
    model = weak_vae.build_model(dataset.observation_shape, training_steps,
                                 dataset.num_factors)
    # Reseed the model's stream from the run seed (independent of init).
    model.rng.reset_from_seed(random_seed + 1)
    optimizer = make_optimizer(learning_rate)
    optimizer.build(model.trainable_variables)
    checkpoint = make_checkpoint(model, optimizer)
  return model, optimizer, checkpoint


def make_train_step(model, optimizer, dist, batch_size, jit_compile):
  """The compiled training step: returns the loss terms and `finite`.

  The update is applied only when the loss and all gradients are finite
  (with a strategy: zero gradients instead); the caller stops at a step that
  returns `finite = False` and saves nothing from it.
  """
  variables = model.trainable_variables

  if dist is None:
    @tf.function(jit_compile=jit_compile)
    def train_step(x1, x2, shared, known, step):
      with tf.GradientTape() as tape:
        terms = model.compute_losses(x1, x2, shared, step, known_factor=known)
      grads = tape.gradient(terms["loss"], variables)
      finite = checkpointing.all_finite(terms["loss"], grads)
      if finite:
        optimizer.apply_gradients(zip(grads, variables))
      terms["finite"] = finite
      return terms
    return train_step

  num_replicas = dist.num_replicas_in_sync
  local_batch = int(batch_size) // num_replicas

  def replica_step(x1, x2, shared, known, step, seeds):
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    begin = tf.cast(replica, tf.int32) * local_batch
    local = lambda t: t[begin:begin + local_batch]  # noqa: E731
    seeds = tf.concat([tf.random.experimental.stateless_fold_in(
        seeds[:, 0], replica)[:, None], seeds[:, 1:]], axis=1)
    with tf.GradientTape() as tape:
      terms = model.compute_losses(local(x1), local(x2), local(shared),
                                   step, known_factor=local(known),
                                   seeds=seeds,
                                   noise_rows=(begin, int(batch_size)))
      scaled_loss = terms["loss"] / num_replicas
    grads = tape.gradient(scaled_loss, variables)
    # Sum over replicas (= gradient of the global mean loss), then apply.
    context = tf.distribute.get_replica_context()
    grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
    # Replicas cannot branch around apply_gradients (a synchronization
    # point), so a non-finite step applies zero gradients instead; the loop
    # stops right after it and saves nothing.
    total_loss = context.all_reduce(tf.distribute.ReduceOp.SUM, scaled_loss)
    finite = checkpointing.all_finite(total_loss, grads)
    grads = [tf.where(finite, g, tf.zeros_like(g)) for g in grads]
    optimizer.apply_gradients(zip(grads, variables),
                              skip_gradients_aggregation=True)
    terms["finite"] = tf.cast(finite, tf.float32)
    return terms

  @tf.function(jit_compile=jit_compile)
  def train_step(x1, x2, shared, known, step):
    # Cross-replica context: the same seeds for every replica.
    seeds = tf.cast(model.rng.make_seeds(4), tf.int32)
    per_replica = dist.run(replica_step,
                           args=(x1, x2, shared, known, step, seeds))
    terms = {key: dist.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
             for key, value in per_replica.items()}
    terms["finite"] = terms["finite"] > 0.5
    return terms
  return train_step


def _diverged(step, terms, manager, start):
  last = manager.latest_checkpoint or "none yet"
  advice = ("Lower train_weak.learning_rate and rerun the same command to "
            "resume from it.")
  if step == start + 1 and start > 0:
    # The restored state itself diverges: resuming again cannot help.
    advice = ("It diverged at the first step after resuming from that "
              "checkpoint, so the checkpoint itself is already bad: start over "
              "with a lower train_weak.learning_rate and --overwrite.")
  return errors.TrainingDivergedError(
      "Training diverged at step {}: the loss ({}) or its gradients are not "
      "finite. The run stopped before saving anything from that step; the "
      "last good checkpoint ({}) is kept. {}".format(
          step, float(terms["loss"]), last, advice))


def training_loop(train_step, pipeline, checkpoint, manager, writer, start,
                  training_steps, checkpoint_every, log_every):
  """Runs the steps `[start, training_steps)`; returns the last loss terms."""
  terms = None
  last_time, last_step = time.time(), start
  step = start
  for (x1, x2), shared, _, known in pipeline:
    terms = train_step(x1, x2, shared, known, tf.constant(step, tf.int64))
    if not bool(terms.pop("finite")):
      raise _diverged(step + 1, terms, manager, start)
    step += 1
    checkpoint.step.assign(step)
    if step % log_every == 0 or step == training_steps:
      values = {k: float(v) for k, v in terms.items()}
      now = time.time()
      rate = (step - last_step) / max(now - last_time, 1e-9)
      last_time, last_step = now, step
      _log("step {}/{}  loss {:.2f}  recon {:.2f}  kl {:.2f}  shared dims "
           "{:.2f}  ({:.2f} steps/s)".format(
               step, training_steps, values["loss"],
               values["reconstruction_loss"], values["kl_loss"],
               values.get("aggregation/num_shared_dims", float("nan")),
               rate))
      with writer.as_default(step=step):
        for key, value in values.items():
          tf.summary.scalar(key, value)
        tf.summary.scalar("steps_per_second", rate)
      writer.flush()
    if step % checkpoint_every == 0 and step < training_steps:
      manager.save(checkpoint_number=step)
  manager.save(checkpoint_number=step)
  return terms


def write_results(model_dir, terms, checkpoint, training_steps, model, n_s,
                  elapsed):
  """train_results.json etc. in dlib's layout; returns the results dict."""
  results_dict = {k.replace("/", "_"): float(v) for k, v in terms.items()}
  results_dict.update(
      global_step=int(checkpoint.step.numpy()),
      training_steps=training_steps,
      aggregation=model.aggregation_name,
      architecture=model.architecture,
      n_s=n_s,
      elapsed_time=elapsed)
  # dlib's layout: results/{gin/train.gin, json/train_results.json, ...}.
  results.update_result_directory(os.path.join(model_dir, run_layout.RESULTS),
                                  "train", results_dict)
  return results_dict


@gin.configurable("train_weak", denylist=["model_dir", "overwrite"])
def train(model_dir, overwrite=False, training_steps=300000, batch_size=64,
          random_seed=0, learning_rate=1e-4, checkpoint_every=1000,
          log_every=100, max_checkpoints_to_keep=3, export=True,
          num_parallel_calls=2, strategy="default", devices=None,
          data_cache_dir=None, jit_compile=False):
  """Trains (or resumes) a weakly-supervised VAE in `model_dir`.

  Every setting, the dataset and the model are checked before the run
  directory is touched; `overwrite` then empties it only if it is one of our
  runs (`drpm_tf.run_directory`). The run holds `<model_dir>/.run.lock` while
  it trains. A resumed run restores the newest checkpoint that restores
  (damaged ones are moved to `checkpoints/damaged/`) and may change only the
  bindings in `RESUMABLE_BINDINGS`. A step whose loss or gradients are not
  finite is not applied and stops the run (`TrainingDivergedError`).

  Args:
    model_dir: run directory.
    overwrite: start over, deleting the previous run in `model_dir`.
    training_steps: total number of optimizer steps.
    batch_size: pairs per step.
    random_seed: seed of initialization, data stream and sampling noise.
    learning_rate: Adam learning rate (dlib: 1e-4).
    checkpoint_every: steps between checkpoints (a final one is always saved).
    log_every: steps between progress lines and TensorBoard scalars.
    max_checkpoints_to_keep: CheckpointManager's max_to_keep.
    export: export the TF-Hub modules when training is done.
    num_parallel_calls: parallel batch renderers of the data pipeline.
    strategy: 'default', 'mirrored' or 'multi_worker' (module doc).
    devices: devices of the 'mirrored' strategy (None: TF's default).
    data_cache_dir: where a procedural dataset's images at the model's
      resolution are cached on disk (`disentanglement_ext.data.image_cache`);
      None: the model is fed the dataset's images and pools them in its step.
    jit_compile: compile the training step with XLA (measured slower on CPU,
      see docs/benchmarks_weak.md).

  Returns:
    The results dict written to train_results.json.

  Raises:
    ConfigError: a bad setting (unknown aggregation / dataset /
      architecture, n_s out of range, a count < 1).
    RunDirectoryError: `model_dir` is a file, not writable, in use, a
      finished run (without `overwrite`), not ours (with `overwrite`), or was
      started with other settings.
    TrainingDivergedError: a non-finite loss or gradient.
  """
  timer = time.time()
  (training_steps, batch_size, checkpoint_every, log_every,
   max_checkpoints_to_keep) = validate_settings(
       training_steps, batch_size, checkpoint_every, log_every,
       max_checkpoints_to_keep, num_parallel_calls)
  run_directory.check_writable(model_dir)
  dist, is_chief, task_name = build_strategy(strategy, devices, batch_size)
  if is_chief:
    # Before a lock file is created in it (checked again under the lock).
    run_directory.check_usable(model_dir, run_layout.LEGACY_SIGNATURES)
  dataset = data_lib.get_dataset()  # gin: dataset.name
  # Validates weak_pairs.n_s (clear error) before anything is built.
  sampler = weak_pairs.WeakPairSampler(dataset)
  model, optimizer, checkpoint = build_model_and_optimizer(
      dataset, training_steps, learning_rate, random_seed, dist)
  lock = (run_directory.run_lock(model_dir) if is_chief else
          contextlib.nullcontext())
  with lock:
    if is_chief:
      prepare_run_directory(model_dir, overwrite, export)
      check_config_changes(model_dir)
    manager = restore(model_dir, checkpoint, learning_rate,
                      max_checkpoints_to_keep, is_chief, task_name)
    feed = _feed(dataset, model, data_cache_dir)
    terms = train_steps(
        model_dir, model, optimizer, checkpoint, manager, dataset, sampler,
        dist, is_chief, task_name, feed, training_steps=training_steps,
        batch_size=batch_size, random_seed=random_seed,
        checkpoint_every=checkpoint_every, log_every=log_every,
        num_parallel_calls=num_parallel_calls, jit_compile=jit_compile)
    if not is_chief:
      return finish_worker(model_dir, checkpoint, task_name)
    if terms is None:
      terms = final_batch_terms(model, dataset, sampler, feed, training_steps,
                                batch_size, random_seed)
    return finish_chief(model_dir, model, terms, checkpoint, training_steps,
                        sampler.n_s, export, random_seed, timer)


def build_strategy(strategy, devices, batch_size):
  """(strategy or None, is_chief, task_name); the global batch must split
  evenly over the replicas."""
  # Multi-worker: the strategy must exist before other TF work.
  dist = make_strategy(strategy, devices)
  num_replicas = dist.num_replicas_in_sync if dist is not None else 1
  if batch_size % num_replicas:
    raise errors.ConfigError(
        "train_weak.batch_size = {} is not divisible by the {} replicas of "
        "strategy {!r}.".format(batch_size, num_replicas, strategy))
  if dist is not None:
    _log("Strategy {!r}: {} replica(s), {} pairs each.".format(
        strategy, num_replicas, batch_size // num_replicas))
  is_chief, task_name = worker_task(dist)
  return dist, is_chief, task_name


def restore(model_dir, checkpoint, learning_rate, max_checkpoints_to_keep,
            is_chief, task_name):
  """Restores the newest checkpoint that restores; returns the manager this
  worker saves with."""
  chief_checkpoints = os.path.join(model_dir, run_layout.CHECKPOINTS)
  restored = checkpointing.restore_latest(checkpoint, chief_checkpoints,
                                          log=_log)
  if restored:
    _log("Resumed from {} (step {}).".format(restored,
                                              int(checkpoint.step.numpy())))
  # The configured rate, not the one the checkpoint restored.
  checkpoint.optimizer.learning_rate.assign(learning_rate)
  return tf.train.CheckpointManager(
      checkpoint, chief_checkpoints if is_chief else
      os.path.join(model_dir, ".workers", task_name),
      max_to_keep=max_checkpoints_to_keep, checkpoint_name="ckpt")


def train_steps(model_dir, model, optimizer, checkpoint, manager, dataset,
                sampler, dist, is_chief, task_name, feed, *, training_steps,
                batch_size, random_seed, checkpoint_every, log_every,
                num_parallel_calls, jit_compile):
  """Trains from the restored step to `training_steps`; returns the last
  step's loss terms, or None if there was nothing left to train."""
  start = int(checkpoint.step.numpy())
  if start >= training_steps:
    _log("Checkpoint already at step {} >= training_steps {}.".format(
        start, training_steps))
    return None
  tensorboard = (os.path.join(model_dir, run_layout.TENSORBOARD) if is_chief
                 else os.path.join(model_dir, ".workers", task_name,
                                   run_layout.TENSORBOARD))
  pipeline = weak_pairs.weak_pair_dataset(
      dataset, batch_size, seed=random_seed, n_s=sampler.n_s,
      start_index=start, num_batches=training_steps - start,
      num_parallel_calls=num_parallel_calls, **feed)
  return training_loop(
      make_train_step(model, optimizer, dist, batch_size, jit_compile),
      pipeline, checkpoint, manager,
      tf.summary.create_file_writer(tensorboard), start, training_steps,
      checkpoint_every, log_every)


def final_batch_terms(model, dataset, sampler, feed, training_steps,
                      batch_size, random_seed):
  """The loss terms on batch `training_steps - 1`: what a run resumed at its
  end reports."""
  (x1, x2), shared, _, known = next(iter(weak_pairs.weak_pair_dataset(
      dataset, batch_size, seed=random_seed, n_s=sampler.n_s,
      start_index=max(training_steps - 1, 0), num_batches=1, **feed)))
  return model.compute_losses(x1, x2, shared,
                              tf.constant(training_steps, tf.int64),
                              known_factor=known)


def finish_worker(model_dir, checkpoint, task_name):
  """A non-chief worker removes its scratch checkpoints; returns None."""
  shutil.rmtree(os.path.join(model_dir, ".workers", task_name),
                ignore_errors=True)
  _log("Worker {} done at step {}.".format(task_name,
                                           int(checkpoint.step.numpy())))


def finish_chief(model_dir, model, terms, checkpoint, training_steps, n_s,
                 export, random_seed, timer):
  """Writes the results, exports the model; returns the results dict."""
  results_dict = write_results(model_dir, terms, checkpoint, training_steps,
                               model, n_s, time.time() - timer)
  if export:
    export_lib.export_model(model, model_dir, random_seed=random_seed)
    _log("Exported TF-Hub modules to {}/tfhub and "
         "{}/postprocessed/mean/tfhub.".format(model_dir, model_dir))
  _log("Done: {}".format(json.dumps(
      {k: results_dict[k] for k in ("global_step", "loss", "elapsed_time")})))
  return results_dict

def train_with_gin(model_dir, overwrite=False, gin_config_files=None,
                   gin_bindings=None):
  """Parses gin, trains, clears gin (like dlib's `train_with_gin`).

  `gin_config_files` may name the packaged configs from any directory
  (`disentanglement_ext/gin_configs/weak/quick.gin`, see
  `disentanglement_ext.gin_configs`).
  """
  try:
    gin_config.parse(gin_config_files, gin_bindings)
    return train(model_dir, overwrite=overwrite)
  finally:
    gin.clear_config()


def train_or_export(model_dir, overwrite=False, gin_config_files=None,
                    gin_bindings=None, export_only=False):
  """`drpm-train-weak`: trains (or resumes) the run in `model_dir`, or with
  `export_only` redoes the export of the finished run there
  (`export.export_run`; the gin arguments are not used then, the run's own
  train.gin is)."""
  if export_only:
    return export_lib.export_run(model_dir)
  return train_with_gin(model_dir, overwrite, gin_config_files, gin_bindings)

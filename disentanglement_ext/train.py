"""gin-configured training of the weakly-supervised group VAEs.

`train_with_gin(model_dir, overwrite, gin_config_files, gin_bindings)` (also
the console script `drpm-train-weak`) trains a `WeakVAE` on weak pairs and lays
out `model_dir` like disentanglement_lib:

    <model_dir>/checkpoints/          tf.train.CheckpointManager (ckpt-<step>)
    <model_dir>/tensorboard/          TensorBoard scalars
    <model_dir>/results/gin/train.gin             operative gin config
    <model_dir>/results/json/train_results.json   final metrics (+ train_config.json,
                                                  aggregate/train.json)
    <model_dir>/tfhub/                TF1 Hub module (gaussian_encoder, decoder,
                                      reconstructions)      [export.py]
    <model_dir>/postprocessed/mean/   `representation` module + results, ready for
                                      dlib's `evaluation.evaluate`  [export.py]

Resume: rerunning the same command continues from the latest checkpoint (the
`checkpoint` state file, which TF rewrites atomically only after the new
checkpoint's files are complete, so an interrupted write is never loaded).
Model, optimizer, step and the model's random generator are checkpointed, and
batch `i` of the data stream is a function of (seed, i) only, so a resumed run
follows the same trajectory. A finished run (train_results.json present) is
not rerun unless `overwrite=True`, which deletes `model_dir` first.

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
import numpy as np
import tensorflow as tf

from disentanglement_ext import compat  # noqa: F401  pylint: disable=unused-import
from disentanglement_ext import aggregation  # noqa: F401  (gin registration)
from disentanglement_ext import data as data_lib
from disentanglement_ext import weak_vae
from disentanglement_ext.data import image_cache
from disentanglement_ext.data import weak_pairs
from disentanglement_lib.utils import results

CHECKPOINT_SUBDIR = "checkpoints"
STRATEGIES = ("default", "mirrored", "multi_worker")
TRAIN_RESULTS = os.path.join("results", "json", "train_results.json")


POSTPROCESS_GIN = os.path.join("postprocessed", "mean", "results", "gin",
                               "postprocess.gin")


def is_finished(model_dir, export=True):
  """Training results written (and, with `export`, the export finished)."""
  done = os.path.exists(os.path.join(model_dir, TRAIN_RESULTS))
  if export:
    done = done and os.path.exists(os.path.join(model_dir, POSTPROCESS_GIN))
  return done


def build_model(observation_shape, training_steps, num_factors):
  """The gin-configured `WeakVAE` (weights built) for data with `num_factors`.

  Raises:
    ValueError: LabelVAE's single-factor rule (latent dim i <-> factor i)
      with fewer latent dims than factors.
  """
  model = weak_vae.WeakVAE(input_shape=observation_shape,
                           num_steps=training_steps)
  if (getattr(model.aggregator, "mode", None) == "single_factor" and
      model.num_latent < num_factors):
    raise ValueError(
        "weak_vae.num_latent = {} < {} factors: the 'label' aggregation ties "
        "latent dim i to factor i and needs num_latent >= num_factors.".format(
            model.num_latent, num_factors))
  return model


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
  raise ValueError("Unknown strategy {!r} (gin `train_weak.strategy`); valid: "
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


@gin.configurable("train_weak", denylist=["model_dir", "overwrite"])
def train(model_dir, overwrite=False, training_steps=300000, batch_size=64,
          random_seed=0, learning_rate=1e-4, checkpoint_every=1000,
          log_every=100, max_checkpoints_to_keep=3, export=True,
          num_parallel_calls=2, strategy="default", devices=None,
          data_cache_dir=None, jit_compile=False):
  """Trains (or resumes) a weakly-supervised VAE in `model_dir`.

  Args:
    model_dir: run directory.
    overwrite: delete `model_dir` first.
    training_steps: total number of optimizer steps.
    batch_size: pairs per step.
    random_seed: seed of initialization, data stream and sampling noise.
    learning_rate: Adam learning rate (dlib: 1e-4).
    checkpoint_every: steps between checkpoints (a final one is always saved).
    log_every: steps between progress lines and TensorBoard scalars.
    max_checkpoints_to_keep: CheckpointManager's max_to_keep.
    export: export the TF-Hub modules when training is done.
    num_parallel_calls: parallel batch renderers of the data pipeline.
    data_cache_dir: where a procedural dataset's images at the model's
      resolution are cached on disk (`disentanglement_ext.data.image_cache`;
      None: render every batch). Models reading 32x32 images are fed the
      pooled images either way.
    jit_compile: compile the training step with XLA (measured slower on CPU,
      see docs/benchmarks_weak.md).
    strategy: 'default', 'mirrored' or 'multi_worker' (module doc).
    devices: devices of the 'mirrored' strategy (None: TF's default).

  Returns:
    The results dict written to train_results.json.

  Raises:
    ValueError: finished run in `model_dir` without overwrite; bad gin values
      (unknown aggregation / dataset / architecture, n_s out of range).
  """
  # Multi-worker: the strategy must exist before other TF work.
  dist = make_strategy(strategy, devices)
  num_replicas = dist.num_replicas_in_sync if dist is not None else 1
  if int(batch_size) % num_replicas:
    raise ValueError("train_weak.batch_size = {} is not divisible by the {} "
                     "replicas of strategy {!r}.".format(batch_size,
                                                         num_replicas,
                                                         strategy))
  is_chief, task_name = worker_task(dist)
  if tf.io.gfile.isdir(model_dir):
    if overwrite:
      if is_chief:
        shutil.rmtree(model_dir)
    elif is_finished(model_dir, export):
      raise ValueError(
          "Directory {} already holds a finished run ({}); pass --overwrite "
          "to train again.".format(model_dir, TRAIN_RESULTS))
  if int(training_steps) < 1:
    raise ValueError("train_weak.training_steps must be >= 1.")
  training_steps = int(training_steps)
  timer = time.time()
  if dist is not None:
    _log("Strategy {!r}: {} replica(s), {} pairs each.".format(
        strategy, num_replicas, int(batch_size) // num_replicas))

  dataset = data_lib.get_dataset()  # gin: dataset.name
  # Validates weak_pairs.n_s (clear error) before anything is built.
  sampler = weak_pairs.WeakPairSampler(dataset)
  tf.keras.utils.set_random_seed(random_seed)
  with (dist.scope() if dist is not None else contextlib.nullcontext()):
    model = build_model(dataset.observation_shape, training_steps,
                        dataset.num_factors)
    # Reseed the model's stream from the run seed (independent of init).
    model.rng.reset_from_seed(random_seed + 1)
    optimizer = make_optimizer(learning_rate)
    optimizer.build(model.trainable_variables)
    checkpoint = make_checkpoint(model, optimizer)
  # The pairs at the resolution the model reads (pooled once, in the data
  # pipeline, instead of inside every training step).
  feed = dict(
      observe=image_cache.reduced_observations(
          dataset, model.input_size, data_cache_dir,
          name=gin.query_parameter("dataset.name")),
      observation_shape=model.reconstruction_shape)
  chief_checkpoints = os.path.join(model_dir, CHECKPOINT_SUBDIR)
  manager = tf.train.CheckpointManager(
      checkpoint, chief_checkpoints if is_chief else
      os.path.join(model_dir, ".workers", task_name),
      max_to_keep=max_checkpoints_to_keep, checkpoint_name="ckpt")
  latest = tf.train.latest_checkpoint(chief_checkpoints)
  if latest:
    checkpoint.restore(latest).assert_existing_objects_matched()
    _log("Resumed from {} (step {}).".format(latest,
                                              int(checkpoint.step.numpy())))
  start = int(checkpoint.step.numpy())

  if dist is None:
    @tf.function(jit_compile=jit_compile)
    def train_step(x1, x2, shared, known, step):
      with tf.GradientTape() as tape:
        terms = model.compute_losses(x1, x2, shared, step, known_factor=known)
      variables = model.trainable_variables
      grads = tape.gradient(terms["loss"], variables)
      optimizer.apply_gradients(zip(grads, variables))
      return terms
  else:
    local_batch = int(batch_size) // num_replicas

    def replica_step(x1, x2, shared, known, step, seeds):
      replica = tf.distribute.get_replica_context().replica_id_in_sync_group
      begin = tf.cast(replica, tf.int32) * local_batch
      local = lambda t: t[begin:begin + local_batch]
      seeds = tf.concat([tf.random.experimental.stateless_fold_in(
          seeds[:, 0], replica)[:, None], seeds[:, 1:]], axis=1)
      with tf.GradientTape() as tape:
        terms = model.compute_losses(local(x1), local(x2), local(shared),
                                     step, known_factor=local(known),
                                     seeds=seeds,
                                     noise_rows=(begin, int(batch_size)))
        scaled_loss = terms["loss"] / num_replicas
      variables = model.trainable_variables
      grads = tape.gradient(scaled_loss, variables)
      # Sum over replicas (= gradient of the global mean loss), then apply.
      grads = tf.distribute.get_replica_context().all_reduce(
          tf.distribute.ReduceOp.SUM, grads)
      optimizer.apply_gradients(zip(grads, variables),
                                skip_gradients_aggregation=True)
      return terms

    @tf.function(jit_compile=jit_compile)
    def train_step(x1, x2, shared, known, step):
      # Cross-replica context: the same seeds for every replica.
      seeds = tf.cast(model.rng.make_seeds(4), tf.int32)
      per_replica = dist.run(replica_step,
                             args=(x1, x2, shared, known, step, seeds))
      return {key: dist.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
              for key, value in per_replica.items()}

  writer = tf.summary.create_file_writer(
      os.path.join(model_dir, "tensorboard") if is_chief else
      os.path.join(model_dir, ".workers", task_name, "tensorboard"))
  terms = None
  if start < training_steps:
    pipeline = weak_pairs.weak_pair_dataset(
        dataset, batch_size, seed=random_seed, n_s=sampler.n_s,
        start_index=start, num_batches=training_steps - start,
        num_parallel_calls=num_parallel_calls, **feed)
    last_time, last_step = time.time(), start
    step = start
    for (x1, x2), shared, _, known in pipeline:
      terms = train_step(x1, x2, shared, known, tf.constant(step, tf.int64))
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
  else:
    _log("Checkpoint already at step {} >= training_steps {}.".format(
        start, training_steps))

  if not is_chief:
    shutil.rmtree(os.path.join(model_dir, ".workers", task_name),
                  ignore_errors=True)
    _log("Worker {} done at step {}.".format(task_name,
                                             int(checkpoint.step.numpy())))
    return None
  if terms is None:
    # Resumed at the end: evaluate the loss on batch `training_steps - 1`.
    (x1, x2), shared, _, known = next(iter(weak_pairs.weak_pair_dataset(
        dataset, batch_size, seed=random_seed, n_s=sampler.n_s,
        start_index=max(training_steps - 1, 0), num_batches=1, **feed)))
    terms = model.compute_losses(x1, x2, shared,
                                 tf.constant(training_steps, tf.int64),
                                 known_factor=known)
  results_dict = {k.replace("/", "_"): float(v) for k, v in terms.items()}
  results_dict.update(
      global_step=int(checkpoint.step.numpy()),
      training_steps=training_steps,
      aggregation=model.aggregation_name,
      architecture=model.architecture,
      n_s=sampler.n_s,
      elapsed_time=time.time() - timer)
  # dlib's layout: results/{gin/train.gin, json/train_results.json, ...}.
  results.update_result_directory(os.path.join(model_dir, "results"), "train",
                                  results_dict)
  if export:
    from disentanglement_ext import export as export_lib  # pylint: disable=g-import-not-at-top
    export_lib.export_model(model, model_dir, random_seed=random_seed)
    _log("Exported TF-Hub modules to {}/tfhub and "
         "{}/postprocessed/mean/tfhub.".format(model_dir, model_dir))
  _log("Done: {}".format(json.dumps(
      {k: results_dict[k] for k in ("global_step", "loss", "elapsed_time")})))
  return results_dict


def train_with_gin(model_dir, overwrite=False, gin_config_files=None,
                   gin_bindings=None):
  """Parses gin, trains, clears gin (like dlib's `train_with_gin`)."""
  gin.parse_config_files_and_bindings(gin_config_files or [],
                                      gin_bindings or [])
  try:
    return train(model_dir, overwrite=overwrite)
  finally:
    gin.clear_config()


def load_trained_model(model_dir, checkpoint_path=None):
  """Rebuilds the model of `model_dir` from its train.gin and latest checkpoint.

  Leaves the gin config of `model_dir` active (caller clears it). Returns
  (model, dataset, n_s).
  """
  gin_file = os.path.join(model_dir, "results", "gin", "train.gin")
  if not os.path.exists(gin_file):
    raise ValueError("{} not found: is {} a trained model directory?".format(
        gin_file, model_dir))
  gin.parse_config_files_and_bindings([gin_file], [], skip_unknown=True)
  training_steps = gin.query_parameter("train_weak.training_steps")
  dataset = data_lib.get_dataset()
  model = build_model(dataset.observation_shape, training_steps,
                      dataset.num_factors)
  checkpoint = tf.train.Checkpoint(model=model)
  path = checkpoint_path or tf.train.latest_checkpoint(
      os.path.join(model_dir, CHECKPOINT_SUBDIR))
  if path is None:
    raise ValueError("No checkpoint in {}.".format(
        os.path.join(model_dir, CHECKPOINT_SUBDIR)))
  checkpoint.restore(path).expect_partial()
  n_s = gin.query_parameter("weak_pairs.n_s")
  return model, dataset, n_s

"""Training, restoring and evaluating the generative DRPM-VAE.

`train_generative` is gin-configurable (binding name `train_generative`). A
run directory holds:

```none
<model_dir>/operative_config.gin   gin config of the run (written at start)
<model_dir>/checkpoints/           tf.train.CheckpointManager (model, optimizer,
                                   the model's random stream); resumed from
<model_dir>/tensorboard/           scalars of every loss term and schedule
<model_dir>/results/train.json     steps, wall time, final loss terms
<model_dir>/results/evaluation.json  written by `evaluate_generative`
```

Checkpoints are atomic: TensorFlow writes the checkpoint files first and then
atomically replaces the `checkpoint` state file, so an interrupted save leaves
the previous checkpoint as the latest one. The batch order is a pure function
of `(seed, step)`, and the model's random stream is checkpointed, so a resumed
run continues where it stopped. It is bit-identical to an uninterrupted run
when TensorFlow itself is deterministic on the CPU: with
`TF_ENABLE_ONEDNN_OPTS=0` (oneDNN sums in a load-dependent order) and
`TF_NUM_INTEROP_THREADS=1` (with concurrent ops, about one step in a hundred
rounds differently under machine load, which Adam then amplifies). With
TensorFlow's defaults a resumed run differs from an uninterrupted one only in
such rounding. `make test` sets both.
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
from drpm_tf.models import DRPMVAE

__all__ = ['train_generative', 'load_trained_model', 'evaluate_generative',
           'clustering_accuracy', 'clustering_scores']

OPERATIVE_CONFIG = 'operative_config.gin'


def _batch_indices(num_examples, batch_size, step, seed):
  """Row indices of batch `step`: epoch-wise permutations seeded by (seed, epoch)."""
  per_epoch = num_examples // batch_size
  epoch, position = divmod(int(step), per_epoch)
  order = np.random.default_rng([seed, epoch]).permutation(num_examples)
  return order[position * batch_size:(position + 1) * batch_size]


def _atomic_write_json(path, payload):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(payload, f, indent=2, sort_keys=True)
  os.replace(tmp, path)


def _to_python(terms):
  return {k: float(v) for k, v in terms.items()}


@gin.configurable('train_generative', denylist=['model_dir'])
def train_generative(model_dir, num_steps=1000, batch_size=256,
                     learning_rate=1e-4, checkpoint_every=500, log_every=25,
                     seed=0, overwrite=False, progress=True):
  """Trains a `DRPMVAE` on `datasets.load_dataset()` (both gin-configured).

  Args:
    model_dir: run directory (see the module docstring).
    num_steps: total number of training steps (the run ends there; rerunning a
      finished run does nothing, rerunning an interrupted one resumes).
    batch_size: `n`, the number of elements the DRPM partitions per step.
    learning_rate: Adam learning rate.
    checkpoint_every: steps between checkpoints (one is also written at the end).
    log_every: steps between TensorBoard/progress updates.
    seed: seed of the batch order and of the model.
    overwrite: delete an existing `model_dir` first instead of resuming.
    progress: show a progress bar.

  Returns:
    The trained model.
  """
  if overwrite and os.path.exists(model_dir):
    shutil.rmtree(model_dir)
  os.makedirs(model_dir, exist_ok=True)
  data = datasets.load_dataset()
  if batch_size > len(data.x_train):
    raise ValueError(f'Argument `batch_size` ({batch_size}) exceeds the '
                     f'{len(data.x_train)} training examples of {data.name!r}.')
  model = DRPMVAE(input_dim=data.x_train.shape[1], seed=seed)
  optimizer = tf.keras.optimizers.Adam(learning_rate)
  model.compile(optimizer=optimizer)
  checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
  manager = tf.train.CheckpointManager(
      checkpoint, os.path.join(model_dir, 'checkpoints'), max_to_keep=3)
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
  start = int(optimizer.iterations.numpy())
  with open(os.path.join(model_dir, OPERATIVE_CONFIG), 'w') as f:
    f.write(gin.operative_config_str())

  train_step = tf.function(
      model.train_step,
      input_signature=[tf.TensorSpec([batch_size, data.x_train.shape[1]],
                                     tf.float32)])
  writer = tf.summary.create_file_writer(os.path.join(model_dir, 'tensorboard'))
  bar = None
  if progress and start < num_steps:
    from tqdm import auto as tqdm  # pylint: disable=g-import-not-at-top
    bar = tqdm.tqdm(total=num_steps, initial=start, desc='train', unit='step')
  began = time.time()
  terms = {}
  for step in range(start, num_steps):
    batch = data.x_train[_batch_indices(len(data.x_train), batch_size, step,
                                        seed)]
    terms = train_step(tf.constant(batch))
    done = step + 1
    if done % log_every == 0 or done == num_steps:
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
    if done % checkpoint_every == 0 or done == num_steps:
      manager.save(checkpoint_number=done)
  if bar is not None:
    bar.close()
  writer.flush()
  if terms:
    _atomic_write_json(os.path.join(model_dir, 'results', 'train.json'), dict(
        dataset=data.name, steps=num_steps, resumed_from=start,
        seconds=time.time() - began, batch_size=batch_size, seed=seed,
        final_terms=_to_python(terms)))
  return model


def load_trained_model(model_dir):
  """Rebuilds the model of `model_dir` from its gin config and latest checkpoint."""
  config = os.path.join(model_dir, OPERATIVE_CONFIG)
  checkpoints = os.path.join(model_dir, 'checkpoints')
  latest = tf.train.latest_checkpoint(checkpoints)
  if not os.path.isfile(config) or latest is None:
    raise FileNotFoundError(f'{model_dir!r} holds no trained model (expected '
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


def evaluate_generative(model_dir, seed=0):
  """ACC/NMI/ARI of the model and of k-means on the held-out split.

  The model's cluster of `x` is `argmax_k log N(mu(x); mu_k, sigma_k^2)`.
  k-means (K clusters, 10 restarts, `seed`) is fit on the training pixels and
  predicts the held-out pixels. Writes `<model_dir>/results/evaluation.json`.
  """
  model, data = load_trained_model(model_dir)
  model_scores = clustering_scores(data.y_test, model.predict_clusters(
      data.x_test))
  kmeans = sk_cluster.KMeans(n_clusters=model.num_clusters, n_init=10,
                             random_state=seed).fit(data.x_train)
  kmeans_scores = clustering_scores(data.y_test, kmeans.predict(data.x_test))
  result = dict(dataset=data.name, num_test=len(data.x_test),
                num_clusters=model.num_clusters, model=model_scores,
                kmeans=kmeans_scores, kmeans_seed=seed)
  _atomic_write_json(os.path.join(model_dir, 'results', 'evaluation.json'),
                     result)
  return result


def format_evaluation(result):
  """Markdown table of an `evaluate_generative` result."""
  lines = [f"Held-out {result['dataset']} ({result['num_test']} images, "
           f"K = {result['num_clusters']})", '',
           '| method | ACC | NMI | ARI |', '|---|---|---|---|']
  for name, key in (('DRPM-VAE', 'model'), ('k-means (pixels)', 'kmeans')):
    s = result[key]
    lines.append(f"| {name} | {s['acc']:.3f} | {s['nmi']:.3f} | "
                 f"{s['ari']:.3f} |")
  return '\n'.join(lines)

"""Benchmark of the weakly-supervised training step and data pipeline.

    python -m scripts.bench_weak [--batch_size 64] [--steps 10]
        [--architecture conv64] [--output docs/benchmarks_weak.md]

For each aggregation: mean wall time of one `tf.function` training step
(forward + backward + Adam) on a fixed in-memory batch of weak pairs, after
warm-up (tracing excluded). Data pipeline: batches/s of
`weak_pair_dataset(synthetic_mpi3d)` at the same batch size (rendering both
views, prefetch), with no model consuming it. Targets (issue 4): DRPM step at
most 10% slower than AdaVAE; the pipeline faster than every step.
Prints a markdown table; --output also writes it to a file.
"""
import os
import platform
import time

from absl import app
from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("batch_size", 64, "Pairs per step.")
flags.DEFINE_integer("steps", 10, "Timed steps per aggregation.")
flags.DEFINE_integer("warmup", 3, "Untimed steps (tracing) per aggregation.")
flags.DEFINE_integer("repeats", 3, "Timing repeats (the median is reported).")
flags.DEFINE_string("architecture", "conv64", "conv64 (dlib) or conv32.")
flags.DEFINE_integer("pipeline_batches", 20, "Batches timed for the pipeline.")
flags.DEFINE_integer("num_parallel_calls", 2, "Pipeline renderers.")
flags.DEFINE_string("output", None, "Also write the markdown table here.")


def _make_step(aggregation, pairs, batch_size):
  """Returns a zero-argument callable running FLAGS.steps steps (traced)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from disentanglement_ext import weak_vae  # pylint: disable=g-import-not-at-top
  tf.keras.utils.set_random_seed(0)
  model = weak_vae.WeakVAE(aggregation=aggregation, num_steps=1000,
                           architecture=FLAGS.architecture)
  optimizer = tf.keras.optimizers.Adam(1e-4)
  optimizer.build(model.trainable_variables)

  @tf.function
  def step_fn(x1, x2, shared, step):
    with tf.GradientTape() as tape:
      terms = model.compute_losses(x1, x2, shared, step)
    grads = tape.gradient(terms["loss"], model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return terms["loss"]

  x1 = tf.constant(pairs.x1[:batch_size])
  x2 = tf.constant(pairs.x2[:batch_size])
  shared = tf.constant(pairs.shared_mask[:batch_size])
  for i in range(FLAGS.warmup):
    step_fn(x1, x2, shared, tf.constant(i, tf.int64)).numpy()
  del np

  def run():
    start = time.perf_counter()
    for i in range(FLAGS.steps):
      loss = step_fn(x1, x2, shared, tf.constant(i, tf.int64))
    loss.numpy()
    return (time.perf_counter() - start) / FLAGS.steps
  return run


def _time_pipeline(dataset, batch_size):
  from disentanglement_ext.data import weak_pairs  # pylint: disable=g-import-not-at-top
  pipeline = weak_pairs.weak_pair_dataset(
      dataset, batch_size, seed=0, n_s=3,
      num_batches=FLAGS.pipeline_batches + 2,
      num_parallel_calls=FLAGS.num_parallel_calls)
  iterator = iter(pipeline)
  next(iterator)
  next(iterator)  # Warm-up (graph building, first renders).
  start = time.perf_counter()
  count = 0
  for _ in iterator:
    count += 1
  return (time.perf_counter() - start) / count


def _main(unused_argv):
  import numpy as np  # pylint: disable=g-import-not-at-top
  from disentanglement_ext import aggregation  # pylint: disable=g-import-not-at-top
  from disentanglement_ext import data  # pylint: disable=g-import-not-at-top
  from disentanglement_ext.data import weak_pairs  # pylint: disable=g-import-not-at-top
  load_before = os.getloadavg()
  dataset = data.get_dataset("synthetic_mpi3d")
  bs = FLAGS.batch_size
  pairs = weak_pairs.WeakPairSampler(dataset, n_s=3).sample(
      bs, np.random.RandomState(0))
  runners = {name: _make_step(name, pairs, bs)
             for name in aggregation.AGGREGATIONS}
  # Round-robin repeats, so drifting load on a shared machine hits all alike.
  samples = {name: [] for name in runners}
  for _ in range(FLAGS.repeats):
    for name, run in runners.items():
      samples[name].append(run())
  step_times = {name: float(np.median(t)) for name, t in samples.items()}
  for name, t in step_times.items():
    print("{}: {:.1f} ms/step".format(name, 1e3 * t), flush=True)
  batch_time = _time_pipeline(dataset, bs)
  load_after = os.getloadavg()
  ada = step_times["adaptive"]
  rows = ["| aggregation | step time (ms) | vs adaptive | pairs/s |",
          "|---|---:|---:|---:|"]
  for name, t in step_times.items():
    rows.append("| {} | {:.1f} | {:+.1f}% | {:.0f} |".format(
        name, 1e3 * t, 100. * (t / ada - 1.), bs / t))
  rows.append("| data pipeline (synthetic_mpi3d, {} renderers) | {:.1f} per "
              "batch | | {:.0f} |".format(FLAGS.num_parallel_calls,
                                          1e3 * batch_time, bs / batch_time))
  drpm_overhead = step_times["drpm"] / ada - 1.
  fastest = min(step_times.values())
  lines = [
      "# Weakly-supervised training benchmark",
      "",
      "Batch {} pairs, architecture `{}`, `tf.function` steps (forward, "
      "backward, Adam) on a fixed batch, median over {} round-robin "
      "repeats of {} steps after {} warm-up steps. Machine: {} CPU(s) reported by os.cpu_count() ({}), "
      "load average {:.2f} before / {:.2f} after (the machine is shared).".format(
          bs, FLAGS.architecture, FLAGS.repeats, FLAGS.steps, FLAGS.warmup,
          os.cpu_count(), platform.processor() or platform.machine(),
          load_before[0], load_after[0]),
      "",
  ] + rows + [
      "",
      "- DRPM vs AdaVAE step time: {:+.1f}% (target <= +10%): {}.".format(
          100. * drpm_overhead, "met" if drpm_overhead <= 0.10 else "NOT met"),
      "- Data pipeline {:.1f} ms/batch vs fastest step {:.1f} ms: {}.".format(
          1e3 * batch_time, 1e3 * fastest,
          "never the bottleneck" if batch_time < fastest else
          "BOTTLENECK (the pipeline shares the same cores as training)"),
      "",
      "Command: `python -m scripts.bench_weak --batch_size {} --architecture "
      "{}`.".format(bs, FLAGS.architecture),
  ]
  table = "\n".join(lines)
  print(table)
  if FLAGS.output:
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
    with open(FLAGS.output, "w") as f:
      f.write(table + "\n")


def main():
  app.run(_main)


if __name__ == "__main__":
  main()

"""Training-step time of the generative DRPM-VAE (paper C.3 settings).

Batch 256, L = 100 partition samples, the paper's 784-500-500-2000 model, on
random inputs of MNIST size (784) and digits size (64): the step time does not
depend on the pixel values. Reports the median `tf.function` step time, the
time of an MNIST-sized epoch (235 steps; target < 2 minutes on 2 CPU cores)
and writes a markdown table.

Usage: python benchmarks/bench_generative.py [--repeats 10] [--output FILE]
"""

import argparse
import datetime
import os
import platform
import shlex
import sys
import time

import numpy as np
import tensorflow as tf

from drpm_tf.models import DRPMVAE

STEPS_PER_MNIST_EPOCH = 235


def time_step(input_dim, kl_estimator, batch_size, num_samples, repeats):
  model = DRPMVAE(input_dim=input_dim, kl_estimator=kl_estimator,
                  num_partition_samples=num_samples)
  model.compile(optimizer=tf.keras.optimizers.Adam(1e-4))
  x = tf.constant(np.random.default_rng(0).uniform(
      size=(batch_size, input_dim)).astype(np.float32))
  step = tf.function(model.train_step)
  began = time.perf_counter()
  float(step(x)['loss'])
  first = time.perf_counter() - began
  float(step(x)['loss'])
  times = []
  for _ in range(repeats):
    began = time.perf_counter()
    float(step(x)['loss'])
    times.append(time.perf_counter() - began)
  return first, float(np.median(times))


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--repeats', type=int, default=10)
  parser.add_argument('--batch_size', type=int, default=256)
  parser.add_argument('--num_samples', type=int, default=100)
  parser.add_argument('--output', default=None)
  args = parser.parse_args(argv)
  load_before = os.getloadavg()[0]
  started = datetime.datetime.now().isoformat(timespec='seconds')
  rows = []
  for input_dim in (784, 64):
    for estimator in ('bound', 'exact'):
      first, median = time_step(input_dim, estimator, args.batch_size,
                                args.num_samples, args.repeats)
      rows.append(f'| {input_dim} | {estimator} | {args.batch_size} | '
                  f'{args.num_samples} | {first:.1f} | {median:.3f} | '
                  f'{median * STEPS_PER_MNIST_EPOCH:.0f} |')
      print(rows[-1], file=sys.stderr, flush=True)
  text = '\n'.join([
      '# Generative DRPM-VAE training-step benchmark', '',
      f'- machine: `nproc` = {len(os.sched_getaffinity(0))}, '
      f'TensorFlow {tf.__version__}, Python {platform.python_version()}',
      f'- started: {started}; 1-min load average before / after: '
      f'{load_before:.2f} / {os.getloadavg()[0]:.2f}',
      f'- command: `{shlex.join([os.path.relpath(sys.executable)] + sys.argv)}`',
      '',
      'One `tf.function` training step (forward, backward, Adam update) of the '
      'paper\'s model on random inputs; median of the repeats after two '
      'warm-up steps. Target: an MNIST epoch (235 steps at batch 256, L = 100) '
      'in under 120 s.', '',
      '| input dim | KL estimator | batch n | L | first step (s) | '
      'median step (s) | 235 steps (s) |',
      '|---|---|---|---|---|---|---|'] + rows) + '\n'
  print(text)
  if args.output:
    with open(args.output, 'w', encoding='utf-8') as f:
      f.write(text)
    print(f'wrote {args.output}')


if __name__ == '__main__':
  main()

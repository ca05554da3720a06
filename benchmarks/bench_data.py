"""Throughput of the synthetic_mpi3d renderer and the weak-pair generators.

Pins numpy / TF to one thread (OMP_NUM_THREADS=1 etc., set before they are
imported) unless --threads says otherwise, and prints images/s for:
  render      SyntheticMPI3D.sample_observations_from_factors
  weak_pairs  WeakPairSampler.sample (factors + both views), images = 2 x pairs
  tf.data     weak_pair_dataset (parallel map + prefetch), same unit

Usage: python benchmarks/bench_data.py [--batch_size 64] [--seconds 3] [--threads 1]
"""
import argparse
import os
import sys
import time


def _parse_args(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--seconds", type=float, default=3.,
                      help="minimum measuring time per benchmark")
  parser.add_argument("--threads", type=int, default=1)
  return parser.parse_args(argv)


def _rate(fn, items_per_call, seconds):
  fn()  # Warm-up (allocations, tf.function tracing).
  calls, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    fn()
    calls += 1
  return calls * items_per_call / (time.perf_counter() - start)


def main(argv=None):
  args = _parse_args(argv)
  threads = str(args.threads)
  for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = threads
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.threading.set_inter_op_parallelism_threads(args.threads)
  tf.config.threading.set_intra_op_parallelism_threads(args.threads)
  from disentanglement_ext.data import get_dataset  # pylint: disable=g-import-not-at-top
  from disentanglement_ext.data import weak_pairs  # pylint: disable=g-import-not-at-top

  data = get_dataset("synthetic_mpi3d")
  random_state = np.random.RandomState(0)
  factors = data.sample_factors(args.batch_size, random_state)
  sampler = weak_pairs.WeakPairSampler(data, n_s=3)
  options = tf.data.Options()
  options.threading.private_threadpool_size = args.threads
  dataset = weak_pairs.weak_pair_dataset(
      data, args.batch_size, seed=0, n_s=3).with_options(options)
  iterator = iter(dataset)

  b = args.batch_size
  results = {
      "render": _rate(
          lambda: data.sample_observations_from_factors(factors, random_state),
          b, args.seconds),
      "weak_pairs": _rate(lambda: sampler.sample(b, random_state), 2 * b,
                          args.seconds),
      "tf.data": _rate(lambda: next(iterator), 2 * b, args.seconds),
  }
  del iterator  # Stop the pipeline before Python shuts down.
  print("threads={} batch_size={}".format(args.threads, b))
  for name, images_per_s in results.items():
    print("{:12s} {:8.0f} images/s".format(name, images_per_s))
  return 0


if __name__ == "__main__":
  sys.exit(main())

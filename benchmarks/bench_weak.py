"""Throughput of weakly-supervised training, configurations side by side.

    python benchmarks/bench_weak.py [--steps 400] [--log_every 50]
        [--baseline_ref 797b004] [--output docs/benchmarks_weak.md]

Each configuration trains the `quick` preset's `conv32` model (n_s = 3,
batch 64, data included: the real `drpm-train-weak` loop with its tf.data
pair pipeline) in `--jobs`-style concurrent processes, the way
`drpm-reproduce-table1 --jobs 2` runs a sweep on 2 cores. Throughput is read
from the trainers' own progress lines (steps/s over each `--log_every`
interval, the first interval, with tracing, dropped; median over intervals),
summed over the concurrent processes. The configurations run one after the
other in a single invocation, round-robin over `--repeats`, so that a
drifting machine load hits them alike; the load average is printed.

The `before` configuration is the code at `--baseline_ref` (checked out into
a temporary directory with `git archive`, run with it first on PYTHONPATH):
64x64 images rendered every batch and pooled inside the model's step.
"""
import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATE = re.compile(r"step (\d+)/\d+ .*\(([0-9.]+) steps/s\)")
CACHE_DIR = os.path.join("~", ".cache", "drpm_tf")

# (label, code: 'baseline' | 'current', processes, threads each, bindings).
CONFIGS = (
    ("before: 64x64 rendered per batch, pooled in the model step",
     "baseline", 2, 1, ()),
    ("current code, no image cache", "current", 2, 1, ()),
    ("+ image cache (train_weak.data_cache_dir)", "current", 2, 1,
     ("train_weak.data_cache_dir = '{}'".format(CACHE_DIR),)),
    ("+ image cache, XLA (train_weak.jit_compile)", "current", 2, 1,
     ("train_weak.data_cache_dir = '{}'".format(CACHE_DIR),
      "train_weak.jit_compile = True")),
    ("+ image cache, 1 process x 2 threads", "current", 1, 2,
     ("train_weak.data_cache_dir = '{}'".format(CACHE_DIR),)),
)


def parse_args(argv):
  parser = argparse.ArgumentParser(prog="bench_weak",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=400)
  parser.add_argument("--log_every", type=int, default=50)
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--aggregations", nargs="+",
                      default=["drpm", "adaptive"])
  parser.add_argument("--baseline_ref", default="797b004")
  parser.add_argument("--output", default=None)
  return parser.parse_args(argv)


def _code_layout(code_dir):
  """(trainer module, Table 1 gin directory) of a checkout: the baseline
  revision may predate the package layout (console scripts in `scripts/`,
  gin files in `gin_configs/`)."""
  package = os.path.join(code_dir, "disentanglement_ext")
  if os.path.isdir(os.path.join(package, "bin")):
    return ("disentanglement_ext.bin.train_weak",
            os.path.join(package, "gin_configs", "table1"))
  return "scripts.train_weak", os.path.join(code_dir, "gin_configs", "table1")


def _train_command(code_dir, model_dir, aggregation, steps, log_every,
                   bindings):
  module, gin_dir = _code_layout(code_dir)
  argv = [sys.executable, "-m", module, "--model_dir", model_dir,
          "--overwrite"]
  for name in ("base", "ns3", "quick"):
    argv += ["--gin_config", os.path.join(gin_dir, name + ".gin")]
  for binding in ("weak_vae.aggregation = '{}'".format(aggregation),
                  "train_weak.training_steps = {}".format(steps),
                  "train_weak.log_every = {}".format(log_every),
                  "train_weak.checkpoint_every = {}".format(10 * steps),
                  "train_weak.export = False") + tuple(bindings):
    argv += ["--gin_bindings", binding]
  return argv


def _env(code_dir, threads):
  env = dict(os.environ)
  env["PYTHONPATH"] = code_dir + os.pathsep + env.get("PYTHONPATH", "")
  for key in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
              "OMP_NUM_THREADS"):
    env[key] = str(threads)
  env["TF_CPP_MIN_LOG_LEVEL"] = "2"
  return env


def measure(config, code_dirs, aggregation, args, work_dir):
  """Summed steps/s of the configuration's concurrent processes."""
  label, code, processes, threads, bindings = config
  code_dir = code_dirs[code]
  procs = []
  for index in range(processes):
    model_dir = os.path.join(work_dir, "run{}".format(index))
    procs.append(subprocess.Popen(
        _train_command(code_dir, model_dir, aggregation, args.steps,
                       args.log_every, bindings),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=code_dir, env=_env(code_dir, threads)))
  total = 0.
  for proc in procs:
    out, _ = proc.communicate()
    if proc.returncode != 0:
      raise RuntimeError("{} failed:\n{}".format(label, out[-3000:]))
    rates = [float(m.group(2)) for m in RATE.finditer(out)][1:]
    total += statistics.median(rates)
  return total


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  work = tempfile.mkdtemp(prefix="bench_weak_")
  try:
    baseline = os.path.join(work, "baseline")
    os.makedirs(baseline)
    archive = subprocess.run(["git", "archive", args.baseline_ref],
                             cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", baseline], input=archive.stdout,
                   check=True)
    code_dirs = {"baseline": baseline, "current": ROOT}
    load_before = os.getloadavg()[0]
    samples = {}
    for _ in range(args.repeats):
      for aggregation in args.aggregations:
        for config in CONFIGS:
          rate = measure(config, code_dirs, aggregation, args,
                         os.path.join(work, "runs"))
          samples.setdefault((config[0], aggregation), []).append(rate)
          print("{} [{}]: {:.2f} steps/s".format(config[0], aggregation,
                                                 rate), flush=True)
    load_after = os.getloadavg()[0]
  finally:
    shutil.rmtree(work, ignore_errors=True)
  rows = ["| configuration | processes x threads | aggregation | steps/s "
          "(all processes) | ms per step and process | vs before |",
          "|---|---|---|---:|---:|---:|"]
  for aggregation in args.aggregations:
    before = statistics.median(samples[CONFIGS[0][0], aggregation])
    for label, _, processes, threads, _ in CONFIGS:
      rate = statistics.median(samples[label, aggregation])
      rows.append("| {} | {} x {} | {} | {:.2f} | {:.0f} | {:.2f}x |".format(
          label, processes, threads, aggregation, rate,
          1e3 * processes / rate, rate / before))
  lines = [
      "# Weakly-supervised training throughput",
      "",
      "The `quick` preset's `conv32` model, n_s = 3, batch 64 pairs, the real "
      "training loop (data pipeline, forward, backward, Adam); {} steps per "
      "process, steps/s from the trainers' progress lines every {} steps "
      "(first interval dropped, median), median over {} round-robin "
      "repeats, summed over the concurrent processes.".format(
          args.steps, args.log_every, args.repeats),
      "Machine: {} CPU(s) ({}, {}); load average {:.2f} before / {:.2f} "
      "after.".format(os.cpu_count(), platform.processor() or
                      platform.machine(), time.strftime("%Y-%m-%d"),
                      load_before, load_after),
      "", ] + rows + [
      "",
      "Command: `python benchmarks/bench_weak.py --steps {} --log_every {} "
      "--repeats {} --aggregations {} --baseline_ref {}`.".format(
          args.steps, args.log_every, args.repeats,
          " ".join(args.aggregations), args.baseline_ref),
      ""]
  text = "\n".join(lines)
  print(text)
  if args.output:
    with open(args.output, "w") as f:
      f.write(text)
  return 0


if __name__ == "__main__":
  sys.exit(main())

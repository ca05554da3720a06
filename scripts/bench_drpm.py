"""Forward+backward time and peak memory of one relaxed DRPM sample batch.

Two layouts of a batch of B partitions of n elements into K subsets:
- `samples`: B samples from ONE parameter set (log_weights [K], log_scores [n]),
  the generative experiment's setting (n = data batch, B = L partition samples);
- `params`: one sample from each of B independent parameter sets
  (log_weights [B, K], log_scores [B, n]), e.g. per-example DRPMs.
The exact MVHG suffix tables cost O(K n^2) per parameter set and are shared by
all samples of that set, so `params` pays them B times.

Each (n, K, B, mode) runs in a fresh subprocess (`--single n K B mode`) so that
its peak RSS is its own; a `baseline` subprocess per config (TF and drpm_tf
imported, variables built, nothing run) is subtracted. TF threading is left at
its defaults on purpose: we report what a user gets on this machine.

Usage: python scripts/bench_drpm.py [--repeats 5] [--configs 256,10,100 ...]
                                    [--modes eager function xla]
                                    [--layouts samples params] [--output FILE]
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import time

CONFIGS = [(64, 4, 16), (256, 10, 1), (256, 10, 100), (1024, 10, 8)]
MODES = ["eager", "function", "xla"]
LAYOUTS = ["samples", "params"]
TEMPERATURE = 0.5


def _build(n, k, b, layout):
  import numpy as np
  import tensorflow as tf
  rng = np.random.default_rng(0)
  batch = [b] if layout == "params" else []
  log_weights = tf.Variable(rng.normal(size=batch + [k]).astype("float32"))
  log_scores = tf.Variable(rng.normal(size=batch + [n]).astype("float32"))
  target = tf.constant(rng.normal(size=[b, k, n]).astype("float32"))
  sample_shape = () if layout == "params" else (b,)
  return log_weights, log_scores, target, sample_shape


_HLO_BYTES = {"pred": 1, "s8": 1, "u8": 1, "f16": 2, "bf16": 2, "s16": 2,
              "f32": 4, "s32": 4, "u32": 4, "f64": 8, "s64": 8, "u64": 8}


def _largest_hlo_tensor_bytes(hlo_text):
  """Largest array shape in (unoptimized) HLO, where every shape is static."""
  best = 0
  for dtype, dims in re.findall(r"\b([a-z]+\d*)\[([\d,]*)\]", hlo_text):
    if dtype in _HLO_BYTES and dims:
      best = max(best, _HLO_BYTES[dtype] * math.prod(map(int, dims.split(","))))
  return best


def run_single(n, k, b, layout, mode, repeats):
  """Runs one config in this process; returns a JSON-able dict."""
  import numpy as np
  import tensorflow as tf
  from drpm_tf.distributions import DifferentiableRandomPartition

  log_weights, log_scores, target, sample_shape = _build(n, k, b, layout)
  result = {"n": n, "K": k, "B": b, "layout": layout, "mode": mode,
            "tf": tf.__version__}
  if mode == "baseline":
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result

  def step(seed):
    with tf.GradientTape() as tape:
      drpm = DifferentiableRandomPartition(log_weights, log_scores,
                                           temperature=TEMPERATURE, hard=True)
      y = drpm.sample(sample_shape, seed=seed)
      loss = tf.reduce_sum(y * target)
    grads = tape.gradient(loss, [log_weights, log_scores])
    return loss, grads

  plain_step = step
  if mode == "function":
    step = tf.function(step)
  elif mode == "xla":
    step = tf.function(step, jit_compile=True)

  def timed(i):
    seed = tf.constant([i, 7], tf.int32)
    start = time.perf_counter()
    loss, grads = step(seed)
    # Fetching the values makes sure all pending work is finished.
    values = [loss.numpy()] + [g.numpy() for g in grads]
    elapsed = time.perf_counter() - start
    if not all(np.all(np.isfinite(v)) for v in values):
      raise FloatingPointError("non-finite loss or gradient")
    return elapsed

  result["first_call_s"] = timed(0)
  timed(1)  # A second warm-up: some caches fill only on the second call.
  result["median_s"] = float(np.median([timed(2 + i) for i in range(repeats)]))
  result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  try:
    # After the RSS reading so that it does not count. Pre-optimization HLO has
    # static shapes for every op (a TF graph does not), before XLA fusion.
    hlo = tf.function(plain_step, jit_compile=True).experimental_get_compiler_ir(
        tf.constant([0, 7], tf.int32))(stage="hlo")
    result["largest_tensor_bytes"] = _largest_hlo_tensor_bytes(hlo)
  except Exception:  # pylint: disable=broad-except
    pass  # Only an estimate: never let it fail the benchmark.
  return result


def _child(n, k, b, layout, mode, repeats, timeout):
  cmd = [sys.executable, os.path.abspath(__file__), "--single", str(n), str(k),
         str(b), layout, mode, "--repeats", str(repeats)]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  try:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)
  except subprocess.TimeoutExpired:
    return {"error": f"timeout after {timeout}s"}
  for line in reversed(proc.stdout.splitlines()):
    if line.startswith("{"):
      return json.loads(line)
  tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
  return {"error": f"exit {proc.returncode}: {tail[:120]}"}


def _cpu_model():
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or "unknown"


def _git_revision():
  try:
    rev = subprocess.run(["git", "describe", "--always", "--dirty"],
                         capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.abspath(__file__)))
    return rev.stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return "unknown"


def _fmt_mib(num_bytes):
  return f"{num_bytes / 2**20:.1f}" if num_bytes is not None else "-"


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--configs", nargs="+", default=None,
                      help="subset of n,K,B triples, e.g. 256,10,100")
  parser.add_argument("--modes", nargs="+", default=MODES, choices=MODES)
  parser.add_argument("--layouts", nargs="+", default=LAYOUTS, choices=LAYOUTS)
  parser.add_argument("--output", default=None, help="markdown file to write")
  parser.add_argument("--timeout", type=int, default=900,
                      help="seconds per subprocess")
  parser.add_argument("--single", nargs=5,
                      metavar=("N", "K", "B", "LAYOUT", "MODE"),
                      help=argparse.SUPPRESS)
  args = parser.parse_args(argv)

  if args.single:
    n, k, b = map(int, args.single[:3])
    print(json.dumps(run_single(n, k, b, args.single[3], args.single[4],
                                args.repeats)))
    return

  configs = ([tuple(int(v) for v in c.split(",")) for c in args.configs]
             if args.configs else CONFIGS)
  rows, tf_version = [], "unknown"
  load_before, started = os.getloadavg(), datetime.datetime.now()
  for (n, k, b), layout in [(c, l) for l in args.layouts for c in configs]:
    base = _child(n, k, b, layout, "baseline", args.repeats, args.timeout)
    tf_version = base.get("tf", tf_version)
    for mode in args.modes:
      res = _child(n, k, b, layout, mode, args.repeats, args.timeout)
      if "error" in res:
        row = [n, k, b, layout, mode, "-", "-", "-", "-", res["error"]]
      else:
        rss = None
        if "maxrss_kb" in base:  # ru_maxrss is in KiB on Linux.
          rss = (res["maxrss_kb"] - base["maxrss_kb"]) * 1024
        row = [n, k, b, layout, mode, f"{res['first_call_s']:.3f}",
               f"{res['median_s']:.4f}", _fmt_mib(rss),
               _fmt_mib(res.get("largest_tensor_bytes")), ""]
      rows.append(row)
      print(" | ".join(map(str, row)), file=sys.stderr, flush=True)

  header = ["n", "K", "B", "layout", "mode", "first call (s)",
            f"median fwd+bwd (s), {args.repeats} reps",
            "peak RSS over baseline (MiB)", "largest tensor (MiB)", "note"]
  table = ["| " + " | ".join(header) + " |",
           "|" + "---|" * len(header)]
  table += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
  command = shlex.join([os.path.relpath(sys.executable)] + sys.argv)
  text = "\n".join([
      "# DRPM sampling benchmark",
      "",
      f"- machine: `nproc` = {len(os.sched_getaffinity(0))}, {_cpu_model()}",
      f"- TensorFlow {tf_version}, Python {platform.python_version()},"
      " default TF threading",
      f"- started: {started.isoformat(timespec='seconds')}",
      # Other processes on the machine distort the timings: say so.
      "- 1-min load average before / after: "
      f"{load_before[0]:.2f} / {os.getloadavg()[0]:.2f}",
      f"- command: `{command}` (git {_git_revision()})",
      "",
      "B relaxed DRPM samples (hard=True, temperature 0.5): layout"
      " `samples` = B samples of one parameter set (log_weights [K],"
      " log_scores [n]; the generative experiment: n = data batch, B = L),"
      " layout `params` = one sample of each of B independent parameter sets"
      " (log_weights [B, K], log_scores [B, n]). Loss = sum(Y * fixed random"
      " tensor), gradient w.r.t. both parameters."
      " 'first call' includes tracing/XLA compilation; the median excludes it"
      " (after two warm-up calls). Peak RSS is the subprocess's ru_maxrss minus"
      " that of a subprocess that only imports TF and builds the variables."
      " 'largest tensor' is the biggest array in the computation's HLO before"
      " XLA fusion (an estimate of the biggest intermediate; the same"
      " computation in every mode, XLA may fuse it away).",
      "",
  ] + table) + "\n"
  print(text)
  if args.output:
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
      f.write(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
  main()

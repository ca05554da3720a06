"""DRPM sampling: forward+backward time, first call and memory, before vs after.

Compares the current `drpm_tf.distributions` with a baseline revision of the
same package (default: the last commit before the sampling speed-up), side by
side in one run. The baseline is read from git (`git show REV:path`) into a
temporary package `drpm_baseline.distributions` that only this script imports;
the library keeps no old code path.

Two layouts of a batch of B partitions of n elements into K subsets:
- `samples`: B samples from ONE parameter set (log_weights [K], log_scores [n]),
  the generative experiment's setting (n = data batch, B = L partition samples);
- `params`: one sample from each of B independent parameter sets
  (log_weights [B, K], log_scores [B, n]), e.g. per-example DRPMs.

Each measurement runs in a fresh subprocess (`--single ...`), so that its first
call (tracing, XLA compilation) and its peak RSS are its own; a `baseline`
subprocess per config (TF and drpm_tf imported, variables built, nothing run)
is subtracted from the RSS. The before/after subprocesses alternate, and the
whole comparison is repeated `--rounds` times: other processes share the
machine, so the speed-up reported is the median of the per-round ratios, with
their range. TF threading is left at its defaults on purpose.

The profile section traces one config with the TF profiler (op types by time,
op executions per step) and times the two stages on their own; the NeuralSort
section compares our relaxed sort with `tfp.math.soft_sorting_matrix`.

Usage: python benchmarks/bench_drpm.py [--rounds 3] [--repeats 10]
           [--configs 256,10,100 ...] [--modes function xla eager]
           [--layouts samples params] [--baseline REV] [--output FILE]
"""
import argparse
import collections
import datetime
import glob
import json
import math
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time

CONFIGS = [(64, 4, 16), (256, 10, 10), (256, 10, 100), (1024, 10, 8)]
MODES = ["function", "xla", "eager"]
LAYOUTS = ["samples", "params"]
IMPLS = ["before", "after"]
TEMPERATURE = 0.5
# The last commit before the sampling speed-up.
BASELINE_REVISION = "797b004"
PROFILE_CONFIG = (256, 10, 10)
# Goals for tf.function fwd+bwd on 2 CPU cores: (n, K, B) -> seconds.
TARGETS = {(256, 10, 10): 0.020, (256, 10, 100): 0.100}
NEURALSORT_SHAPE = (100, 256)  # (rows, n)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _distributions(impl, baseline_dir):
  """The `distributions` package of `impl` ("before" = the baseline copy)."""
  if impl == "after":
    from drpm_tf import distributions  # pylint: disable=import-outside-toplevel
    return distributions
  sys.path.insert(0, baseline_dir)
  from drpm_baseline import distributions  # pylint: disable=import-outside-toplevel,import-error
  return distributions


def _git(*args, required=False):
  """The output of `git args...` in the repository ("unknown" on failure)."""
  try:
    return subprocess.run(["git", *args], capture_output=True, text=True,
                          check=True, cwd=REPO).stdout.strip()
  except (OSError, subprocess.CalledProcessError) as e:
    if required:
      raise SystemExit(
          f"The 'before' implementation is read with `git {' '.join(args)}`,"
          f" which failed ({e}): run from a git checkout that has --baseline."
      ) from e
    return "unknown"


def _extract_baseline(revision, root):
  """Writes the baseline's distributions package under `root`."""
  package = os.path.join(root, "drpm_baseline", "distributions")
  os.makedirs(package)
  open(os.path.join(root, "drpm_baseline", "__init__.py"), "w").close()
  names = _git("ls-tree", "--name-only", revision, "drpm_tf/distributions/",
               required=True).split()
  if not names:
    raise SystemExit(f"No drpm_tf/distributions at git revision {revision}.")
  for name in names:
    text = _git("show", f"{revision}:{name}", required=True)
    with open(os.path.join(package, os.path.basename(name)), "w",
              encoding="utf-8") as f:
      f.write(text.replace("drpm_tf.distributions",
                           "drpm_baseline.distributions"))


def _build(n, k, b, layout):
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
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


def _loss_and_grads(tf, make_sample, variables):
  """A step function: loss of `make_sample(seed)` and its gradients."""
  def step(seed):
    with tf.GradientTape() as tape:
      loss = make_sample(seed)
    return loss, tape.gradient(loss, variables,
                               unconnected_gradients="zero")
  return step


def _timed_call(step, i):
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  seed = tf.constant([i, 7], tf.int32)
  start = time.perf_counter()
  values = [x.numpy() for x in tf.nest.flatten(step(seed))]
  elapsed = time.perf_counter() - start  # .numpy() waits for all the work
  if not all(np.all(np.isfinite(v)) for v in values):
    raise FloatingPointError("non-finite loss or gradient")
  return elapsed


def run_single(n, k, b, layout, mode, impl, repeats, baseline_dir):
  """Times one config in this process; returns a JSON-able dict."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  dists = _distributions(impl, baseline_dir)
  log_weights, log_scores, target, sample_shape = _build(n, k, b, layout)
  result = {"tf": tf.__version__}
  if mode == "baseline":
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result

  def sample_loss(seed):
    drpm = dists.DifferentiableRandomPartition(log_weights, log_scores,
                                               temperature=TEMPERATURE)
    return tf.reduce_sum(drpm.sample(sample_shape, seed=seed) * target)

  plain_step = _loss_and_grads(tf, sample_loss, [log_weights, log_scores])
  step = {"eager": plain_step, "function": tf.function(plain_step),
          "xla": tf.function(plain_step, jit_compile=True)}[mode]
  result["first_call_s"] = _timed_call(step, 0)
  _timed_call(step, 1)  # some caches fill only on the second call
  result["median_s"] = float(np.median(
      [_timed_call(step, 2 + i) for i in range(repeats)]))
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


def _parse_trace(logdir, steps):
  """Op time by type (ms per step) and op executions per step of a trace."""
  # pylint: disable=import-outside-toplevel
  from tensorflow.tsl.profiler.protobuf import xplane_pb2
  space = xplane_pb2.XSpace()
  path = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
  with open(path[0], "rb") as f:
    space.ParseFromString(f.read())
  by_type, executions = collections.Counter(), 0
  for plane in space.planes:
    for line in plane.lines:
      if not line.name.startswith("tf_Compute"):
        continue
      for event in line.events:
        name = plane.event_metadata[event.metadata_id].name
        if ":" not in name or "::" in name:  # executor bookkeeping, not ops
          continue
        by_type[name.rsplit(":", 1)[1]] += event.duration_ps / 1e9 / steps
        executions += 1
  return by_type, executions / steps


def run_profile(n, k, b, layout, impl, repeats, baseline_dir):
  """Op-level profile and per-stage times of one config (tf.function)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  dists = _distributions(impl, baseline_dir)
  log_weights, log_scores, target, sample_shape = _build(n, k, b, layout)
  num = 1 if layout == "params" else b
  rng = np.random.default_rng(1)

  def drpm():
    return dists.DifferentiableRandomPartition(log_weights, log_scores,
                                               temperature=TEMPERATURE)

  # Stage samples are [num] + batch + event: 1 x [B] params, or B x [] samples.
  batch = [b] if layout == "params" else []
  counts_target = tf.constant(
      rng.normal(size=[num] + batch + [k]).astype("float32"))
  permutation_target = tf.constant(
      rng.normal(size=[num] + batch + [n, n]).astype("float32"))
  stages = {
      "whole DRPM sample": lambda seed: tf.reduce_sum(
          drpm().sample(sample_shape, seed=seed) * target),
      "counts_distribution().sample": lambda seed: tf.reduce_sum(
          drpm().counts_distribution().sample(num, seed=seed) * counts_target),
      "permutation_distribution().sample": lambda seed: tf.reduce_sum(
          drpm().permutation_distribution().sample(num, seed=seed) *
          permutation_target),
  }
  result = {"stages_ms": {}}
  for name, loss in stages.items():
    step = tf.function(_loss_and_grads(tf, loss, [log_weights, log_scores]))
    _timed_call(step, 0)
    _timed_call(step, 1)
    result["stages_ms"][name] = 1e3 * float(np.median(
        [_timed_call(step, 2 + i) for i in range(repeats)]))
  step = tf.function(_loss_and_grads(tf, stages["whole DRPM sample"],
                                     [log_weights, log_scores]))
  _timed_call(step, 0)
  _timed_call(step, 1)
  traced_steps = 5
  for level, key in ((2, "time"), (3, "count")):
    # Level 3 records every op (distorting times); level 2 the costly ones.
    with tempfile.TemporaryDirectory() as logdir:
      tf.profiler.experimental.start(
          logdir, options=tf.profiler.experimental.ProfilerOptions(
              host_tracer_level=level))
      for i in range(traced_steps):
        _timed_call(step, 2 + i)
      tf.profiler.experimental.stop()
      by_type, executions = _parse_trace(logdir, traced_steps)
    if key == "time":
      result["op_types_ms"] = dict(by_type.most_common(8))
      result["op_time_ms"] = sum(by_type.values())
    else:
      result["op_executions"] = executions
  return result


def run_neuralsort(rows, n, repeats, baseline_dir):
  """Soft NeuralSort fwd+bwd: ours, the baseline's and TFP's, interleaved."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tensorflow_probability as tfp  # pylint: disable=import-outside-toplevel
  from drpm_tf.distributions import _neural_sort  # pylint: disable=import-outside-toplevel
  baseline = _distributions("before", baseline_dir)
  rng = np.random.default_rng(0)
  values = tf.Variable(rng.normal(size=(rows, n)).astype("float32"))
  upstream = tf.constant(rng.normal(size=(rows, n, n)).astype("float32"))
  temperature = tf.fill([rows], tf.constant(TEMPERATURE))
  sorts = {
      "tfp.math.soft_sorting_matrix": lambda v: tfp.math.soft_sorting_matrix(
          v, TEMPERATURE),
      "ours (analytic gradient, A 1 by sorting)":
          lambda v: _neural_sort.neural_sort(v, temperature),
      "ours before (autodiff, pairwise A)":
          lambda v: baseline.plackett_luce._neural_sort(v, temperature),  # pylint: disable=protected-access
  }
  steps = {}
  for name, sort in sorts.items():
    def step(seed, sort=sort):
      del seed
      with tf.GradientTape() as tape:
        matrix = sort(values)
        loss = tf.reduce_sum(matrix * upstream)
      return matrix, tape.gradient(loss, values)
    steps[name] = tf.function(step)
    _timed_call(steps[name], 0)
    _timed_call(steps[name], 1)
  times = {name: [] for name in steps}
  for i in range(repeats):
    for name, step in steps.items():
      times[name].append(_timed_call(step, i))
  outputs = {name: step(tf.constant([0, 0])) for name, step in steps.items()}
  reference = outputs["tfp.math.soft_sorting_matrix"]
  def relative_difference(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))

  return {name: {"median_ms": 1e3 * float(np.median(times[name])),
                 "matrix_difference": relative_difference(
                     outputs[name][0].numpy(), reference[0].numpy()),
                 "gradient_difference": relative_difference(
                     outputs[name][1].numpy(), reference[1].numpy())}
          for name in steps}


def _child(args, timeout, baseline_dir):
  cmd = [sys.executable, os.path.abspath(__file__), *map(str, args),
         "--baseline_dir", baseline_dir]
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


def _uptime():
  try:
    return subprocess.run(["uptime"], capture_output=True, text=True,
                          check=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _median(values):
  values = sorted(values)
  mid = len(values) // 2
  return (values[mid] if len(values) % 2 else
          0.5 * (values[mid - 1] + values[mid]))


def _mib(num_bytes):
  return f"{num_bytes / 2**20:.1f}" if num_bytes is not None else "-"


def _table(header, rows):
  return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] +
          ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def _comparison_rows(results, configs, layouts, modes, repeats):
  rows = []
  for layout in layouts:
    for (n, k, b) in configs:
      for mode in modes:
        runs = {impl: results[(n, k, b, layout, mode, impl)]
                for impl in IMPLS}
        errors = [r["error"] for rs in runs.values() for r in rs
                  if "error" in r]
        if errors:
          rows.append([n, k, b, layout, mode] + ["-"] * 7 + [errors[0]])
          continue
        medians = {impl: [r["median_s"] for r in rs]
                   for impl, rs in runs.items()}
        ratios = [before / after for before, after
                  in zip(medians["before"], medians["after"])]
        first = {impl: _median([r["first_call_s"] for r in rs])
                 for impl, rs in runs.items()}
        rss = {impl: _median([r["rss_bytes"] for r in rs])
               if all("rss_bytes" in r for r in rs) else None
               for impl, rs in runs.items()}
        largest = {impl: rs[0].get("largest_tensor_bytes")
                   for impl, rs in runs.items()}
        rows.append([
            n, k, b, layout, mode,
            f"{first['before']:.2f}", f"{first['after']:.2f}",
            f"{1e3 * _median(medians['before']):.1f}",
            f"{1e3 * _median(medians['after']):.1f}",
            f"{_median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})",
            f"{_mib(rss['before'])} / {_mib(rss['after'])}",
            f"{_mib(largest['before'])} / {_mib(largest['after'])}", ""])
  header = ["n", "K", "B", "layout", "mode", "first call before (s)",
            "first call after (s)",
            f"median before (ms), {repeats} reps",
            f"median after (ms), {repeats} reps",
            "speed-up: median (range) of rounds",
            "peak RSS over baseline before / after (MiB)",
            "largest tensor before / after (MiB)", "note"]
  return _table(header, rows)


def _profile_lines(profiles, config):
  lines = []
  n, k, b = config
  for layout, by_impl in profiles.items():
    lines += ["", f"### n = {n}, K = {k}, B = {b}, layout `{layout}`", ""]
    if any("error" in r for r in by_impl.values()):
      lines.append("profile failed: " + "; ".join(
          r.get("error", "") for r in by_impl.values()))
      continue
    stage_names = list(by_impl["after"]["stages_ms"])
    rows = [[name] + [f"{by_impl[impl]['stages_ms'][name]:.1f}"
                      for impl in IMPLS] for name in stage_names]
    rows.append(["op executions per step (profiler, every op)"] +
                [f"{by_impl[impl]['op_executions']:.0f}" for impl in IMPLS])
    rows.append(["op time per step, all threads (ms)"] +
                [f"{by_impl[impl]['op_time_ms']:.1f}" for impl in IMPLS])
    lines += _table(["fwd+bwd, tf.function (ms)", "before", "after"], rows)
    for impl in IMPLS:
      ops = ", ".join(f"{name} {ms:.2f}" for name, ms
                      in by_impl[impl]["op_types_ms"].items())
      lines += ["", f"Costliest op types {impl} (ms per step): {ops}."]
  return lines


def _target_lines(results, layouts):
  lines = []
  for (n, k, b), target in TARGETS.items():
    for layout in layouts:
      runs = results.get((n, k, b, layout, "function", "after"))
      if not runs or any("error" in r for r in runs):
        continue
      median = _median([r["median_s"] for r in runs])
      verdict = "met" if median <= target else "NOT met"
      lines.append(f"- (n, K, B) = ({n}, {k}, {b}), layout `{layout}`: "
                   f"{1e3 * median:.1f} ms after, goal <= {1e3 * target:.0f}"
                   f" ms: {verdict}.")
  return lines


def _neuralsort_lines(result):
  rows = [[name, f"{r['median_ms']:.1f}", f"{r['matrix_difference']:.1e}",
           f"{r['gradient_difference']:.1e}"] for name, r in result.items()]
  rows_n, n = NEURALSORT_SHAPE
  ours = result["ours (analytic gradient, A 1 by sorting)"]["median_ms"]
  tfp_ms = result["tfp.math.soft_sorting_matrix"]["median_ms"]
  if ours <= tfp_ms:
    verdict = (
        f"Ours takes {ours / tfp_ms:.2f} of the time of"
        " `tfp.math.soft_sorting_matrix`, so the library keeps its own:"
        " TFP's builds the same matrix from the n x n pairwise |s_i - s_j|"
        " and is differentiated by autodiff through every n x n"
        " intermediate, while ours gets `A 1` from one sort and writes the"
        " gradient out. (With `hard=True` the DRPM never forms the matrix in"
        " the forward pass at all.) The values agree to float32 rounding.")
  else:
    verdict = (f"`tfp.math.soft_sorting_matrix` is faster here ({tfp_ms:.1f}"
               f" vs {ours:.1f} ms): the library should use it.")
  return _table(["relaxed sort, fwd+bwd", "median (ms)",
                 "max abs difference of P from TFP's, relative to max |P|",
                 "same for the gradient"], rows) + [
                     "", f"{rows_n} rows of n = {n}, float32, temperature "
                     f"{TEMPERATURE}, loss sum(P * U) with a fixed random U,"
                     " `tf.function`, interleaved in one process.", "",
                     verdict]


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--repeats", type=int, default=10)
  parser.add_argument("--configs", nargs="+", default=None,
                      help="subset of n,K,B triples, e.g. 256,10,100")
  parser.add_argument("--modes", nargs="+", default=MODES, choices=MODES)
  parser.add_argument("--layouts", nargs="+", default=LAYOUTS, choices=LAYOUTS)
  parser.add_argument("--baseline", default=BASELINE_REVISION,
                      help="git revision of the 'before' implementation")
  parser.add_argument("--no_profile", action="store_true")
  parser.add_argument("--output", default=None, help="markdown file to write")
  parser.add_argument("--timeout", type=int, default=900,
                      help="seconds per subprocess")
  parser.add_argument("--baseline_dir", help=argparse.SUPPRESS)
  parser.add_argument("--single", nargs=6, help=argparse.SUPPRESS,
                      metavar=("N", "K", "B", "LAYOUT", "MODE", "IMPL"))
  parser.add_argument("--profile", nargs=5, help=argparse.SUPPRESS,
                      metavar=("N", "K", "B", "LAYOUT", "IMPL"))
  parser.add_argument("--neuralsort", nargs=2, help=argparse.SUPPRESS,
                      metavar=("ROWS", "N"))
  args = parser.parse_args(argv)

  if args.single:
    n, k, b = map(int, args.single[:3])
    print(json.dumps(run_single(n, k, b, *args.single[3:], args.repeats,
                                args.baseline_dir)))
    return
  if args.profile:
    n, k, b = map(int, args.profile[:3])
    print(json.dumps(run_profile(n, k, b, *args.profile[3:], args.repeats,
                                 args.baseline_dir)))
    return
  if args.neuralsort:
    print(json.dumps(run_neuralsort(*map(int, args.neuralsort),
                                    2 * args.repeats, args.baseline_dir)))
    return

  configs = ([tuple(int(v) for v in c.split(",")) for c in args.configs]
             if args.configs else CONFIGS)
  started = datetime.datetime.now()
  loads = [f"start: `{_uptime()}`"]
  results = collections.defaultdict(list)
  tf_version = "unknown"
  with tempfile.TemporaryDirectory() as baseline_dir:
    _extract_baseline(args.baseline, baseline_dir)
    baseline_rss = {}
    for round_index in range(args.rounds):
      for layout in args.layouts:
        for (n, k, b) in configs:
          if (n, k, b, layout) not in baseline_rss:
            base = _child(["--single", n, k, b, layout, "baseline", "after"],
                          args.timeout, baseline_dir)
            tf_version = base.get("tf", tf_version)
            baseline_rss[(n, k, b, layout)] = base.get("maxrss_kb")
          for mode in args.modes:
            # Alternate which implementation runs first.
            for impl in IMPLS[::1 if round_index % 2 == 0 else -1]:
              res = _child(["--single", n, k, b, layout, mode, impl,
                            "--repeats", args.repeats],
                           args.timeout, baseline_dir)
              base_kb = baseline_rss[(n, k, b, layout)]
              if "maxrss_kb" in res and base_kb is not None:
                # ru_maxrss is in KiB on Linux.
                res["rss_bytes"] = (res["maxrss_kb"] - base_kb) * 1024
              results[(n, k, b, layout, mode, impl)].append(res)
              print(round_index, n, k, b, layout, mode, impl,
                    {key: value for key, value in res.items()
                     if key in ("first_call_s", "median_s", "error")},
                    file=sys.stderr, flush=True)
      loads.append(f"after round {round_index + 1}: `{_uptime()}`")
    profiles = {}
    if not args.no_profile:
      for layout in args.layouts:
        profiles[layout] = {
            impl: _child(["--profile", *PROFILE_CONFIG, layout, impl,
                          "--repeats", args.repeats], args.timeout,
                         baseline_dir) for impl in IMPLS}
      neuralsort = _child(["--neuralsort", *NEURALSORT_SHAPE, "--repeats",
                           args.repeats], args.timeout, baseline_dir)
      loads.append(f"after the profiles: `{_uptime()}`")

  command = shlex.join([os.path.relpath(sys.executable)] + sys.argv)
  lines = [
      "# DRPM sampling benchmark",
      "",
      f"- machine: `nproc` = {len(os.sched_getaffinity(0))}, {_cpu_model()}",
      f"- TensorFlow {tf_version}, Python {platform.python_version()},"
      " default TF threading",
      f"- started: {started.isoformat(timespec='seconds')}",
      f"- command: `{command}` (git {_git('describe', '--always', '--dirty')})",
      f"- before = `drpm_tf/distributions` at git {args.baseline}"
      f" ({_git('log', '-1', '--format=%s', args.baseline)[:70]}...),"
      " after = the working tree",
      "- load (`uptime`) " + "; ".join(loads),
      "",
      "B relaxed DRPM samples (hard=True, temperature 0.5), forward and"
      " backward: loss = sum(Y * fixed random tensor), gradient w.r.t. both"
      " parameters. Layout `samples` = B samples of one parameter set"
      " (log_weights [K], log_scores [n]; the generative experiment: n = data"
      " batch, B = L); layout `params` = one sample of each of B independent"
      " parameter sets (log_weights [B, K], log_scores [B, n]). Each cell is"
      f" a fresh process; medians over {args.rounds} rounds, in which the"
      " before/after processes alternate; the speed-up is the median of the"
      " per-round ratios (range in brackets): the machine is shared, so the"
      " absolute times move with the load, the ratios much less."
      " 'first call' includes tracing and XLA compilation (the median"
      " excludes it, after two warm-up calls). Peak RSS is the process's"
      " ru_maxrss minus that of a process that only imports TF and builds the"
      " variables (after: including XLA's compiler, which the MVHG power"
      " recurrence uses, a few tens of MiB). 'largest tensor' is the"
      " biggest array in the"
      " computation's HLO before XLA fusion (an estimate of the biggest"
      " intermediate; the same computation in every mode).",
      "",
      "## Before / after",
      "",
  ] + _comparison_rows(results, configs, args.layouts, args.modes,
                       args.repeats)
  targets = _target_lines(results, args.layouts)
  if targets:
    lines += ["", "Goals (`tf.function`, median of the rounds):", ""] + targets
  if profiles:
    lines += [
        "", "## Where the time goes", "",
        "One config, `tf.function`, before and after. Stage times: the whole"
        " DRPM sample, and each of its two distributions sampled on its own"
        " (fwd+bwd, loss against a fixed random tensor; the permutation stage"
        " forms the n x n permutation matrices, which the DRPM itself no"
        " longer does). Op executions: kernels the TF runtime launched per"
        " step, counted in a TF profiler trace that records every op (an"
        " XLA-compiled cluster counts once). Op time: the durations of the"
        " ops in a trace that records the costly ones, summed over threads.",
    ] + _profile_lines(profiles, PROFILE_CONFIG)
    lines += ["", "## NeuralSort: ours or `tfp.math.soft_sorting_matrix`", ""]
    lines += (_neuralsort_lines(neuralsort) if "error" not in neuralsort
              else [f"failed: {neuralsort['error']}"])
  text = "\n".join(lines) + "\n"
  print(text)
  if args.output:
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
      f.write(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
  main()

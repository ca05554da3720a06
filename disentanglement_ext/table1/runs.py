"""Table 1 runs: what they are, when they are finished, and executing them.

A run is one (method, n_s, seed) of a preset, in
`<output_dir>/<method>_ns<n_s>_seed<seed>`. Executing it runs, as needed,

    drpm-train-weak    --model_dir <run> \\
        --gin_config base.gin --gin_config <method>.gin \\
        --gin_config ns<n_s>.gin --gin_config <preset>.gin \\
        --gin_bindings "train_weak.random_seed = <seed>"      (trains + exports)
    drpm-train-weak    --model_dir <run> --export_only     (a damaged export)
    drpm-evaluate-weak --model_dir <run> --min_pairs_per_factor ..
    drpm-evaluate-weak --model_dir <run> --min_pairs_per_factor .. \\
        --split validation
    [drpm-dlib-evaluate ... dci, with --dci]

each as a child process (`python -m disentanglement_ext.bin.<tool>` of this
interpreter) with its output in `<run>/table1_run.log`. A finished run
(training results, an export that loads, the evaluation JSONs) is skipped; an
interrupted one is resumed (the trainer continues from its last checkpoint).
Runs execute in N parallel worker processes, each with
TF_NUM_INTRAOP_THREADS = TF_NUM_INTEROP_THREADS = OMP_NUM_THREADS =
cpu_count // N (at least 1) unless told otherwise.
"""
import collections
import concurrent.futures
import contextlib
import os
import shlex
import subprocess
import sys
import time

from disentanglement_ext import run_layout
from disentanglement_ext.table1 import presets
from drpm_tf import errors
from drpm_tf import run_directory

Run = collections.namedtuple("Run", ["method", "n_s", "seed", "name",
                                     "model_dir"])

# Console-script modules of the tools a run executes.
TRAIN_WEAK = "disentanglement_ext.bin.train_weak"
EVALUATE_WEAK = "disentanglement_ext.bin.evaluate_weak"
DLIB_EVALUATE = "disentanglement_ext.bin.dlib_evaluate"
REPRODUCE_TABLE1 = "disentanglement_ext.bin.reproduce_table1"


def run_name(method, n_s, seed):
  return "{}_ns{}_seed{}".format(method, int(n_s), int(seed))


def enumerate_runs(settings, output_dir):
  """All runs of the preset: methods x n_s x seeds, in that nesting order."""
  return [Run(m, k, s, run_name(m, k, s),
              os.path.join(os.path.abspath(output_dir), run_name(m, k, s)))
          for m in settings["methods"] for k in settings["n_s_values"]
          for s in settings["seeds"]]


_EXPORT_VERIFIED = {}


def export_loads(model_dir):
  """Whether the run's TF-Hub export loads (checked once per export)."""
  marker = os.path.join(model_dir, run_layout.POSTPROCESS_GIN)
  if not os.path.exists(marker):
    return False
  key = (model_dir, os.path.getmtime(marker))
  if key not in _EXPORT_VERIFIED:
    # Imports TensorFlow: only once a run has an export to check.
    from disentanglement_ext import export  # pylint: disable=g-import-not-at-top
    _EXPORT_VERIFIED[key] = not export.verify_export(model_dir)
  return _EXPORT_VERIFIED[key]


def train_done(model_dir):
  """Trained and exported, with an export that loads."""
  return (os.path.exists(os.path.join(model_dir, run_layout.TRAIN_RESULTS))
          and export_loads(model_dir))


def is_finished(model_dir, dci=False):
  """Trained, exported and evaluated (and DCI-evaluated with `dci`)."""
  done = train_done(model_dir) and all(
      os.path.exists(os.path.join(model_dir, path))
      for path in (run_layout.EVAL_RESULTS, run_layout.VALIDATION_RESULTS))
  if dci:
    done = done and os.path.exists(os.path.join(model_dir,
                                                run_layout.DCI_RESULTS))
  return done


def module_command(module):
  """argv that runs the console-script module `module` with this Python."""
  return [sys.executable, "-m", module]


def run_commands(run, settings, dci=False, extra_bindings=()):
  """{'train': argv, 'export': argv, 'evaluate': argv, 'validate': argv
  [, 'dci': argv]} of one run."""
  config_dir = settings["config_dir"]
  train = module_command(TRAIN_WEAK) + ["--model_dir", run.model_dir]
  for name in ("base", run.method, "ns{}".format(run.n_s)):
    train += ["--gin_config", os.path.join(config_dir, name + ".gin")]
  train += ["--gin_config", settings["preset_path"],
            "--gin_bindings", "train_weak.random_seed = {}".format(run.seed)]
  for binding in extra_bindings:
    train += ["--gin_bindings", binding]
  commands = collections.OrderedDict(train=train)
  commands["export"] = module_command(TRAIN_WEAK) + [
      "--model_dir", run.model_dir, "--export_only"]
  commands["evaluate"] = module_command(EVALUATE_WEAK) + [
      "--model_dir", run.model_dir,
      "--min_pairs_per_factor", str(settings["eval_min_pairs"]),
      "--overwrite"]
  commands["validate"] = commands["evaluate"] + ["--split", "validation"]
  if dci:
    commands["dci"] = module_command(DLIB_EVALUATE) + [
        "--input_dir", os.path.join(run.model_dir, run_layout.POSTPROCESSED),
        "--output_dir", os.path.join(run.model_dir, run_layout.DCI_DIR),
        "--gin_config", os.path.join(presets.EVALUATION_CONFIG_DIR,
                                     settings["dci_config"]),
        "--overwrite"]
  return commands


def job_command(run, preset, output_dir, dci=False, extra_bindings=(),
                threads=None, sweep_flags=()):
  """The one-line shell command of a run for --emit-jobs.

  `sweep_flags`: the command-line flags that changed the preset's sweep
  (`--methods=...`), passed on so the run is found in the same grid.
  """
  argv = module_command(REPRODUCE_TABLE1) + [
      "--preset", preset, "--output_dir", os.path.abspath(output_dir),
      "--run", run.name] + list(sweep_flags)
  if dci:
    argv.append("--dci")
  for binding in extra_bindings:
    argv += ["--gin_bindings", binding]
  if threads:
    argv += ["--threads", str(threads)]
  return " ".join(shlex.quote(a) for a in argv)


def child_env(threads):
  env = dict(os.environ)
  threads = str(max(1, int(threads)))
  for key in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
              "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    env[key] = threads
  env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  return env


def execute_run(run, settings, threads=1, dci=False, extra_bindings=(),
                log=print):
  """Trains / evaluates one run as needed. Returns (name, status, seconds).

  status: 'skipped' (already finished), 'busy' (another process holds the
  run), 'done', 'failed: directory' (the run's directory holds files not
  ours) or 'failed: <stage>'. The children's output goes to
  <model_dir>/table1_run.log. The run is locked (`.sweep.lock`) while this
  process works on it, so two sweeps on one output directory never run it
  twice: the second one reports it as busy.
  """
  timer = time.time()
  if is_finished(run.model_dir, dci):
    return run.name, "skipped", 0.
  with contextlib.ExitStack() as stack:
    try:
      stack.enter_context(run_directory.run_lock(run.model_dir,
                                                 name=run_layout.SWEEP_LOCK))
    except errors.RunDirectoryError:
      log("[{}] skipped: another process is working on it.".format(run.name))
      return run.name, "busy", time.time() - timer
    # Mark the run directory as ours (the trainer refuses a directory with
    # unmarked files, such as the sweep's log); a sweep made before markers
    # existed left its log in it.
    try:
      run_directory.check_usable(run.model_dir, (run_layout.SWEEP_LOG,),
                                 flag="run")
    except errors.RunDirectoryError as error:
      log("[{}] {}".format(run.name, error))
      return run.name, "failed: directory", time.time() - timer
    run_directory.mark(run.model_dir, "drpm-reproduce-table1")
    return _execute_stages(run, settings, threads, dci, extra_bindings, log,
                           timer)


def missing_stages(model_dir, dci=False):
  """The stages of a run that are still to do, in order."""
  stages = []
  if not os.path.exists(os.path.join(model_dir, run_layout.TRAIN_RESULTS)):
    stages.append("train")
  elif not export_loads(model_dir):
    stages.append("export")
  retrained = "train" in stages
  # The S/I evaluation reads the checkpoints, which a re-export leaves as
  # they are; DCI reads the export.
  for stage, path in (("evaluate", run_layout.EVAL_RESULTS),
                      ("validate", run_layout.VALIDATION_RESULTS)):
    if retrained or not os.path.exists(os.path.join(model_dir, path)):
      stages.append(stage)
  if dci and (retrained or "export" in stages or not os.path.exists(
      os.path.join(model_dir, run_layout.DCI_RESULTS))):
    stages.append("dci")
  return stages


def _execute_stages(run, settings, threads, dci, extra_bindings, log, timer):
  """The stages of `execute_run` that are still missing, in order."""
  if is_finished(run.model_dir, dci):  # finished while we waited
    return run.name, "skipped", 0.
  commands = run_commands(run, settings, dci, extra_bindings)
  env = child_env(threads)
  log_path = os.path.join(run.model_dir, run_layout.SWEEP_LOG)
  with open(log_path, "a") as log_file:
    for stage in missing_stages(run.model_dir, dci):
      log_file.write("$ {}\n".format(" ".join(shlex.quote(a) for a in
                                              commands[stage])))
      log_file.flush()
      code = subprocess.call(commands[stage], stdout=log_file,
                             stderr=subprocess.STDOUT, env=env)
      if code != 0:
        log("[{}] {} failed (exit {}); log: {}".format(
            run.name, stage, code, log_path))
        return run.name, "failed: " + stage, time.time() - timer
  return run.name, "done", time.time() - timer


def run_sweep(runs, settings, jobs=1, threads=None, dci=False,
              extra_bindings=(), log=print):
  """Executes `runs` with `jobs` parallel processes; returns statuses."""
  jobs = max(1, int(jobs))
  if threads is None:
    threads = max(1, (os.cpu_count() or 1) // jobs)
  statuses = []
  pending = [r for r in runs if not is_finished(r.model_dir, dci)]
  log("{} runs, {} finished, {} to run with {} job(s) x {} thread(s).".format(
      len(runs), len(runs) - len(pending), len(pending), jobs, threads))
  with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
    futures = [pool.submit(execute_run, r, settings, threads, dci,
                           extra_bindings, log) for r in runs]
    for number, future in enumerate(
        concurrent.futures.as_completed(futures), 1):
      name, status, seconds = future.result()
      statuses.append((name, status, seconds))
      if status != "skipped":
        log("[{}/{}] {}: {} ({:.0f} s)".format(number, len(runs), name,
                                              status, seconds))
  return statuses

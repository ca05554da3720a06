"""Reproduce Table 1 and Figure 5: the sweep, its runner and its report.

`drpm-reproduce-table1 --preset P --output_dir D [--jobs N] [--emit-jobs FILE]`
(scripts/reproduce_table1.py) runs, for every (method, n_s, seed) of preset P,

    drpm-train-weak    --model_dir D/<method>_ns<n_s>_seed<seed> \\
        --gin_config base.gin --gin_config <method>.gin \\
        --gin_config ns<n_s>.gin --gin_config <P>.gin \\
        --gin_bindings "train_weak.random_seed = <seed>"      (trains + exports)
    drpm-evaluate-weak --model_dir <run dir> --min_pairs_per_factor ..
    drpm-evaluate-weak --model_dir <run dir> --min_pairs_per_factor .. \
        --split validation
    [drpm-dlib-evaluate ... dci, with --dci]

with the gin files of `gin_configs/table1/`. A preset is a gin file there (or
any path) that sets the training scale and the gin macros TABLE1_METHODS,
TABLE1_N_S, TABLE1_SEEDS, TABLE1_EVAL_MIN_PAIRS_PER_FACTOR and
TABLE1_DCI_CONFIG (drpm-train-weak ignores unused macros, so the same file is
also a training config).

Runs execute in N parallel worker processes, each single-threaded by default
(TF_NUM_INTRAOP_THREADS = TF_NUM_INTEROP_THREADS = OMP_NUM_THREADS =
cpu_count // N, at least 1). A finished run (training results, export and
evaluation JSON present) is skipped; an interrupted one is resumed: the
trainer continues from its last checkpoint. With --emit-jobs, one shell
command per run (`... --run <name>`, which executes that single run with the
same skip / resume logic) is written to FILE, one per line, for array jobs.

Finally every finished run of the preset's grid found under D is aggregated
into D/table1_<preset>.md and .csv (mean ± sample std over seeds, paper
layout) and the plots D/table1_<preset>.png (Table 1) and
D/figure5_<preset>.png (MSE between estimated number of shared dims and n_s).
"""
import argparse
import collections
import concurrent.futures
import contextlib
import csv
import io
import json
import math
import os
import shlex
import subprocess
import sys
import time

from drpm_tf import cli
from drpm_tf import errors
from drpm_tf import run_directory

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(REPO_ROOT, "gin_configs", "table1")
EVALUATION_CONFIG_DIR = os.path.join(REPO_ROOT, "gin_configs", "evaluation")

METHODS = ("label", "adaptive", "hg", "drpm")
METHOD_LABELS = {"label": "LABEL", "adaptive": "ADA", "hg": "HG",
                 "drpm": "DRPM"}
N_S_VALUES = (0, 1, 3, 5)

TRAIN_RESULTS = os.path.join("results", "json", "train_results.json")
POSTPROCESS_GIN = os.path.join("postprocessed", "mean", "results", "gin",
                               "postprocess.gin")
EVAL_RESULTS = os.path.join("weak_evaluation", "results", "json",
                            "evaluation_results.json")
VALIDATION_RESULTS = os.path.join("weak_evaluation_validation", "results",
                                  "json", "evaluation_results.json")
DCI_DIR = os.path.join("metrics", "dci")
DCI_RESULTS = os.path.join(DCI_DIR, "results", "json",
                           "evaluation_results.json")
LOG_FILE = "table1_run.log"
SWEEP_LOCK = ".sweep.lock"

OBJECTIVE_NOTES = {
    "paper": "the paper's eq. 6: shared dims sampled once, their KL counted "
             "once",
    "dlib": "disentanglement_lib's two per-view ELBOs: shared KL counted "
            "twice",
}

Run = collections.namedtuple("Run", ["method", "n_s", "seed", "name",
                                     "model_dir"])


# ----------------------------------------------------------------- presets --

def preset_path(preset, config_dir=CONFIG_DIR):
  """`preset` is a name in `config_dir` ('demo', 'quick', 'paper') or a path."""
  if os.path.exists(preset) and preset.endswith(".gin"):
    return os.path.abspath(preset)
  path = os.path.join(config_dir, preset + ".gin")
  if not os.path.exists(path):
    names = sorted(f[:-4] for f in os.listdir(config_dir)
                   if f.endswith(".gin") and f[:-4] not in
                   ("base", "label", "adaptive", "hg", "drpm") and
                   not f.startswith("ns"))
    raise errors.ConfigError("Unknown preset {!r}: no {}. Presets: {}.".format(
        preset, path, ", ".join(names)))
  return path


def preset_name(preset):
  return os.path.basename(preset)[:-4] if preset.endswith(".gin") else preset


def read_gin_values(paths):
  """{'train_weak.training_steps': 150, 'TABLE1_SEEDS': [0], ...} of files.

  Parses the files with gin's parser only (no configurable needs to be
  registered, nothing is bound); later files override earlier ones.
  """
  from gin import config  # pylint: disable=g-import-not-at-top
  from gin import config_parser  # pylint: disable=g-import-not-at-top
  values = {}
  for path in paths:
    with open(path) as f:
      parser = config_parser.ConfigParser(
          f, config.ParserDelegate(skip_unknown=True))
      for statement in parser:
        if isinstance(statement, config_parser.BindingStatement):
          key = statement.selector
          if statement.arg_name:
            key += "." + statement.arg_name
          if statement.scope:
            key = statement.scope + "/" + key
          values[key] = statement.value
  return values


def load_settings(preset, config_dir=CONFIG_DIR):
  """The sweep and scale of a preset (base.gin overridden by the preset)."""
  path = preset_path(preset, config_dir)
  values = read_gin_values([os.path.join(config_dir, "base.gin"), path])
  methods = list(values["TABLE1_METHODS"])
  unknown = [m for m in methods if m not in METHODS]
  if unknown:
    raise errors.ConfigError("TABLE1_METHODS of {}: unknown {}; valid: {}.".format(
        path, unknown, ", ".join(METHODS)))
  return dict(
      preset=preset_name(preset), preset_path=path, config_dir=config_dir,
      methods=methods, n_s_values=[int(k) for k in values["TABLE1_N_S"]],
      seeds=[int(s) for s in values["TABLE1_SEEDS"]],
      eval_min_pairs=int(values["TABLE1_EVAL_MIN_PAIRS_PER_FACTOR"]),
      dci_config=values.get("TABLE1_DCI_CONFIG", "dci.gin"),
      dataset=values.get("dataset.name"),
      architecture=values.get("weak_vae.architecture"),
      training_steps=int(values["train_weak.training_steps"]),
      batch_size=int(values["train_weak.batch_size"]),
      num_latent=values.get("weak_vae.num_latent"),
      beta=values.get("weak_vae.beta"), gamma=values.get("weak_vae.gamma"),
      learning_rate=values.get("train_weak.learning_rate"),
      objective=values.get("weak_vae.objective", "paper"),
      aggregation_bindings={k: v for k, v in sorted(values.items())
                            if k.split(".")[0].endswith("_aggregation") and
                            not k.endswith("_temperature")})


# ------------------------------------------------------------------- runs --

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
  marker = os.path.join(model_dir, POSTPROCESS_GIN)
  if not os.path.exists(marker):
    return False
  key = (model_dir, os.path.getmtime(marker))
  if key not in _EXPORT_VERIFIED:
    from disentanglement_ext import export  # pylint: disable=g-import-not-at-top
    _EXPORT_VERIFIED[key] = not export.verify_export(model_dir)
  return _EXPORT_VERIFIED[key]


def train_done(model_dir):
  """Trained and exported, with an export that loads."""
  return (os.path.exists(os.path.join(model_dir, TRAIN_RESULTS)) and
          export_loads(model_dir))


def is_finished(model_dir, dci=False):
  """Trained, exported and evaluated (and DCI-evaluated with `dci`)."""
  done = train_done(model_dir) and all(
      os.path.exists(os.path.join(model_dir, path))
      for path in (EVAL_RESULTS, VALIDATION_RESULTS))
  if dci:
    done = done and os.path.exists(os.path.join(model_dir, DCI_RESULTS))
  return done


def _module_command(module):
  return [sys.executable, "-m", module]


def run_commands(run, settings, dci=False, extra_bindings=()):
  """{'train': argv, 'evaluate': argv[, 'dci': argv]} of one run."""
  config_dir = settings["config_dir"]
  train = _module_command("scripts.train_weak") + ["--model_dir",
                                                   run.model_dir]
  for name in ("base", run.method, "ns{}".format(run.n_s)):
    train += ["--gin_config", os.path.join(config_dir, name + ".gin")]
  train += ["--gin_config", settings["preset_path"],
            "--gin_bindings", "train_weak.random_seed = {}".format(run.seed)]
  for binding in extra_bindings:
    train += ["--gin_bindings", binding]
  commands = collections.OrderedDict(train=train)
  commands["export"] = _module_command("scripts.train_weak") + [
      "--model_dir", run.model_dir, "--export_only"]
  commands["evaluate"] = _module_command("scripts.evaluate_weak") + [
      "--model_dir", run.model_dir,
      "--min_pairs_per_factor", str(settings["eval_min_pairs"]),
      "--overwrite"]
  commands["validate"] = commands["evaluate"] + ["--split", "validation"]
  if dci:
    commands["dci"] = _module_command("scripts.dlib_evaluate") + [
        "--input_dir", os.path.join(run.model_dir, "postprocessed", "mean"),
        "--output_dir", os.path.join(run.model_dir, DCI_DIR),
        "--gin_config", os.path.join(EVALUATION_CONFIG_DIR,
                                     settings["dci_config"]),
        "--overwrite"]
  return commands


def job_command(run, preset, output_dir, dci=False, extra_bindings=(),
                threads=None, sweep_flags=""):
  """The one-line shell command of a run for --emit-jobs."""
  argv = _module_command("scripts.reproduce_table1") + [
      "--preset", preset, "--output_dir", os.path.abspath(output_dir),
      "--run", run.name] + shlex.split(sweep_flags)
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
                                                 name=SWEEP_LOCK))
    except errors.RunDirectoryError:
      log("[{}] skipped: another process is working on it.".format(run.name))
      return run.name, "busy", time.time() - timer
    # Mark the run directory as ours (the trainer refuses a directory with
    # unmarked files, such as the sweep's log); a sweep made before markers
    # existed left its log in it.
    try:
      run_directory.check_usable(run.model_dir, (LOG_FILE,), flag="run")
    except errors.RunDirectoryError as error:
      log("[{}] {}".format(run.name, error))
      return run.name, "failed: directory", time.time() - timer
    run_directory.mark(run.model_dir, "drpm-reproduce-table1")
    return _execute_stages(run, settings, threads, dci, extra_bindings, log,
                           timer)


def _execute_stages(run, settings, threads, dci, extra_bindings, log, timer):
  """The stages of `execute_run` that are still missing, in order."""
  if is_finished(run.model_dir, dci):  # finished while we waited
    return run.name, "skipped", 0.
  commands = run_commands(run, settings, dci, extra_bindings)
  stages = []
  if not os.path.exists(os.path.join(run.model_dir, TRAIN_RESULTS)):
    stages.append("train")
  elif not export_loads(run.model_dir):
    stages.append("export")
  retrained = "train" in stages
  # The S/I evaluation reads the checkpoints, which a re-export leaves as
  # they are; DCI reads the export.
  for stage, path in (("evaluate", EVAL_RESULTS),
                      ("validate", VALIDATION_RESULTS)):
    if retrained or not os.path.exists(os.path.join(run.model_dir, path)):
      stages.append(stage)
  if dci and (retrained or "export" in stages or not os.path.exists(
      os.path.join(run.model_dir, DCI_RESULTS))):
    stages.append("dci")
  env = child_env(threads)
  with open(os.path.join(run.model_dir, LOG_FILE), "a") as log_file:
    for stage in stages:
      log_file.write("$ {}\n".format(" ".join(shlex.quote(a) for a in
                                              commands[stage])))
      log_file.flush()
      code = subprocess.call(commands[stage], stdout=log_file,
                             stderr=subprocess.STDOUT, env=env,
                             cwd=REPO_ROOT)
      if code != 0:
        log("[{}] {} failed (exit {}); log: {}".format(
            run.name, stage, code, os.path.join(run.model_dir, LOG_FILE)))
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


# ------------------------------------------------------------ aggregation --

def _read_json(path):
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def collect_results(runs, split="test"):
  """One record per run with an evaluation JSON of `split` (train finished)."""
  records = []
  for run in runs:
    result = _read_json(os.path.join(
        run.model_dir,
        EVAL_RESULTS if split == "test" else VALIDATION_RESULTS))
    # Evaluated after training (whether the export still loads does not
    # change the scores).
    if result is None or not os.path.exists(
        os.path.join(run.model_dir, TRAIN_RESULTS)):
      continue
    record = dict(method=run.method, n_s=run.n_s, seed=run.seed,
                  S=result.get("S"), I=result.get("I"),
                  mse=result.get("num_shared_dims_mse"),
                  num_shared_dims=result.get("num_shared_dims_mean"),
                  num_shared_dims_sampled=result.get(
                      "num_shared_dims_sampled_mean"),
                  train_seconds=(_read_json(os.path.join(
                      run.model_dir, TRAIN_RESULTS)) or {}).get(
                          "elapsed_time"))
    for key in ("num_train", "num_test", "S_fit_pairs_min", "I_fit_pairs_min",
                "S_score_pairs_min", "I_score_pairs_min"):
      record[key] = result.get(key)
    dci = _read_json(os.path.join(run.model_dir, DCI_RESULTS))
    if dci is not None:
      record["dci"] = dci.get("disentanglement",
                              dci.get("evaluation_results.disentanglement"))
    records.append(record)
  return records


def mean_std(values):
  """(mean, sample std (ddof=1; 0 for one value), count) or None."""
  values = [float(v) for v in values
            if v is not None and not (isinstance(v, float) and math.isnan(v))]
  if not values:
    return None
  mean = sum(values) / len(values)
  if len(values) < 2:
    return mean, 0., 1
  var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
  return mean, math.sqrt(var), len(values)


def summarize(records, methods=METHODS, n_s_values=N_S_VALUES):
  """{(method, n_s): {'S': (mean, std, n) | None, 'I': ..., 'mse': ...}}."""
  table = {}
  for method in methods:
    for n_s in n_s_values:
      rows = [r for r in records if r["method"] == method and r["n_s"] == n_s]
      table[method, n_s] = {
          key: mean_std([r.get(key) for r in rows])
          for key in ("S", "I", "mse", "num_shared_dims",
                      "num_shared_dims_sampled", "dci")}
      table[method, n_s]["runs"] = len(rows)
      if n_s == 0:
        table[method, n_s]["S"] = None
  return table


def table1_columns(n_s_values=N_S_VALUES):
  """[(n_s, 'S' | 'I')]: paper layout, n_s = 0 has no S column."""
  columns = []
  for n_s in n_s_values:
    if n_s != 0:
      columns.append((n_s, "S"))
    columns.append((n_s, "I"))
  return columns


def format_cell(stat, digits=3):
  if stat is None:
    return "-"
  return "{:.{d}f} ± {:.{d}f}".format(stat[0], stat[1], d=digits)


def table1_markdown(table, methods, n_s_values):
  columns = table1_columns(n_s_values)
  header = "| method | " + " | ".join(
      "n_s={}: {}".format(k, c) for k, c in columns) + " |"
  lines = [header, "|---|" + "---:|" * len(columns)]
  for method in methods:
    cells = [format_cell(table[method, k][c]) for k, c in columns]
    lines.append("| {} | {} |".format(METHOD_LABELS[method], " | ".join(cells)))
  return lines


def figure5_markdown(table, methods, n_s_values, key="mse"):
  lines = ["| method | " + " | ".join("n_s={}".format(k) for k in n_s_values)
           + " |", "|---|" + "---:|" * len(n_s_values)]
  for method in methods:
    lines.append("| {} | {} |".format(METHOD_LABELS[method], " | ".join(
        format_cell(table[method, k][key], 2) for k in n_s_values)))
  return lines


def write_csv(path, table, methods, n_s_values):
  """Paper layout: one row per method; mean/std columns per (n_s, S|I); then
  the n_s-estimate MSE and the number of finished seeds per n_s."""
  header = ["method"]
  for k, c in table1_columns(n_s_values):
    header += ["ns{}_{}_mean".format(k, c), "ns{}_{}_std".format(k, c)]
  for k in n_s_values:
    header += ["ns{}_mse_mean".format(k), "ns{}_mse_std".format(k)]
  header += ["ns{}_runs".format(k) for k in n_s_values]
  text = io.StringIO()
  writer = csv.writer(text)
  writer.writerow(header)
  for method in methods:
    row = [METHOD_LABELS[method]]
    cells = [table[method, k][c] for k, c in table1_columns(n_s_values)]
    cells += [table[method, k]["mse"] for k in n_s_values]
    for stat in cells:
      row += (["-", "-"] if stat is None else
              ["{:.6f}".format(stat[0]), "{:.6f}".format(stat[1])])
    row += [str(table[method, k]["runs"]) for k in n_s_values]
    writer.writerow(row)
  run_directory.write_atomic(path, text.getvalue())


def _grouped_bars(ax, groups, methods, stats, ylabel):
  import numpy as np  # pylint: disable=g-import-not-at-top
  width = 0.8 / max(len(methods), 1)
  x = np.arange(len(groups))
  for i, method in enumerate(methods):
    means = [s[0] if s else np.nan for s in stats[method]]
    stds = [s[1] if s else 0. for s in stats[method]]
    ax.bar(x + (i - (len(methods) - 1) / 2.) * width, means, width,
           yerr=stds, capsize=3, label=METHOD_LABELS[method])
  ax.set_xticks(x)
  ax.set_xticklabels(groups)
  ax.set_ylabel(ylabel)
  ax.legend(fontsize="small")
  ax.grid(axis="y", alpha=0.3)


def plot_table1(path, table, methods, n_s_values, title):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  columns = table1_columns(n_s_values)
  fig, ax = plt.subplots(figsize=(max(6., 1.3 * len(columns) + 2), 4))
  _grouped_bars(ax, ["n_s={}\n{}".format(k, c) for k, c in columns], methods,
                {m: [table[m, k][c] for k, c in columns] for m in methods},
                "adjusted balanced accuracy")
  ax.set_title(title)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def plot_figure5(path, table, methods, n_s_values, title):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, ax = plt.subplots(figsize=(6, 4))
  _grouped_bars(ax, ["n_s={}".format(k) for k in n_s_values], methods,
                {m: [table[m, k]["mse"] for k in n_s_values] for m in methods},
                "MSE(estimated shared dims, n_s)")
  ax.set_title(title)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def _range(values):
  values = sorted(v for v in values if v is not None)
  if not values:
    return "?"
  return str(values[0]) if values[0] == values[-1] else "{}-{}".format(
      values[0], values[-1])


def evaluation_note(settings, records):
  """One sentence on the S / I evaluation sets: sizing rule and realized."""
  note = ("S/I classifiers: fitting sets sized for >= {} pairs per factor and "
          "classifier, scoring sets for half as many".format(
              settings["eval_min_pairs"]))
  if any(r.get("num_train") for r in records):
    note += ("; realized over the runs: fit on {} pairs (fewest per factor: "
             "S {}, I {}), scored on {} other pairs (fewest per factor: S {}, "
             "I {})".format(
                 _range(r.get("num_train") for r in records),
                 _range(r.get("S_fit_pairs_min") for r in records
                        if r["n_s"] > 0),
                 _range(r.get("I_fit_pairs_min") for r in records),
                 _range(r.get("num_test") for r in records),
                 _range(r.get("S_score_pairs_min") for r in records
                        if r["n_s"] > 0),
                 _range(r.get("I_score_pairs_min") for r in records)))
  return note + "."


def scale_lines(settings, records, methods=None):
  """The header bullets every report starts with: data, scale, sweep, eval."""
  methods = settings["methods"] if methods is None else methods
  return [
      "- Dataset: `{}`; architecture: `{}`{}; {} training steps, batch {}, "
      "d = {}, beta = {}, gamma = {}, Adam {}.".format(
          settings["dataset"], settings["architecture"],
          " (reduced, NOT dlib's conv64)"
          if settings["architecture"] == "conv32" else "",
          settings["training_steps"], settings["batch_size"],
          settings["num_latent"], settings["beta"], settings["gamma"],
          settings["learning_rate"]),
      "- Objective: `{}` ({}); aggregation settings beyond the defaults: "
      "{}.".format(
          settings["objective"], OBJECTIVE_NOTES.get(settings["objective"],
                                                     "?"),
          ", ".join("`{} = {!r}`".format(k, v) for k, v in
                    settings["aggregation_bindings"].items()) or "none"),
      "- Sweep: methods {}, n_s {}, seeds {}.".format(
          ", ".join(METHOD_LABELS.get(m, m) for m in methods),
          ", ".join(str(k) for k in settings["n_s_values"]),
          ", ".join(str(s) for s in settings["seeds"])),
      "- " + evaluation_note(settings, records)]


SHARED_DIMS_SCALARS = ("aggregation/num_shared_dims_mode",
                       "aggregation/num_shared_dims")


def read_shared_dims_curve(model_dir):
  """[(step, estimated shared dims)] of a run, from its TensorBoard scalars.

  The deterministic estimate (`num_shared_dims_mode`, hg / drpm) where it was
  logged, else `num_shared_dims` (label and adaptive are deterministic).
  Returns [] when the run has no events.
  """
  import glob  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  curves = {tag: {} for tag in SHARED_DIMS_SCALARS}
  for path in sorted(glob.glob(os.path.join(model_dir, "tensorboard",
                                            "events.out.tfevents.*"))):
    try:
      for event in tf.compat.v1.train.summary_iterator(path):
        for value in event.summary.value:
          if value.tag in curves:
            curves[value.tag][int(event.step)] = float(
                tf.make_ndarray(value.tensor))
    except tf.errors.DataLossError:
      pass  # A truncated last record (the run was killed while writing).
  for tag in SHARED_DIMS_SCALARS:
    if curves[tag]:
      return sorted(curves[tag].items())
  return []


def plot_shared_dims_curves(path, runs, methods, n_s_values, title):
  """Estimated shared dims vs training step, one panel per n_s (mean over
  seeds, band = min..max over seeds), a line per method; dashed: true n_s."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  fig, axes = plt.subplots(1, len(n_s_values),
                           figsize=(4 * len(n_s_values), 3.4), sharey=True,
                           squeeze=False)
  for ax, n_s in zip(axes[0], n_s_values):
    for method in methods:
      curves = [dict(read_shared_dims_curve(r.model_dir)) for r in runs
                if r.method == method and r.n_s == n_s]
      curves = [c for c in curves if c]
      if not curves:
        continue
      steps = sorted(set.intersection(*(set(c) for c in curves)))
      values = np.array([[c[s] for s in steps] for c in curves])
      line, = ax.plot(steps, values.mean(0), label="{} ({} seeds)".format(
          METHOD_LABELS.get(method, method), len(curves)))
      ax.fill_between(steps, values.min(0), values.max(0), alpha=0.15,
                      color=line.get_color())
    ax.axhline(n_s, color="black", linestyle="--", linewidth=1)
    ax.set_title("n_s = {}".format(n_s))
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)
  axes[0][0].set_ylabel("estimated shared dims")
  axes[0][-1].legend(fontsize="small")
  fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def variants_markdown(rows, settings, command, split="validation"):
  """Markdown table comparing variants of one preset (e.g. ablations).

  Args:
    rows: `(label, extra gin bindings, records of collect_results)` per variant.
    settings: the preset's `load_settings` (scale and sweep, stated on top).
    command: the command that produced the report.
    split: the evaluation split the records come from (stated).
  """
  records = [r for _, _, rs in rows for r in rs]
  lines = ["# Variants of preset `{}`".format(settings["preset"]), ""]
  lines += scale_lines(settings, records)
  lines += [
      "- Scored on the `{}` pairs.".format(split),
      "- Command: `{}`".format(command), "",
      "Mean ± sample std over seeds; S / I: adjusted balanced accuracy of the "
      "shared / independent representation; MSE: (estimated number of shared "
      "dims - n_s)^2; shared dims: mean estimate.", "",
      "| variant | extra bindings | runs | S | I | MSE | shared dims |",
      "|---|---|---:|---:|---:|---:|---:|"]
  for label, bindings, records in rows:
    cells = []
    for key, digits in (("S", 3), ("I", 3), ("mse", 2),
                        ("num_shared_dims", 2)):
      cells.append(format_cell(mean_std([r.get(key) for r in records]),
                               digits))
    lines.append("| {} | {} | {} | {} |".format(
        label, "; ".join("`{}`".format(b) for b in bindings) or "-",
        len(records), " | ".join(cells)))
  return "\n".join(lines + [""])


def _train_time_note(records):
  seconds = sorted(r["train_seconds"] for r in records
                   if r.get("train_seconds") is not None)
  if not seconds:
    return ""
  return (" Training time per run (last training session, from "
          "train_results.json): median {:.0f} s, total {:.1f} process-hours."
          .format(seconds[len(seconds) // 2], sum(seconds) / 3600.))


def write_report(output_dir, settings, runs, command, statuses=None):
  """Writes table1_<preset>.{md,csv,png} and figure5_<preset>.png.

  Returns the markdown text.
  """
  preset = settings["preset"]
  methods, n_s_values = settings["methods"], settings["n_s_values"]
  # Always the paper's rows and columns; cells without runs show '-'.
  methods = [m for m in METHODS if m in methods] + [
      m for m in methods if m not in METHODS]
  all_methods = list(METHODS)
  all_n_s = sorted(set(N_S_VALUES) | set(n_s_values))
  records = collect_results(runs)
  table = summarize(records, all_methods, all_n_s)
  os.makedirs(output_dir, exist_ok=True)
  base = os.path.join(output_dir, "table1_{}".format(preset))
  write_csv(base + ".csv", table, all_methods, all_n_s)
  scale = "{} steps, batch {}, architecture {}".format(
      settings["training_steps"], settings["batch_size"],
      settings["architecture"])
  plot_table1(base + ".png", table, all_methods, all_n_s,
              "Table 1 ({}): {}".format(preset, scale))
  plot_figure5(os.path.join(output_dir, "figure5_{}.png".format(preset)),
               table, all_methods, all_n_s,
               "Figure 5 ({}): n_s estimate".format(preset))
  curve_n_s = [k for k in n_s_values if k > 0]
  if curve_n_s:
    plot_shared_dims_curves(
        os.path.join(output_dir, "shared_dims_{}.png".format(preset)), runs,
        all_methods, curve_n_s,
        "Estimated shared dims during training ({})".format(preset))
  lines = ["# Table 1: preset `{}`".format(preset), ""]
  lines += scale_lines(settings, records, methods)
  lines += [
      "- Finished runs: {} of {}.{}".format(len(records), len(runs),
                                            _train_time_note(records)),
      "- Command: `{}`".format(command),
      "",
      "Adjusted balanced accuracy of a logistic regression predicting each "
      "factor from the shared (S) / independent (I) representation, averaged "
      "over factors; mean ± sample std over seeds (std 0 for one seed); '-': "
      "no finished run (n_s = 0 has no S column).", ""]
  lines += table1_markdown(table, all_methods, all_n_s)
  lines += ["", "## Figure 5: MSE between the estimated number of shared "
            "dims and n_s", ""]
  lines += figure5_markdown(table, all_methods, all_n_s)
  lines += ["", "Mean estimated number of shared dims (true: n_s):", ""]
  lines += figure5_markdown(table, all_methods, all_n_s, "num_shared_dims")
  lines += ["", "The same from one sampled aggregation per pair at the final "
            "temperature (HG, DRPM; for comparison only):", ""]
  lines += figure5_markdown(table, all_methods, all_n_s,
                            "num_shared_dims_sampled")
  if any("dci" in r and r["dci"] is not None for r in records):
    lines += ["", "## DCI disentanglement (dlib)", ""]
    lines += figure5_markdown(table, all_methods, all_n_s, "dci")
  lines += ["", "Finished seeds per cell:", "",
            "| method | " + " | ".join("n_s={}".format(k) for k in all_n_s)
            + " |", "|---|" + "---:|" * len(all_n_s)]
  for method in all_methods:
    lines.append("| {} | {} |".format(METHOD_LABELS[method], " | ".join(
        str(table[method, k]["runs"]) for k in all_n_s)))
  failed = [s for s in (statuses or []) if s[1].startswith("failed")]
  if failed:
    lines += ["", "Failed runs (see `<run>/{}`): {}.".format(
        LOG_FILE, ", ".join("{} ({})".format(n, s) for n, s, _ in failed))]
  lines += ["", "Plots: `table1_{p}.png`, `figure5_{p}.png`{c}.".format(
      p=preset, c=", `shared_dims_{}.png` (estimated shared dims against the "
      "training step, from the runs' TensorBoard scalars)".format(preset)
      if curve_n_s else ""), ""]
  text = "\n".join(lines)
  run_directory.write_atomic(base + ".md", text)
  return text


# ------------------------------------------------------------------- main --

def parse_args(argv):
  parser = argparse.ArgumentParser(
      prog="drpm-reproduce-table1",
      description="Table 1 / Figure 5 sweep: train, evaluate, aggregate.")
  parser.add_argument("--preset", required=True,
                      help="demo | quick | paper, or a path to a preset .gin")
  parser.add_argument("--output_dir", required=True)
  parser.add_argument("--jobs", type=int, default=1,
                      help="parallel run processes (default 1)")
  parser.add_argument("--threads", type=int, default=None,
                      help="TF / BLAS threads per process (default: "
                      "cpu_count // jobs, at least 1)")
  parser.add_argument("--emit-jobs", "--emit_jobs", dest="emit_jobs",
                      default=None, help="write one shell command per "
                      "unfinished run to this file and exit")
  parser.add_argument("--run", default=None, help="execute only this run "
                      "(name <method>_ns<k>_seed<s>), no aggregation")
  parser.add_argument("--aggregate_only", action="store_true",
                      help="only write the table and plots")
  parser.add_argument("--dci", action="store_true",
                      help="also run dlib's DCI (TABLE1_DCI_CONFIG)")
  parser.add_argument("--gin_bindings", action="append", default=[],
                      help="extra training bindings for every run")
  parser.add_argument("--report_dir", default=None,
                      help="write the table, CSV and plots here instead of "
                      "--output_dir (e.g. docs/results)")
  parser.add_argument("--methods", nargs="+", default=None,
                      help="override the preset's TABLE1_METHODS")
  parser.add_argument("--n_s", nargs="+", type=int, default=None,
                      help="override the preset's TABLE1_N_S")
  parser.add_argument("--seeds", nargs="+", type=int, default=None,
                      help="override the preset's TABLE1_SEEDS")
  parser.add_argument("--config_dir", default=CONFIG_DIR)
  cli.add_verbose_argument(parser)
  return parser.parse_args(argv)


def override_sweep(settings, methods=None, n_s_values=None, seeds=None):
  """`settings` with the sweep (methods, n_s, seeds) replaced where given."""
  settings = dict(settings)
  if methods is not None:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
      raise errors.ConfigError("--methods: unknown {}; valid: {}.".format(
          unknown, ", ".join(METHODS)))
    settings["methods"] = list(methods)
  if n_s_values is not None:
    settings["n_s_values"] = [int(k) for k in n_s_values]
  if seeds is not None:
    settings["seeds"] = [int(s) for s in seeds]
  return settings


def _sweep_flags(args):
  """The command-line flags that changed the preset's sweep."""
  flags = ""
  for name, values in (("methods", args.methods), ("n_s", args.n_s),
                       ("seeds", args.seeds)):
    if values is not None:
      flags += " --{} {}".format(name, " ".join(str(v) for v in values))
  return flags


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  settings = override_sweep(load_settings(args.preset, args.config_dir),
                            args.methods, args.n_s, args.seeds)
  runs = enumerate_runs(settings, args.output_dir)
  if args.run is not None:
    selected = [r for r in runs if r.name == args.run]
    if not selected:
      raise SystemExit("No run {!r} in preset {!r} (runs: {}).".format(
          args.run, settings["preset"], ", ".join(r.name for r in runs)))
    name, status, seconds = execute_run(
        selected[0], settings, args.threads or os.cpu_count() or 1, args.dci,
        args.gin_bindings)
    print("{}: {} ({:.0f} s)".format(name, status, seconds), flush=True)
    return 0 if not status.startswith("failed") else 1
  if args.emit_jobs:
    preset = (settings["preset_path"] if args.preset.endswith(".gin")
              else args.preset)
    pending = [r for r in runs if not is_finished(r.model_dir, args.dci)]
    with open(args.emit_jobs, "w") as f:
      for run in pending:
        f.write(job_command(run, preset, args.output_dir, args.dci,
                            args.gin_bindings, args.threads,
                            _sweep_flags(args)) + "\n")
    print("Wrote {} command(s) ({} of {} runs already finished) to {}. After "
          "they ran: drpm-reproduce-table1 --preset {} --output_dir {} "
          "--aggregate_only".format(len(pending), len(runs) - len(pending),
                                    len(runs), args.emit_jobs, args.preset,
                                    args.output_dir), flush=True)
    return 0
  statuses = None
  timer = time.time()
  if not args.aggregate_only:
    statuses = run_sweep(runs, settings, args.jobs, args.threads, args.dci,
                         args.gin_bindings,
                         log=lambda m: print(m, flush=True))
  command = "drpm-reproduce-table1 --preset {} --output_dir {}{}{}{}".format(
      args.preset, args.output_dir, _sweep_flags(args),
      " --jobs {}".format(args.jobs) if args.jobs != 1 else "",
      " --dci" if args.dci else "")
  for binding in args.gin_bindings:
    command += " --gin_bindings {}".format(shlex.quote(binding))
  if args.report_dir:
    command += " --report_dir {}".format(args.report_dir)
  text = write_report(args.report_dir or args.output_dir, settings, runs,
                      command, statuses)
  print(text, flush=True)
  if statuses is not None:
    print("Sweep wall time: {:.0f} s.".format(time.time() - timer),
          flush=True)
  failed = [s for s in (statuses or []) if s[1].startswith("failed")]
  return 1 if failed else 0

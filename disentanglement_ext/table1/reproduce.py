"""`drpm-reproduce-table1`: run a preset's sweep, or emit it as jobs, then
aggregate it (docs/table1.md).

`reproduce(preset, output_dir, ...)` does one of

- `run=NAME`: execute that one run (skip / resume as in the sweep), no report;
- `emit_jobs=FILE`: write one shell command per unfinished run (each
  `... --run NAME`) to FILE, for array jobs, and run nothing;
- otherwise: execute every run of the grid with `jobs` parallel processes
  (unless `aggregate_only`), then write the report of every finished run
  found under `output_dir` (to `report_dir` if given).
"""
import os
import shlex
import time

from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import report
from disentanglement_ext.table1 import runs as runs_lib
from drpm_tf import errors


def sweep_flags(methods=None, n_s_values=None, seeds=None):
  """The command-line flags that override the preset's sweep, as a list."""
  flags = []
  for name, values in (("methods", methods), ("n_s", n_s_values),
                       ("seeds", seeds)):
    if values is not None:
      flags.append("--{}={}".format(name, ",".join(str(v) for v in values)))
  return flags


def _command(preset, output_dir, jobs, dci, gin_bindings, report_dir, flags):
  """The command line the report states (what reproduces it)."""
  command = "drpm-reproduce-table1 --preset {} --output_dir {}{}{}{}".format(
      preset, output_dir, "".join(" " + f for f in flags),
      " --jobs {}".format(jobs) if jobs != 1 else "",
      " --dci" if dci else "")
  for binding in gin_bindings:
    command += " --gin_bindings {}".format(shlex.quote(binding))
  if report_dir:
    command += " --report_dir {}".format(report_dir)
  return command


def reproduce(preset, output_dir, jobs=1, threads=None, emit_jobs=None,
              run=None, aggregate_only=False, dci=False, gin_bindings=(),
              report_dir=None, methods=None, n_s_values=None, seeds=None,
              config_dir=presets.CONFIG_DIR, log=print):
  """Runs, emits or aggregates the sweep of `preset` (module doc).

  Args:
    preset: a preset name ('demo', 'quick', 'cpu', 'paper') or a .gin path.
    output_dir: directory of the run directories (and of the report).
    jobs: parallel run processes.
    threads: TF / BLAS threads per process (None: cpu_count // jobs).
    emit_jobs: write the unfinished runs' commands to this file instead.
    run: execute only this run (`<method>_ns<k>_seed<s>`), no report.
    aggregate_only: only write the report.
    dci: also run dlib's DCI (the preset's TABLE1_DCI_CONFIG).
    gin_bindings: extra training bindings for every run.
    report_dir: write the report here instead of `output_dir`.
    methods, n_s_values, seeds: override the preset's sweep.
    config_dir: where presets and the method / n_s files are.
    log: prints progress and the report.

  Returns:
    The exit status: 0, or 1 if a run failed.

  Raises:
    ConfigError: unknown preset, method or run name.
  """
  settings = presets.override_sweep(presets.load_settings(preset, config_dir),
                                    methods, n_s_values, seeds)
  grid = runs_lib.enumerate_runs(settings, output_dir)
  flags = sweep_flags(methods, n_s_values, seeds)
  if run is not None:
    selected = [r for r in grid if r.name == run]
    if not selected:
      raise errors.ConfigError("No run {!r} in preset {!r} (runs: {}).".format(
          run, settings["preset"], ", ".join(r.name for r in grid)))
    name, status, seconds = runs_lib.execute_run(
        selected[0], settings, threads or os.cpu_count() or 1, dci,
        gin_bindings, log)
    log("{}: {} ({:.0f} s)".format(name, status, seconds))
    return 0 if not status.startswith("failed") else 1
  if emit_jobs:
    # A named preset stays a name: the jobs run wherever the package is.
    job_preset = settings["preset_path"] if preset.endswith(".gin") else preset
    pending = [r for r in grid if not runs_lib.is_finished(r.model_dir, dci)]
    with open(emit_jobs, "w") as f:
      for pending_run in pending:
        f.write(runs_lib.job_command(pending_run, job_preset, output_dir, dci,
                                     gin_bindings, threads, flags) + "\n")
    log("Wrote {} command(s) ({} of {} runs already finished) to {}. After "
        "they ran: drpm-reproduce-table1 --preset {} --output_dir {} "
        "--aggregate_only".format(len(pending), len(grid) - len(pending),
                                  len(grid), emit_jobs, preset, output_dir))
    return 0
  statuses = None
  timer = time.time()
  if not aggregate_only:
    statuses = runs_lib.run_sweep(grid, settings, jobs, threads, dci,
                                  gin_bindings, log=log)
  text = report.write_report(
      report_dir or output_dir, settings, grid,
      _command(preset, output_dir, jobs, dci, gin_bindings, report_dir, flags),
      statuses)
  log(text)
  if statuses is not None:
    log("Sweep wall time: {:.0f} s.".format(time.time() - timer))
  failed = [s for s in (statuses or []) if s[1].startswith("failed")]
  return 1 if failed else 0

"""drpm-reproduce-table1: --emit-jobs, --aggregate_only, --run, and a real
2-run sweep with --jobs 2 through the console script."""
import json
import os
import shlex
import subprocess
import sys
import time

import pytest

from disentanglement_ext import evaluate
from disentanglement_ext import run_layout
from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import reproduce
from disentanglement_ext.table1 import runs
from drpm_tf import errors

import fake_runs

CLI = [sys.executable, "-m", "disentanglement_ext.bin.reproduce_table1"]


def test_emit_jobs_one_valid_command_per_unfinished_run(tmp_path,
                                                       fake_exports):
  out = str(tmp_path / "out")
  settings = presets.load_settings("demo")
  grid = runs.enumerate_runs(settings, out)
  fake_runs.finish(grid[0], 0.1, 0.2, 0.5)
  jobs = str(tmp_path / "jobs.txt")
  assert reproduce.reproduce("demo", out, emit_jobs=jobs,
                             log=lambda m: None) == 0
  with open(jobs) as f:
    lines = f.read().splitlines()
  assert len(lines) == len(grid) - 1
  for line, run in zip(lines, grid[1:]):
    argv = shlex.split(line)
    assert argv[:3] == CLI
    assert argv[argv.index("--preset") + 1] == "demo"
    assert argv[argv.index("--run") + 1] == run.name
    assert argv[argv.index("--output_dir") + 1] == os.path.abspath(out)
  check = subprocess.run(["bash", "-n", jobs], capture_output=True, text=True)
  assert check.returncode == 0, check.stderr
  # No run directory was created: emitting runs nothing.
  assert not os.path.exists(grid[1].model_dir)


def test_an_emitted_command_runs_its_run(tmp_path, hold_lock):
  # With the sweep overridden on the command line, and run from elsewhere:
  # the command finds its run (held by another process, so it is reported
  # busy instead of trained).
  out = str(tmp_path / "out")
  jobs = str(tmp_path / "jobs.txt")
  assert reproduce.reproduce("quick", out, emit_jobs=jobs, methods=["drpm"],
                             n_s_values=[3], seeds=[1], dci=True,
                             gin_bindings=["train_weak.learning_rate = 1e-3"],
                             log=lambda m: None) == 0
  with open(jobs) as f:
    (line,) = f.read().splitlines()
  argv = shlex.split(line)
  for flag in ("--methods=drpm", "--n_s=3", "--seeds=1", "--dci"):
    assert flag in argv
  assert argv[argv.index("--gin_bindings") + 1] == (
      "train_weak.learning_rate = 1e-3")
  hold_lock(os.path.join(out, "drpm_ns3_seed1"), name=run_layout.SWEEP_LOCK)
  proc = subprocess.run(["bash", "-c", line], capture_output=True, text=True,
                        cwd=str(tmp_path), timeout=120,
                        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "drpm_ns3_seed1: busy" in proc.stdout


def test_unknown_run_is_a_config_error(tmp_path):
  with pytest.raises(errors.ConfigError, match="No run 'drpm_ns4_seed0'"):
    reproduce.reproduce("demo", str(tmp_path), run="drpm_ns4_seed0",
                        log=lambda m: None)


def test_aggregate_only_writes_the_report_to_report_dir(tmp_path,
                                                       fake_exports):
  out, report = str(tmp_path / "runs"), str(tmp_path / "docs")
  settings = presets.load_settings("demo")
  grid = runs.enumerate_runs(settings, out)
  for seconds, run in zip((100., 300., 200.), grid):
    fake_runs.finish(run, 0.1, 0.2, 0.5, train_seconds=seconds)
  printed = []
  assert reproduce.reproduce("demo", out, jobs=2, aggregate_only=True,
                             report_dir=report, log=printed.append) == 0
  assert not os.path.exists(os.path.join(out, "table1_demo.md"))
  with open(os.path.join(report, "table1_demo.md")) as f:
    text = f.read()
  assert text in printed
  # Median of (100, 200, 300) and their sum in hours.
  assert ("- Finished runs: 3 of 4. Training time per run (last training "
          "session, from train_results.json): median 200 s, total 0.2 "
          "process-hours.") in text.splitlines()
  assert ("- Command: `drpm-reproduce-table1 --preset demo --output_dir {} "
          "--jobs 2 --report_dir {}`".format(out, report)) in text.splitlines()
  for name in ("table1_demo.csv", "table1_demo.png", "figure5_demo.png"):
    assert os.path.isfile(os.path.join(report, name))


MINI_PRESET = """
weak_vae.architecture = 'conv32'
train_weak.training_steps = 6
train_weak.batch_size = 8
train_weak.checkpoint_every = 3
train_weak.log_every = 3
train_weak.num_parallel_calls = 1
TABLE1_METHODS = ['adaptive', 'drpm']
TABLE1_N_S = [3]
TABLE1_SEEDS = [0]
TABLE1_EVAL_MIN_PAIRS_PER_FACTOR = 40
"""


def test_mini_sweep_end_to_end_with_two_jobs(tmp_path):
  preset = str(tmp_path / "mini.gin")
  with open(preset, "w") as f:
    f.write(MINI_PRESET)
  out = str(tmp_path / "out")
  # Away from the repository; the sweep given as the argparse-era
  # space-separated lists (the preset's own values).
  command = CLI + ["--preset", preset, "--output_dir", out, "--jobs", "2",
                   "--threads", "1", "--methods", "adaptive", "drpm",
                   "--n_s", "3"]
  timer = time.time()
  proc = subprocess.run(command, capture_output=True, text=True,
                        cwd=str(tmp_path), timeout=300)
  elapsed = time.time() - timer
  logs = ""
  for name in ("adaptive_ns3_seed0", "drpm_ns3_seed0"):
    log = os.path.join(out, name, run_layout.SWEEP_LOG)
    if os.path.exists(log):
      with open(log) as f:
        logs += f.read()[-2000:]
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + logs
  assert "2 to run with 2 job(s) x 1 thread(s)" in proc.stdout, proc.stdout
  for name in ("adaptive_ns3_seed0", "drpm_ns3_seed0"):
    run_dir = os.path.join(out, name)
    assert runs.is_finished(run_dir), name
    with open(os.path.join(run_dir, run_layout.EVAL_RESULTS)) as f:
      result = json.load(f)
    assert result["n_s"] == 3 and result["split"] == "test"
    # Sized so that each factor's S / I classifier sees ~40 pairs.
    assert result["num_train"] == evaluate.pairs_needed(40, 7, 3) == 108
    assert result["num_test"] == evaluate.pairs_needed(20, 7, 3)
    assert result["S_fit_pairs_min"] >= 30 and result["I_fit_pairs_min"] >= 30
    with open(os.path.join(run_dir, run_layout.VALIDATION_RESULTS)) as f:
      assert json.load(f)["split"] == "validation"
    with open(os.path.join(run_dir, run_layout.TRAIN_RESULTS)) as f:
      assert json.load(f)["global_step"] == 6
  with open(os.path.join(out, "table1_mini.md")) as f:
    text = f.read()
  assert "- Finished runs: 2 of 2." in text
  assert "--methods=adaptive,drpm --n_s=3 --jobs 2" in text
  for label in ("ADA", "DRPM"):
    row = [l for l in text.splitlines() if l.startswith("| {} |".format(
        label))][0].split(" | ")
    # n_s = 3: S and I are numbers; other columns '-'.
    assert "±" in row[4] and "±" in row[5], row
    assert row[1] == "-" and row[2] == "-"
  assert os.path.exists(os.path.join(out, "figure5_mini.png"))
  assert os.path.exists(os.path.join(out, "shared_dims_mini.png"))
  # Rerun: everything is skipped.
  again = subprocess.run(command, capture_output=True, text=True,
                         cwd=str(tmp_path), timeout=120)
  assert again.returncode == 0, again.stderr[-2000:]
  assert "2 finished, 0 to run" in again.stdout
  print("mini sweep: {:.1f} s".format(elapsed))

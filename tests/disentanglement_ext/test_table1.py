"""drpm-reproduce-table1: enumeration, --emit-jobs, skip logic, aggregation,
plots, and a real 2-run sweep with --jobs 2."""
import csv
import json
import os
import shlex
import subprocess
import sys
import time

import pytest

from disentanglement_ext import evaluate
from disentanglement_ext import table1

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _write_json(path, value):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    json.dump(value, f)


@pytest.fixture
def fake_exports(monkeypatch):
  """Fake runs have no TF-Hub export: count the marker file as a loading
  export (test_weak_faults.py checks the real verification)."""
  monkeypatch.setattr(table1, "export_loads", lambda model_dir: os.path.exists(
      os.path.join(model_dir, table1.POSTPROCESS_GIN)))


def _fake_finished(run, S, I, mse, num_shared=1.0, evaluated=True,  # pylint: disable=invalid-name
                   train_seconds=None):
  train = {"global_step": 1}
  if train_seconds is not None:
    train["elapsed_time"] = train_seconds
  _write_json(os.path.join(run.model_dir, table1.TRAIN_RESULTS), train)
  path = os.path.join(run.model_dir, table1.POSTPROCESS_GIN)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    f.write("dataset.name = 'synthetic_mpi3d'\n")
  if evaluated:
    for path in (table1.EVAL_RESULTS, table1.VALIDATION_RESULTS):
      _write_json(os.path.join(run.model_dir, path),
                  {"S": S, "I": I, "num_shared_dims_mse": mse,
                   "num_shared_dims_mean": num_shared})


@pytest.mark.parametrize("preset,counts", [
    ("demo", (2, 2, 1)), ("quick", (4, 4, 2)), ("paper", (4, 4, 5))])
def test_enumeration(tmp_path, preset, counts):
  settings = table1.load_settings(preset)
  assert (len(settings["methods"]), len(settings["n_s_values"]),
          len(settings["seeds"])) == counts
  runs = table1.enumerate_runs(settings, str(tmp_path))
  assert len(runs) == counts[0] * counts[1] * counts[2]
  names = [r.name for r in runs]
  assert len(set(names)) == len(names)
  for run in runs:
    assert run.name == "{}_ns{}_seed{}".format(run.method, run.n_s, run.seed)
    assert run.model_dir == os.path.join(str(tmp_path), run.name)
    assert run.method in table1.METHODS and run.n_s in table1.N_S_VALUES
  if preset == "paper":
    assert settings["architecture"] == "conv64"
    assert settings["training_steps"] == 300000
    assert settings["batch_size"] == 64
    assert (settings["num_latent"], settings["beta"],
            settings["gamma"]) == (10, 1.0, 0.25)
    assert settings["seeds"] == [0, 1, 2, 3, 4]
    # The preset named after the paper trains on the real mpi3d_toy.
    assert settings["dataset"] == "mpi3d_toy"
  else:
    assert settings["dataset"] == "synthetic_mpi3d"
  assert settings["objective"] == "paper"


def test_run_commands_use_the_gin_files(tmp_path):
  settings = table1.load_settings("quick")
  run = table1.enumerate_runs(settings, str(tmp_path))[5]
  commands = table1.run_commands(run, settings, dci=True)
  train = commands["train"]
  configs = [train[i + 1] for i, a in enumerate(train) if a == "--gin_config"]
  assert [os.path.basename(c) for c in configs] == [
      "base.gin", run.method + ".gin", "ns{}.gin".format(run.n_s),
      "quick.gin"]
  assert "train_weak.random_seed = {}".format(run.seed) in train
  evaluate = commands["evaluate"]
  assert evaluate[evaluate.index("--min_pairs_per_factor") + 1] == str(
      settings["eval_min_pairs"]) == "1000"
  assert "--split" not in evaluate
  assert commands["validate"] == evaluate + ["--split", "validation"]
  assert commands["dci"][-2].endswith("dci_quick.gin")


def test_emit_jobs_one_valid_command_per_unfinished_run(tmp_path,
                                                       fake_exports):
  out = str(tmp_path / "out")
  settings = table1.load_settings("demo")
  runs = table1.enumerate_runs(settings, out)
  _fake_finished(runs[0], 0.1, 0.2, 0.5)
  jobs = str(tmp_path / "jobs.txt")
  assert table1.main(["--preset", "demo", "--output_dir", out,
                      "--emit-jobs", jobs]) == 0
  with open(jobs) as f:
    lines = f.read().splitlines()
  assert len(lines) == len(runs) - 1
  for line, run in zip(lines, runs[1:]):
    argv = shlex.split(line)
    assert argv[argv.index("--run") + 1] == run.name
    assert argv[argv.index("--output_dir") + 1] == os.path.abspath(out)
  check = subprocess.run(["bash", "-n", jobs], capture_output=True, text=True)
  assert check.returncode == 0, check.stderr
  # No run directory was created: emitting runs nothing.
  assert not os.path.exists(runs[1].model_dir)


def test_skip_finished_and_detect_unfinished(tmp_path, fake_exports):
  settings = table1.load_settings("demo")
  runs = table1.enumerate_runs(settings, str(tmp_path))
  _fake_finished(runs[0], 0.1, 0.2, 0.5)
  _fake_finished(runs[1], 0.1, 0.2, 0.5, evaluated=False)
  assert table1.is_finished(runs[0].model_dir)
  assert not table1.is_finished(runs[1].model_dir)
  assert not table1.is_finished(runs[0].model_dir, dci=True)
  name, status, _ = table1.execute_run(runs[0], settings)
  assert (name, status) == (runs[0].name, "skipped")
  assert not os.path.exists(os.path.join(runs[0].model_dir, table1.LOG_FILE))


def test_aggregation_of_fake_results(tmp_path, fake_exports):
  out = str(tmp_path)
  settings = table1.load_settings("quick")
  runs = {r.name: r for r in table1.enumerate_runs(settings, out)}
  # ADA, n_s = 1, two seeds; DRPM, n_s = 0, one seed; everything else missing.
  _fake_finished(runs["adaptive_ns1_seed0"], 0.2, 0.5, 1.0, 2.0)
  _fake_finished(runs["adaptive_ns1_seed1"], 0.4, 0.7, 3.0, 4.0)
  _fake_finished(runs["drpm_ns0_seed0"], None, 0.3, 0.25, 0.5)
  # A trained but unevaluated run is not counted.
  _fake_finished(runs["drpm_ns5_seed0"], 0.9, 0.9, 0.0, evaluated=False)
  text = table1.write_report(out, settings, list(runs.values()), "CMD")
  with open(os.path.join(out, "table1_quick.md")) as f:
    assert f.read() == text
  lines = text.splitlines()
  header = [l for l in lines if l.startswith("| method | n_s=0")][0]
  assert header == ("| method | n_s=0: I | n_s=1: S | n_s=1: I | n_s=3: S | "
                    "n_s=3: I | n_s=5: S | n_s=5: I |")
  ada = [l for l in lines if l.startswith("| ADA |")][0]
  assert ada == ("| ADA | - | 0.300 ± 0.141 | 0.600 ± 0.141 | - | - | - | - |")
  drpm = [l for l in lines if l.startswith("| DRPM |")][0]
  assert drpm == "| DRPM | 0.300 ± 0.000 | - | - | - | - | - | - |"
  assert "| LABEL | - | - | - | - | - | - | - |" in lines
  assert "| HG | - | - | - | - | - | - | - |" in lines
  # Figure 5 table: MSE.
  assert "| ADA | - | 2.00 ± 1.41 | - | - |" in lines
  assert "- Finished runs: 3 of 32." in lines
  assert "- Command: `CMD`" in lines
  assert "steps" in text and "conv32" in text and "seeds 0, 1" in text

  with open(os.path.join(out, "table1_quick.csv")) as f:
    rows = list(csv.DictReader(f))
  assert [r["method"] for r in rows] == ["LABEL", "ADA", "HG", "DRPM"]
  assert "ns0_S_mean" not in rows[0]
  ada = rows[1]
  assert float(ada["ns1_S_mean"]) == pytest.approx(0.3, abs=1e-6)
  assert float(ada["ns1_S_std"]) == pytest.approx(0.1414214, abs=1e-6)
  assert float(ada["ns1_I_mean"]) == pytest.approx(0.6, abs=1e-6)
  assert float(ada["ns1_mse_mean"]) == pytest.approx(2.0, abs=1e-6)
  assert float(ada["ns1_mse_std"]) == pytest.approx(1.4142136, abs=1e-6)
  assert ada["ns1_runs"] == "2" and ada["ns3_runs"] == "0"
  assert ada["ns0_I_mean"] == "-" and ada["ns3_S_mean"] == "-"
  assert float(rows[3]["ns0_I_mean"]) == pytest.approx(0.3)
  assert rows[3]["ns5_S_mean"] == "-"

  from matplotlib import image  # pylint: disable=g-import-not-at-top
  for name in ("table1_quick.png", "figure5_quick.png"):
    path = os.path.join(out, name)
    with open(path, "rb") as f:
      assert f.read(8) == PNG_MAGIC
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_aggregate_only_writes_the_report_to_report_dir(tmp_path, capsys,
                                                       fake_exports):
  out, report = str(tmp_path / "runs"), str(tmp_path / "docs")
  settings = table1.load_settings("demo")
  runs = table1.enumerate_runs(settings, out)
  for seconds, run in zip((100., 300., 200.), runs):
    _fake_finished(run, 0.1, 0.2, 0.5, train_seconds=seconds)
  assert table1.main(["--preset", "demo", "--output_dir", out, "--jobs", "2",
                      "--aggregate_only", "--report_dir", report]) == 0
  assert not os.path.exists(os.path.join(out, "table1_demo.md"))
  with open(os.path.join(report, "table1_demo.md")) as f:
    text = f.read()
  assert text in capsys.readouterr().out
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
  command = [sys.executable, "-m", "scripts.reproduce_table1", "--preset",
             preset, "--output_dir", out, "--jobs", "2", "--threads", "1"]
  timer = time.time()
  proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                        timeout=300)
  elapsed = time.time() - timer
  logs = ""
  for name in ("adaptive_ns3_seed0", "drpm_ns3_seed0"):
    log = os.path.join(out, name, table1.LOG_FILE)
    if os.path.exists(log):
      with open(log) as f:
        logs += f.read()[-2000:]
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + logs
  assert "2 to run with 2 job(s) x 1 thread(s)" in proc.stdout, proc.stdout
  for name in ("adaptive_ns3_seed0", "drpm_ns3_seed0"):
    run_dir = os.path.join(out, name)
    assert table1.is_finished(run_dir), name
    with open(os.path.join(run_dir, table1.EVAL_RESULTS)) as f:
      result = json.load(f)
    assert result["n_s"] == 3 and result["split"] == "test"
    # Sized so that each factor's S / I classifier sees ~40 pairs.
    assert result["num_train"] == evaluate.pairs_needed(40, 7, 3) == 108
    assert result["num_test"] == evaluate.pairs_needed(20, 7, 3)
    assert result["S_fit_pairs_min"] >= 30 and result["I_fit_pairs_min"] >= 30
    with open(os.path.join(run_dir, table1.VALIDATION_RESULTS)) as f:
      assert json.load(f)["split"] == "validation"
    with open(os.path.join(run_dir, table1.TRAIN_RESULTS)) as f:
      assert json.load(f)["global_step"] == 6
  with open(os.path.join(out, "table1_mini.md")) as f:
    text = f.read()
  assert "- Finished runs: 2 of 2." in text
  for label in ("ADA", "DRPM"):
    row = [l for l in text.splitlines() if l.startswith("| {} |".format(
        label))][0].split(" | ")
    # n_s = 3: S and I are numbers; other columns '-'.
    assert "±" in row[4] and "±" in row[5], row
    assert row[1] == "-" and row[2] == "-"
  assert os.path.exists(os.path.join(out, "figure5_mini.png"))
  assert os.path.exists(os.path.join(out, "shared_dims_mini.png"))
  # Rerun: everything is skipped.
  again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
  assert again.returncode == 0, again.stderr[-2000:]
  assert "2 finished, 0 to run" in again.stdout
  print("mini sweep: {:.1f} s".format(elapsed))


def test_variant_report_of_fake_runs_uses_the_validation_pairs(
    tmp_path, monkeypatch, fake_exports):
  from disentanglement_ext import table1_variants  # pylint: disable=g-import-not-at-top
  root = str(tmp_path / "runs")
  variants = table1_variants.STAGES["scores"]
  settings = table1.load_settings("quick")
  # Every run of every variant finished (so nothing trains): S = 0.1 * index
  # on the validation pairs, something else on the test pairs.
  for index, (_, directory, methods, _) in enumerate(variants):
    runs = table1.enumerate_runs(
        table1.override_sweep(settings, methods, table1_variants.N_S,
                              table1_variants.SEEDS),
        table1_variants.variant_output_dir(root, "quick", directory))
    assert len(runs) == 6
    for run in runs:
      _fake_finished(run, 0.1 * index + 0.1 * run.seed, 0.2, 1.0,
                     num_shared=float(run.n_s))
      _write_json(os.path.join(run.model_dir, table1.EVAL_RESULTS),
                  {"S": 9., "I": 9.})
  calls = []
  real_main = table1.main
  monkeypatch.setattr(table1, "main",
                      lambda argv: calls.append(argv) or real_main(argv))
  report = str(tmp_path / "variants.md")
  text = table1_variants.run_stage("quick", "scores", root, 2, report,
                                   log=lambda m: None)
  assert len(calls) == len(variants)
  assert calls[0][calls[0].index("--methods") + 1] == "hg"
  assert "weak_vae.objective = 'dlib'" in calls[1]
  with open(report) as f:
    assert f.read() == text
  rows = [l for l in text.splitlines() if l.startswith("| ")][1:]
  assert len(rows) == len(variants)
  # Seeds 0, 1 -> S = 0.1 i, 0.1 i + 0.1: mean 0.1 i + 0.05, std 0.071.
  for index, row in enumerate(rows):
    cells = row.split(" | ")
    assert cells[1] == "{:.3f} ± 0.071".format(0.1 * index + 0.05), row
    assert cells[3] == "1.00 ± 0.00"  # estimated shared dims at n_s = 1
  assert "9.000" not in text  # never the test pairs
  assert "VALIDATION" in text and "seeds 0, 1" in text


def test_paper_preset_needs_the_real_mpi3d_toy(tmp_path, monkeypatch):
  from disentanglement_ext import train  # pylint: disable=g-import-not-at-top
  import gin  # pylint: disable=g-import-not-at-top
  monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path / "data"))
  settings = table1.load_settings("paper")
  run = table1.enumerate_runs(settings, str(tmp_path / "out"))[0]
  argv = table1.run_commands(run, settings)["train"]
  configs = [argv[i + 1] for i, a in enumerate(argv) if a == "--gin_config"]
  bindings = [argv[i + 1] for i, a in enumerate(argv) if a == "--gin_bindings"]
  gin.clear_config()
  try:
    with pytest.raises(FileNotFoundError) as error:
      train.train_with_gin(run.model_dir, False, configs, bindings)
  finally:
    gin.clear_config()
  message = str(error.value)
  assert "mpi3d_toy.npz" in message and "DISENTANGLEMENT_LIB_DATA" in message
  assert str(tmp_path / "data") in message
  # Nothing was trained or written for the run.
  assert not os.path.exists(os.path.join(run.model_dir, "checkpoints"))


def test_shared_dims_curves_from_tensorboard_scalars(tmp_path):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  settings = table1.load_settings("quick")
  runs = [r for r in table1.enumerate_runs(settings, str(tmp_path))
          if r.n_s == 3 and r.method in ("adaptive", "drpm")]
  for index, run in enumerate(runs):
    writer = tf.summary.create_file_writer(os.path.join(run.model_dir,
                                                        "tensorboard"))
    with writer.as_default():
      for step in (100, 200, 300):
        # drpm logs both scalars: the deterministic `_mode` one is read.
        tf.summary.scalar("aggregation/num_shared_dims", 9., step=step)
        if run.method == "drpm":
          tf.summary.scalar("aggregation/num_shared_dims_mode",
                            step / 100. + index, step=step)
    writer.close()
  drpm = [r for r in runs if r.method == "drpm"]
  assert table1.read_shared_dims_curve(drpm[0].model_dir) == [
      (100, 1. + runs.index(drpm[0])), (200, 2. + runs.index(drpm[0])),
      (300, 3. + runs.index(drpm[0]))]
  ada = [r for r in runs if r.method == "adaptive"][0]
  assert table1.read_shared_dims_curve(ada.model_dir) == [
      (100, 9.), (200, 9.), (300, 9.)]
  assert table1.read_shared_dims_curve(str(tmp_path / "nothing")) == []
  path = str(tmp_path / "curves.png")
  table1.plot_shared_dims_curves(path, runs, ["adaptive", "drpm"], [1, 3],
                                 "title")
  with open(path, "rb") as f:
    assert f.read(8) == PNG_MAGIC

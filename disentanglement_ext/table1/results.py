"""What the Table 1 runs measured: one record per run, statistics per cell.

`collect_results` reads each finished run's evaluation JSON (and DCI, and its
training time); `summarize` reduces the records of each (method, n_s) cell to
mean ± sample std over seeds, and `table1_columns` lists the paper's columns;
`read_shared_dims_curve` reads a run's estimated number of shared dims during
training from its TensorBoard scalars.
"""
import json
import os

from disentanglement_ext import run_layout
from disentanglement_ext.table1 import presets
from drpm_tf import statistics

# The statistics of a cell (`summarize`).
KEYS = ("S", "I", "mse", "num_shared_dims", "num_shared_dims_sampled", "dci",
        "num_active_dims", "num_shared_active_dims")
SHARED_DIMS_SCALARS = ("aggregation/num_shared_dims_mode",
                       "aggregation/num_shared_dims")


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
    result = _read_json(os.path.join(run.model_dir,
                                     run_layout.evaluation_results(split)))
    train_results = os.path.join(run.model_dir, run_layout.TRAIN_RESULTS)
    # Evaluated after training (whether the export still loads does not
    # change the scores).
    if result is None or not os.path.exists(train_results):
      continue
    record = dict(method=run.method, n_s=run.n_s, seed=run.seed,
                  S=result.get("S"), I=result.get("I"),
                  mse=result.get("num_shared_dims_mse"),
                  num_shared_dims=result.get("num_shared_dims_mean"),
                  num_shared_dims_sampled=result.get(
                      "num_shared_dims_sampled_mean"),
                  num_active_dims=result.get("num_active_dims"),
                  num_shared_active_dims=result.get(
                      "num_shared_active_dims_mean"),
                  S_per_factor=result.get("S_per_factor"),
                  I_per_factor=result.get("I_per_factor"),
                  train_seconds=(_read_json(train_results) or {}).get(
                      "elapsed_time"))
    for key in ("num_train", "num_test", "S_fit_pairs_min", "I_fit_pairs_min",
                "S_score_pairs_min", "I_score_pairs_min"):
      record[key] = result.get(key)
    dci = _read_json(os.path.join(run.model_dir, run_layout.DCI_RESULTS))
    if dci is not None:
      record["dci"] = dci.get("disentanglement",
                              dci.get("evaluation_results.disentanglement"))
    records.append(record)
  return records


def summarize(records, methods=presets.METHODS,
              n_s_values=presets.N_S_VALUES):
  """{(method, n_s): {'S': (mean, std, n) | None, 'I': ..., 'runs': n}}."""
  table = {}
  for method in methods:
    for n_s in n_s_values:
      rows = [r for r in records if r["method"] == method and r["n_s"] == n_s]
      table[method, n_s] = {
          key: statistics.mean_std([r.get(key) for r in rows])
          for key in KEYS}
      table[method, n_s]["runs"] = len(rows)
      if n_s == 0:
        table[method, n_s]["S"] = None
  return table


def per_factor_summary(records, method, key):
  """[(mean, sample std, n) | None] per factor of `key` ('S_per_factor' or
  'I_per_factor') over every run of `method` (all n_s and seeds)."""
  rows = [r[key] for r in records
          if r["method"] == method and r.get(key) is not None]
  if not rows:
    return []
  num_factors = max(len(row) for row in rows)
  return [statistics.mean_std([row[j] for row in rows if j < len(row)])
          for j in range(num_factors)]


def table1_columns(n_s_values=presets.N_S_VALUES):
  """[(n_s, 'S' | 'I')]: paper layout, n_s = 0 has no S column."""
  columns = []
  for n_s in n_s_values:
    if n_s != 0:
      columns.append((n_s, "S"))
    columns.append((n_s, "I"))
  return columns


def read_shared_dims_curve(model_dir):
  """[(step, estimated shared dims)] of a run, from its TensorBoard scalars.

  The deterministic estimate (`num_shared_dims_mode`, hg / drpm) where it was
  logged, else `num_shared_dims` (label and adaptive are deterministic).
  Returns [] when the run has no events.
  """
  import glob  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  curves = {tag: {} for tag in SHARED_DIMS_SCALARS}
  for path in sorted(glob.glob(os.path.join(
      model_dir, run_layout.TENSORBOARD, "events.out.tfevents.*"))):
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

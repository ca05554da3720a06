"""The Table 1 report: Markdown and CSV in the paper's layout, and the plots.

`write_report` aggregates every finished run of a preset's grid into
`table1_<preset>.md` and `.csv` (mean ± sample std over seeds) and the plots
`table1_<preset>.png` (Table 1), `figure5_<preset>.png` (MSE between the
estimated number of shared dims and n_s) and `shared_dims_<preset>.png`
(that estimate during training). Where the evaluations recorded them, the
report also shows each cell's active latent dims and how many of the shared
dims are active, and every method's S and I per factor: what a
representation encodes at all bounds what any aggregation can share.
"""
import csv
import io
import os

from disentanglement_ext import evaluate
from disentanglement_ext import run_layout
from disentanglement_ext.data import synthetic_mpi3d
from disentanglement_ext.table1 import plots
from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import results
from drpm_tf import run_directory
from drpm_tf import statistics

OBJECTIVE_NOTES = {
    "paper": "the paper's eq. 6: shared dims sampled once, their KL counted "
             "once",
    "dlib": "disentanglement_lib's two per-view ELBOs: shared KL counted "
            "twice",
}


def table1_markdown(table, methods, n_s_values):
  columns = results.table1_columns(n_s_values)
  header = "| method | " + " | ".join(
      "n_s={}: {}".format(k, c) for k, c in columns) + " |"
  lines = [header, "|---|" + "---:|" * len(columns)]
  for method in methods:
    cells = [statistics.format_mean_std(table[method, k][c])
             for k, c in columns]
    lines.append("| {} | {} |".format(presets.METHOD_LABELS[method],
                                      " | ".join(cells)))
  return lines


def figure5_markdown(table, methods, n_s_values, key="mse"):
  lines = ["| method | " + " | ".join("n_s={}".format(k) for k in n_s_values)
           + " |", "|---|" + "---:|" * len(n_s_values)]
  for method in methods:
    lines.append("| {} | {} |".format(
        presets.METHOD_LABELS[method], " | ".join(
            statistics.format_mean_std(table[method, k][key], 2)
            for k in n_s_values)))
  return lines


def write_csv(path, table, methods, n_s_values):
  """Paper layout: one row per method; mean/std columns per (n_s, S|I); then
  the n_s-estimate MSE and the number of finished seeds per n_s."""
  columns = results.table1_columns(n_s_values)
  header = ["method"]
  for k, c in columns:
    header += ["ns{}_{}_mean".format(k, c), "ns{}_{}_std".format(k, c)]
  for k in n_s_values:
    header += ["ns{}_mse_mean".format(k), "ns{}_mse_std".format(k)]
  header += ["ns{}_runs".format(k) for k in n_s_values]
  text = io.StringIO()
  writer = csv.writer(text)
  writer.writerow(header)
  for method in methods:
    row = [presets.METHOD_LABELS[method]]
    cells = [table[method, k][c] for k, c in columns]
    cells += [table[method, k]["mse"] for k in n_s_values]
    for stat in cells:
      row += (["-", "-"] if stat is None else
              ["{:.6f}".format(stat[0]), "{:.6f}".format(stat[1])])
    row += [str(table[method, k]["runs"]) for k in n_s_values]
    writer.writerow(row)
  run_directory.write_atomic(path, text.getvalue())


def per_factor_markdown(records, methods):
  """Per-factor S and I of each method over all its runs (Markdown lines)."""
  summaries = {(m, key): results.per_factor_summary(records, m, key)
               for m in methods for key in ("S_per_factor", "I_per_factor")}
  num_factors = max([len(v) for v in summaries.values()] + [0])
  if not num_factors:
    return []
  names = (synthetic_mpi3d.FACTOR_NAMES
           if num_factors == len(synthetic_mpi3d.FACTOR_NAMES) else
           tuple("factor {}".format(j) for j in range(num_factors)))
  lines = ["", "## Per factor", "",
           "S and I of each factor, mean ± sample std over all runs of a "
           "method (every n_s and seed with that score):", "",
           "| method | score | " + " | ".join(names) + " |",
           "|---|---|" + "---:|" * num_factors]
  for method in methods:
    for key in ("S_per_factor", "I_per_factor"):
      cells = summaries[method, key]
      if not cells:
        continue
      lines.append("| {} | {} | {} |".format(
          presets.METHOD_LABELS.get(method, method), key[0],
          " | ".join(statistics.format_mean_std(c, 2) for c in cells)))
  return lines


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
          ", ".join(presets.METHOD_LABELS.get(m, m) for m in methods),
          ", ".join(str(k) for k in settings["n_s_values"]),
          ", ".join(str(s) for s in settings["seeds"])),
      "- " + evaluation_note(settings, records)]


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
  methods = [m for m in presets.METHODS if m in methods] + [
      m for m in methods if m not in presets.METHODS]
  all_methods = list(presets.METHODS)
  all_n_s = sorted(set(presets.N_S_VALUES) | set(n_s_values))
  records = results.collect_results(runs)
  table = results.summarize(records, all_methods, all_n_s)
  os.makedirs(output_dir, exist_ok=True)
  base = os.path.join(output_dir, "table1_{}".format(preset))
  write_csv(base + ".csv", table, all_methods, all_n_s)
  scale = "{} steps, batch {}, architecture {}".format(
      settings["training_steps"], settings["batch_size"],
      settings["architecture"])
  plots.plot_table1(base + ".png", table, all_methods, all_n_s,
                    "Table 1 ({}): {}".format(preset, scale))
  plots.plot_figure5(os.path.join(output_dir, "figure5_{}.png".format(preset)),
                     table, all_methods, all_n_s,
                     "Figure 5 ({}): n_s estimate".format(preset))
  curve_n_s = [k for k in n_s_values if k > 0]
  if curve_n_s:
    plots.plot_shared_dims_curves(
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
  if any(r.get("num_active_dims") is not None for r in records):
    lines += ["", "## Active latent dims", "",
              "Latent dims whose posterior mean varies over the data "
              "(variance > {}; an inactive dim carries almost no information "
              "in the sampled latent, so declaring it shared or independent "
              "changes the objective very little), out of d = {}:".format(
                  evaluate.ACTIVE_DIM_VARIANCE, settings.get("num_latent", "d")),
              ""]
    lines += figure5_markdown(table, all_methods, all_n_s, "num_active_dims")
    lines += ["", "Of the estimated shared dims, the mean number that are "
              "active:", ""]
    lines += figure5_markdown(table, all_methods, all_n_s,
                              "num_shared_active_dims")
  lines += per_factor_markdown(records, all_methods)
  if any("dci" in r and r["dci"] is not None for r in records):
    lines += ["", "## DCI disentanglement (dlib)", ""]
    lines += figure5_markdown(table, all_methods, all_n_s, "dci")
  lines += ["", "Finished seeds per cell:", "",
            "| method | " + " | ".join("n_s={}".format(k) for k in all_n_s)
            + " |", "|---|" + "---:|" * len(all_n_s)]
  for method in all_methods:
    lines.append("| {} | {} |".format(
        presets.METHOD_LABELS[method],
        " | ".join(str(table[method, k]["runs"]) for k in all_n_s)))
  failed = [s for s in (statuses or []) if s[1].startswith("failed")]
  if failed:
    lines += ["", "Failed runs (see `<run>/{}`): {}.".format(
        run_layout.SWEEP_LOG, ", ".join("{} ({})".format(n, s)
                                        for n, s, _ in failed))]
  lines += ["", "Plots: `table1_{p}.png`, `figure5_{p}.png`{c}.".format(
      p=preset, c=", `shared_dims_{}.png` (estimated shared dims against the "
      "training step, from the runs' TensorBoard scalars)".format(preset)
      if curve_n_s else ""), ""]
  text = "\n".join(lines)
  run_directory.write_atomic(base + ".md", text)
  return text

"""Variants of the Table 1 setup, compared on the VALIDATION pairs.

`drpm-table1-variants --preset P --stage S [--jobs N]` runs, for every variant
of study stage S, the Table 1 sweep of preset P restricted to the variant's
methods, n_s 1, 3, 5 and seeds 0, 1 (what `drpm-reproduce-table1
--methods=... --n_s=1,3,5 --seeds=0,1 --gin_bindings ...` runs, each variant
in its own output directory: finished runs are skipped, interrupted ones
resume), and writes one
report comparing the variants' S, I and n_s estimates. Every number in it is
scored on the validation pairs (`drpm-evaluate-weak --split validation`), a
pair stream that Table 1 itself never uses, so choosing defaults from it does
not tune on the test pairs.

Stage 'scores' compares how the per-dim KLs enter the DRPM (the paper: "the
scores are the KL values"), with HGVAE and the dlib objective as references;
for the chosen scores, stage 'omega' varies what the omega head reads and stage
'partition_kl' the partition KL (its estimator, and its weight gamma = 0).
"""
import os

from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import report
from disentanglement_ext.table1 import reproduce
from disentanglement_ext.table1 import results
from disentanglement_ext.table1 import runs as runs_lib
from drpm_tf import errors
from drpm_tf import run_directory
from drpm_tf import statistics

N_S = (1, 3, 5)
SEEDS = (0, 1)

_REFERENCE = ("DRPMVAE, log s = log KL (reference)", "drpm_log_kl", ("drpm",),
              ("drpm_aggregation.log_scores = 'log_kl'",))

# (label, output directory, methods, extra training bindings) per stage.
STAGES = {
    "scores": (
        ("HGVAE (reference)", "hg", ("hg",), ()),
        ("DRPMVAE, dlib's two-view objective, log s = log KL", "drpm_dlib",
         ("drpm",), ("weak_vae.objective = 'dlib'",
                     "drpm_aggregation.log_scores = 'log_kl'")),
        ("DRPMVAE, log s = log KL", "drpm_log_kl", ("drpm",),
         _REFERENCE[3]),
        ("DRPMVAE, log s = log KL, no gradient into the encoder",
         "drpm_log_kl_sg", ("drpm",),
         ("drpm_aggregation.log_scores = 'log_kl_stop_gradient'",)),
        ("DRPMVAE, log s = KL", "drpm_kl", ("drpm",),
         ("drpm_aggregation.log_scores = 'kl'",)),
        ("DRPMVAE, log s = -KL", "drpm_neg_kl", ("drpm",),
         ("drpm_aggregation.log_scores = 'neg_kl'",)),
    ),
    # The reference rows share their directory (and so their runs) with
    # stage 'scores'.
    "omega": (
        _REFERENCE,
        ("omega reads log KL", "drpm_omega_log_kl", ("drpm",),
         ("drpm_aggregation.omega_input = 'log_kl'",)),
        ("omega reads the KLs standardized per pair", "drpm_omega_standardized",
         ("drpm",), ("drpm_aggregation.omega_input = 'standardized_kl'",)),
    ),
    "partition_kl": (
        _REFERENCE,
        ("exact partition KL", "drpm_exact_kl", ("drpm",),
         ("drpm_aggregation.kl_estimator = 'exact'",)),
        ("no partition KL (gamma = 0)", "drpm_gamma0", ("drpm",),
         ("weak_vae.gamma = 0.0",)),
    ),
}


def variant_output_dir(output_root, preset, directory):
  return os.path.join(output_root, "variants_{}".format(
      presets.preset_name(preset)), directory)


def variants_table(rows, n_s_values):
  """Markdown: one row per variant, (S, I, estimated shared dims, MSE) per n_s.

  Args:
    rows: `(label, bindings, records)` with records from
      `results.collect_results(..., split='validation')`.
    n_s_values: the n_s columns.
  """
  header = "| variant | " + " | ".join(
      "n_s={k}: S | n_s={k}: I | n_s={k}: shared dims | n_s={k}: MSE".format(
          k=k) for k in n_s_values) + " |"
  lines = [header, "|---|" + "---:|" * (4 * len(n_s_values))]
  for label, _, records in rows:
    cells = []
    for k in n_s_values:
      cell_records = [r for r in records if r["n_s"] == k]
      for key, digits in (("S", 3), ("I", 3), ("num_shared_dims", 2),
                          ("mse", 2)):
        cells.append(statistics.format_mean_std(
            statistics.mean_std([r.get(key) for r in cell_records]), digits))
    lines.append("| {} | {} |".format(label, " | ".join(cells)))
  return lines


def run_stage(preset, stage, output_root="runs", jobs=2, report_path=None,
              log=print):
  """Runs every variant of `stage` and writes the report; returns its text.

  Each variant's sweep is `reproduce.reproduce` of `preset` restricted to the
  variant's methods, n_s `N_S` and seeds `SEEDS`, in its own directory under
  `output_root`; the report (also written to `report_path` if given) compares
  the variants on the validation pairs.
  """
  if stage not in STAGES:
    raise errors.ConfigError("Unknown stage {!r}; valid: {}.".format(
        stage, ", ".join(STAGES)))
  settings = presets.override_sweep(presets.load_settings(preset),
                                    n_s_values=N_S, seeds=SEEDS)
  rows = []
  for label, directory, methods, bindings in STAGES[stage]:
    output_dir = variant_output_dir(output_root, preset, directory)
    log("== {}".format(label))
    if reproduce.reproduce(preset, output_dir, jobs=jobs,
                           gin_bindings=bindings, methods=methods,
                           n_s_values=N_S, seeds=SEEDS, log=log) != 0:
      log("Variant {!r} has failed runs; reported without them.".format(label))
    grid = runs_lib.enumerate_runs(
        presets.override_sweep(settings, methods=methods), output_dir)
    rows.append((label, bindings, results.collect_results(
        grid, split="validation")))
  records = [r for _, _, rs in rows for r in rs]
  command = ("drpm-table1-variants --preset {} --stage {} --output_root {} "
             "--jobs {}".format(preset, stage, output_root, jobs))
  lines = ["# Table 1 variants, stage `{}` (preset `{}`, validation pairs)"
           .format(stage, settings["preset"]), ""]
  lines += report.scale_lines(settings, records,
                              sorted({m for _, _, ms, _ in STAGES[stage]
                                      for m in ms}))
  lines += [
      "- Every number is scored on the VALIDATION pairs (never the test "
      "pairs of Table 1).",
      "- Command: `{}`".format(command), "",
      "Mean ± sample std over seeds. S / I: adjusted balanced accuracy of the "
      "shared / independent representation; shared dims: the mean "
      "deterministic estimate of the number of shared dims per pair (true: "
      "n_s); MSE: its mean squared error.", ""]
  lines += variants_table(rows, list(N_S))
  lines += ["", "Extra training bindings per variant:", ""]
  lines += ["- {}: {}".format(label, "; ".join("`{}`".format(b)
                                               for b in bindings) or "none")
            for label, bindings, _ in rows]
  text = "\n".join(lines + [""])
  if report_path:
    run_directory.write_atomic(report_path, text)
  log(text)
  return text

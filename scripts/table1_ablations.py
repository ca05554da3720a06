"""DRPMVAE ablations at the `quick` scale (n_s = 3, seeds 0 and 1).

    python -m scripts.table1_ablations [--jobs N] [--output_root runs]
        [--report docs/results/ablations_drpm_ns3.md]

Each variant is the sweep of preset `gin_configs/table1/quick_drpm_ns3.gin`
(DRPMVAE, n_s = 3, the `quick` training settings) with extra gin bindings, run
by `drpm-reproduce-table1` (finished runs are skipped, interrupted ones
resume). The baseline variant (no extra binding) reuses the `drpm_ns3_*` runs
of `make table1-quick` when they exist. The report is one table, one row per
variant, with the mean ± std over seeds of S, I and the n_s-estimate MSE.
"""
import argparse
import os
import sys

from disentanglement_ext import table1

PRESET = os.path.join(table1.CONFIG_DIR, "quick_drpm_ns3.gin")

# (label, run directory under --output_root, extra training bindings).
VARIANTS = (
    ("quick settings: gamma 0.25, tau 1 -> 0.5, scores log KL",
     "table1_quick", ()),
    ("gamma = 0 (no partition KL)", "ablation_gamma0",
     ("weak_vae.gamma = 0.0",)),
    ("gamma = 1", "ablation_gamma1", ("weak_vae.gamma = 1.0",)),
    ("final tau = 0.1", "ablation_tau01",
     ("drpm_aggregation.final_temperature = 0.1",)),
)


def parse_args(argv):
  parser = argparse.ArgumentParser(prog="table1_ablations",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("--jobs", type=int, default=2)
  parser.add_argument("--output_root", default="runs")
  parser.add_argument("--report",
                      default=os.path.join("docs", "results",
                                           "ablations_drpm_ns3.md"))
  return parser.parse_args(argv)


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  settings = table1.load_settings(PRESET)
  rows = []
  for label, directory, bindings in VARIANTS:
    output_dir = os.path.join(args.output_root, directory)
    sweep_argv = ["--preset", PRESET, "--output_dir", output_dir,
                  "--jobs", str(args.jobs)]
    for binding in bindings:
      sweep_argv += ["--gin_bindings", binding]
    print("== {}".format(label), flush=True)
    if table1.main(sweep_argv) != 0:
      print("Variant {!r} has failed runs; reported without them.".format(
          label), flush=True)
    runs = table1.enumerate_runs(settings, output_dir)
    rows.append((label, bindings, table1.collect_results(runs)))
  command = "python -m scripts.table1_ablations --jobs {} --output_root {}"\
      .format(args.jobs, args.output_root)
  text = table1.variants_markdown(rows, settings, command)
  os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
  with open(args.report + ".tmp", "w") as f:
    f.write(text)
  os.replace(args.report + ".tmp", args.report)
  print(text, flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())

"""`drpm-evaluate-weak`: S/I adjusted balanced accuracy + n_s estimate (JSON).

    drpm-evaluate-weak --model_dir runs/x [--output_dir D]
        [--min_pairs_per_factor 1000 | --num_train N --num_test M] [--seed 0]
        [--split test|validation] [--overwrite]

Writes <output_dir>/results/json/evaluation_results.json (default output_dir:
<model_dir>/weak_evaluation, or <model_dir>/weak_evaluation_validation for
--split validation); see disentanglement_ext/evaluate.py. Bad flags and
run directories stop with one line (--verbose: with the traceback).
"""
import json

from absl import flags

from drpm_tf import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Trained model directory.",
                    required=True)
flags.DEFINE_string("output_dir", None, "Output directory (default "
                    "<model_dir>/weak_evaluation).")
flags.DEFINE_integer("min_pairs_per_factor", 1000, "Size the fitting set so "
                     "every factor's S and I classifier sees about this many "
                     "pairs (the scoring set half as many).")
flags.DEFINE_integer("num_train", None, "Explicit number of pairs to fit the "
                     "classifiers on (overrides --min_pairs_per_factor).")
flags.DEFINE_integer("num_test", None, "Explicit number of held-out pairs to "
                     "score them on (overrides --min_pairs_per_factor).")
flags.DEFINE_integer("seed", 0, "Seed of the evaluation pairs.")
flags.DEFINE_enum("split", "test", ["test", "validation"], "Scoring pairs: "
                  "'test' (reported) or 'validation' (for choosing settings).")
flags.DEFINE_boolean("overwrite", False, "Overwrite existing results.")
cli.define_absl_verbose_flag()


def _main(unused_argv):
  from disentanglement_ext import evaluate  # pylint: disable=g-import-not-at-top
  result = cli.run(
      evaluate.evaluate_weak, FLAGS.model_dir, output_dir=FLAGS.output_dir,
      min_pairs_per_factor=FLAGS.min_pairs_per_factor,
      num_train=FLAGS.num_train, num_test=FLAGS.num_test, seed=FLAGS.seed,
      split=FLAGS.split, overwrite=FLAGS.overwrite)
  print(json.dumps({k: v for k, v in result.items()
                    if not k.endswith("per_factor")}, indent=2))


def main():
  cli.run_app(_main)


if __name__ == "__main__":
  main()

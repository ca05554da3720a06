"""`drpm-evaluate-weak`: S/I adjusted balanced accuracy + n_s estimate (JSON).

    drpm-evaluate-weak --model_dir runs/x [--output_dir D] [--num_train 2000]
        [--num_test 1000] [--seed 0] [--overwrite]

Writes <output_dir>/results/json/evaluation_results.json (default output_dir:
<model_dir>/weak_evaluation); see disentanglement_ext/evaluate.py.
"""
import json

from absl import app
from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Trained model directory.",
                    required=True)
flags.DEFINE_string("output_dir", None, "Output directory (default "
                    "<model_dir>/weak_evaluation).")
flags.DEFINE_integer("num_train", 2000, "Pairs to fit the classifiers on.")
flags.DEFINE_integer("num_test", 1000, "Held-out pairs to score them on.")
flags.DEFINE_integer("seed", 0, "Seed of the evaluation pairs.")
flags.DEFINE_boolean("overwrite", False, "Overwrite existing results.")


def _main(unused_argv):
  from disentanglement_ext import evaluate  # pylint: disable=g-import-not-at-top
  result = evaluate.evaluate_weak(FLAGS.model_dir, FLAGS.output_dir,
                                  FLAGS.num_train, FLAGS.num_test, FLAGS.seed,
                                  FLAGS.overwrite)
  print(json.dumps({k: v for k, v in result.items()
                    if not k.endswith("per_factor")}, indent=2))


def main():
  app.run(_main)


if __name__ == "__main__":
  main()

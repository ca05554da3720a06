"""`drpm-generative-report`: docs/generative.md from finished generative runs.

    drpm-generative-report --runs DIR[,DIR ...] [--exact_runs DIR[,DIR ...]]
        [--validation_runs DIR[,DIR ...]] --figures DIR
        --output docs/generative.md [--verbose]

The lists also take the space-separated form (`--runs A B C`). `--runs` are
the default (Lemma 4 bound KL) runs, each evaluated twice
(`drpm-evaluate-generative`, also with `--stage initialization`); the first
of them also ran `drpm-sample-partitions`. `--exact_runs` are the same config
with `drpm_vae.kl_estimator = 'exact'`. `--validation_runs` were trained
and evaluated (both stages) with `load_dataset.evaluation_split =
'validation'`; the report compares them by pretraining recipe. A run without its results stops with
one line naming the missing file (--verbose: with the traceback).
Implementation: `drpm_tf.generative_report.write_report`.
"""
from absl import flags

from drpm_tf import cli

LIST_FLAGS = ('runs', 'exact_runs', 'validation_runs')

FLAGS = flags.FLAGS
flags.DEFINE_list('runs', None, 'Run directories (bound KL).', required=True)
flags.DEFINE_list('exact_runs', [], 'Run directories (exact KL).')
flags.DEFINE_list('validation_runs', [], 'Run directories trained and '
                  "evaluated with load_dataset.evaluation_split = "
                  "'validation', compared by pretraining recipe.")
flags.DEFINE_string('figures', None, 'Directory of drpm-sample-partitions\' '
                    'figures.', required=True)
flags.DEFINE_string('output', None, 'The Markdown file to write.',
                    required=True)
cli.define_absl_verbose_flag()


def _main(unused_argv):
  from drpm_tf import generative_report  # pylint: disable=g-import-not-at-top
  print(cli.run(generative_report.write_report, FLAGS.runs, FLAGS.figures,
                FLAGS.output, FLAGS.exact_runs, FLAGS.validation_runs))


def main():
  cli.run_app(_main, list_flags=LIST_FLAGS)


if __name__ == '__main__':
  main()

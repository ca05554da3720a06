"""`drpm-reproduce-table1`: the Table 1 / Figure 5 sweep (see docs/table1.md).

    drpm-reproduce-table1 --preset demo|quick|cpu|paper --output_dir D
        [--jobs N] [--threads T] [--emit-jobs FILE] [--run NAME]
        [--aggregate_only] [--dci] [--gin_bindings B ...] [--report_dir R]
        [--methods=drpm,hg] [--n_s=1,3] [--seeds=0,1] [--verbose]

The lists also take the space-separated form (`--n_s 1 3`). Implementation:
disentanglement_ext/table1/reproduce.py.
"""
from absl import flags

from disentanglement_ext.table1 import presets
from disentanglement_ext.table1 import reproduce
from drpm_tf import cli

LIST_FLAGS = ("methods", "n_s", "seeds")


def _integers(values):
  return values is None or all(v.lstrip("-").isdigit() for v in values)


FLAGS = flags.FLAGS
flags.DEFINE_string("preset", None, "demo | quick | cpu | paper, or a path to "
                    "a preset .gin", required=True)
flags.DEFINE_string("output_dir", None, "Directory of the run directories "
                    "(and of the report).", required=True)
flags.DEFINE_integer("jobs", 1, "Parallel run processes.")
flags.DEFINE_integer("threads", None, "TF / BLAS threads per process "
                     "(default: cpu_count // jobs, at least 1).")
flags.DEFINE_string("emit_jobs", None, "Write one shell command per "
                    "unfinished run to this file and exit.")
flags.DEFINE_alias("emit-jobs", "emit_jobs")
flags.DEFINE_string("run", None, "Execute only this run (name "
                    "<method>_ns<k>_seed<s>), no aggregation.")
flags.DEFINE_boolean("aggregate_only", False, "Only write the table and "
                     "plots.")
flags.DEFINE_boolean("dci", False, "Also run dlib's DCI (TABLE1_DCI_CONFIG).")
flags.DEFINE_multi_string("gin_bindings", [], "Extra training bindings for "
                          "every run.")
flags.DEFINE_string("report_dir", None, "Write the table, CSV and plots here "
                    "instead of --output_dir (e.g. docs/results).")
flags.DEFINE_list("methods", None, "Override the preset's TABLE1_METHODS.")
flags.DEFINE_list("n_s", None, "Override the preset's TABLE1_N_S.")
flags.DEFINE_list("seeds", None, "Override the preset's TABLE1_SEEDS.")
flags.DEFINE_string("config_dir", presets.CONFIG_DIR, "Directory of the "
                    "presets and the method / n_s files.")
for _name in ("n_s", "seeds"):
  flags.register_validator(_name, _integers,
                           message="--{} takes integers.".format(_name))
cli.define_absl_verbose_flag()


def _main(unused_argv):
  return cli.run(
      reproduce.reproduce, FLAGS.preset, FLAGS.output_dir, jobs=FLAGS.jobs,
      threads=FLAGS.threads, emit_jobs=FLAGS.emit_jobs, run=FLAGS.run,
      aggregate_only=FLAGS.aggregate_only, dci=FLAGS.dci,
      gin_bindings=FLAGS.gin_bindings, report_dir=FLAGS.report_dir,
      methods=FLAGS.methods,
      n_s_values=None if FLAGS.n_s is None else [int(k) for k in FLAGS.n_s],
      seeds=None if FLAGS.seeds is None else [int(s) for s in FLAGS.seeds],
      config_dir=FLAGS.config_dir,
      log=lambda message: print(message, flush=True))


def main():
  cli.run_app(_main, list_flags=LIST_FLAGS)


if __name__ == "__main__":
  main()

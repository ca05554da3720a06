"""The gin files of the weakly-supervised experiments, shipped with the package.

    table1/      the Table 1 sweep: base.gin, one file per method and per n_s,
                 and the presets (demo, quick, cpu, paper)
    weak/        base.gin (disentanglement_lib's setup), quick.gin (a tiny run)
    evaluation/  disentanglement_lib metric configs for drpm-dlib-evaluate

They are package data, found through the package, so they work from an
installed wheel as from a checkout: `path('weak', 'quick.gin')` is the file,
and `name('weak', 'quick.gin')` = 'disentanglement_ext/gin_configs/weak/
quick.gin' is how a gin file or a command line names it from any directory,
in our tools and in dlib's alike (`drpm_tf.gin_config` says how gin finds
it); the `include` statements of these files use it.
"""
import os

DIRECTORY = os.path.dirname(os.path.abspath(__file__))
TABLE1 = os.path.join(DIRECTORY, "table1")
WEAK = os.path.join(DIRECTORY, "weak")
EVALUATION = os.path.join(DIRECTORY, "evaluation")
# How gin names this directory from anywhere (a package path).
PACKAGE_PATH = "disentanglement_ext/gin_configs"


def path(*parts):
  """The packaged file `parts`, e.g. `path('evaluation', 'dci.gin')`."""
  return os.path.join(DIRECTORY, *parts)


def name(*parts):
  """The name gin resolves to the packaged file `parts` from anywhere."""
  return "/".join((PACKAGE_PATH,) + parts)

"""The gin files of the weakly-supervised experiments, shipped with the package.

    table1/      the Table 1 sweep: base.gin, one file per method and per n_s,
                 and the presets (demo, quick, cpu, paper)
    weak/        base.gin (disentanglement_lib's setup), quick.gin (a tiny run)
    evaluation/  disentanglement_lib metric configs for drpm-dlib-evaluate

They are package data, found through the package, so they work from an
installed wheel as from a checkout: `path('weak', 'quick.gin')` is the file,
and `name('weak', 'quick.gin')` = 'disentanglement_ext/gin_configs/weak/
quick.gin' is how a gin file or a command line names it. gin (0.5) opens a
relative name that is no file under the working directory as
`<package path>/<file>` inside an importable package (its
`resource_reader`), so that name works from any directory, in our tools and
in dlib's alike; the `include` statements of these files use it. (A name
relative to a directory added to gin's search path would make gin log an
error for every lookup that misses, and fail outright when the first part of
the name is also a directory on the Python path.)

`read_values` reads what a list of gin files binds, following their
includes the same way, without registering or binding anything.
"""
import importlib.util
import os

from drpm_tf import errors

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


def _in_package(filename):
  """`<package path>/<file>` inside an importable package, as gin reads it."""
  head, tail = os.path.split(filename)
  if not head or head.startswith((".", "/")):
    return None
  try:
    spec = importlib.util.find_spec(head.replace("/", "."))
  except (ImportError, ValueError):
    return None
  if spec is None or not spec.origin:
    return None
  candidate = os.path.join(os.path.dirname(spec.origin), tail)
  return candidate if os.path.isfile(candidate) else None


def resolve(filename):
  """The file gin opens for `filename` (an include or a --gin_config).

  As gin: an absolute path as it is; a relative one under the working
  directory, else inside an importable package. None if there is none.
  """
  if os.path.isabs(filename):
    return filename if os.path.isfile(filename) else None
  if os.path.isfile(filename):
    return os.path.abspath(filename)
  return _in_package(filename)


def statements(config_file, including=()):
  """gin statements of `config_file`, with its includes' statements in place."""
  from gin import config  # pylint: disable=g-import-not-at-top
  from gin import config_parser  # pylint: disable=g-import-not-at-top
  if config_file in including:
    raise errors.ConfigError("gin include cycle: {}.".format(
        " -> ".join(including + (config_file,))))
  with open(config_file) as f:
    parser = config_parser.ConfigParser(
        f, config.ParserDelegate(skip_unknown=True))
    parsed = list(parser)
  for statement in parsed:
    if isinstance(statement, config_parser.IncludeStatement):
      included = resolve(statement.filename)
      if included is None:
        raise errors.ConfigError(
            "{} includes {!r}: no such file (a path, or `{}/...` for the "
            "packaged configs).".format(config_file, statement.filename,
                                        PACKAGE_PATH))
      yield from statements(included, including + (config_file,))
    else:
      yield statement


def read_values(config_files):
  """{'train_weak.training_steps': 150, 'TABLE1_SEEDS': [0], ...} of files.

  Parses the files, and the files they include, with gin's parser only (no
  configurable needs to be registered, nothing is bound); later bindings
  override earlier ones, as when gin applies them.
  """
  from gin import config_parser  # pylint: disable=g-import-not-at-top
  values = {}
  for config_file in config_files:
    for statement in statements(config_file):
      if isinstance(statement, config_parser.BindingStatement):
        key = statement.selector
        if statement.arg_name:
          key += "." + statement.arg_name
        if statement.scope:
          key = statement.scope + "/" + key
        values[key] = statement.value
  return values

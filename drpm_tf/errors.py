"""Errors caused by what the user asked for, not by a bug.

The command-line tools print these as one line (no traceback) and exit with
status 2 (`drpm_tf.cli`); every other exception keeps its traceback. Each
class also derives from the built-in exception a caller would expect, so
`except ValueError` still catches a bad setting.
"""
import math
import numbers


class UserError(Exception):
  """Base class: a setting, file or piece of data the user can fix."""


class ConfigError(UserError, ValueError):
  """A bad setting (gin binding, flag, argument)."""


class DataError(UserError, ValueError):
  """A data file that exists but cannot be used (wrong format or values)."""


class MissingDataError(UserError, FileNotFoundError):
  """A data file that is not there (nothing is ever downloaded)."""


class RunDirectoryError(UserError, ValueError):
  """A run directory that cannot be used as asked (not ours, finished,
  locked, not writable, or resumed with incompatible settings)."""


class TrainingDivergedError(UserError, RuntimeError):
  """The loss or its gradients became non-finite; nothing was saved."""


def check_count(name, value, minimum=1):
  """`value` as an int; `ConfigError` unless it is an integer >= `minimum`.

  `name` is the setting as the user spells it (a gin binding or a flag).
  """
  if (isinstance(value, bool) or not isinstance(value, numbers.Real) or
      not math.isfinite(value) or int(value) != value or value < minimum):
    raise ConfigError("{} must be an integer >= {}; got {!r}.".format(
        name, minimum, value))
  return int(value)

"""Parsing gin files and bindings given on a command line.

A gin file that cannot be opened, a binding that does not parse and a
parameter no configurable has are the user's mistakes: they are raised as
`errors.ConfigError` (one line from the command-line tools) instead of gin's
own exceptions.
"""
import gin

from drpm_tf import errors


def parse(config_files, bindings, skip_unknown=False, finalize=True):
  """`gin.parse_config_files_and_bindings`, raising `ConfigError`.

  `finalize=False` leaves the config unlocked (gin locks it otherwise), so
  that it can be parsed into again, e.g. to load several runs in a process.
  """
  try:
    gin.parse_config_files_and_bindings(config_files or [], bindings or [],
                                        finalize_config=finalize,
                                        skip_unknown=skip_unknown)
  except (OSError, ValueError, SyntaxError) as error:
    if isinstance(error, errors.UserError):
      raise
    message = " ".join(str(error).split())
    # gin's SyntaxError names only the line number; show the line.
    if isinstance(error, SyntaxError) and (error.text or "").strip():
      message += ": {}".format(error.text.strip())
    raise errors.ConfigError("Bad gin configuration: {}".format(
        message)) from error

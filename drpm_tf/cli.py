"""What the command-line tools do with errors.

A `drpm_tf.errors.UserError` (a bad setting, a missing or broken data file, a
run directory that cannot be used, a diverged training) is printed as one
line, `<tool>: error: <message>`, with exit status 2 and no traceback. Any
other exception is a bug and keeps its full traceback. `--verbose` (every
tool has it) or the environment variable `DRPM_TF_VERBOSE=1` also shows the
traceback of user errors.
"""
import os
import re
import sys
import traceback

from drpm_tf import errors

VERBOSE_ENV = "DRPM_TF_VERBOSE"


def verbose_requested(argv=None):
  argv = sys.argv if argv is None else argv
  # absl spells a true boolean flag in all these ways.
  spellings = ("--verbose", "--verbose=true", "--verbose=1", "-verbose")
  return (os.environ.get(VERBOSE_ENV, "") not in ("", "0") or
          any(arg.lower() in spellings for arg in argv))


def report_user_error(error, prog=None):
  """Prints `error` as one line on stderr."""
  prog = prog or os.path.basename(sys.argv[0] or "drpm")
  message = " ".join(str(error).split())
  # gin appends where the error was raised; the message already says what.
  message = re.sub(r"\s*In call to configurable '[^']*' \(<[^>]*>\)", "",
                   message)
  print("{}: error: {}".format(prog, message), file=sys.stderr, flush=True)


def run(function, *args, **kwargs):
  """Calls `function`; a `UserError` becomes one line and exit status 2."""
  try:
    return function(*args, **kwargs)
  except errors.UserError as error:
    if verbose_requested():
      traceback.print_exc()
    report_user_error(error)
    sys.exit(2)


VERBOSE_HELP = "show the traceback of user errors too (also: {}=1)".format(
    VERBOSE_ENV)


def add_verbose_argument(parser):
  """Adds `--verbose` to an `argparse` tool (read by `verbose_requested`)."""
  parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)


def define_absl_verbose_flag():
  """Defines `--verbose` for an absl tool (read by `verbose_requested`)."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  if "verbose" not in flags.FLAGS:
    flags.DEFINE_boolean("verbose", False, VERBOSE_HELP + ".")

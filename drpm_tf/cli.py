"""What the command-line tools do with flags and errors.

Every console script parses its flags with absl (`run_app`), as
disentanglement_lib's do, and calls one library function through `run`.

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


def define_absl_verbose_flag():
  """Defines `--verbose` for an absl tool (read by `verbose_requested`)."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  if "verbose" not in flags.FLAGS:
    flags.DEFINE_boolean("verbose", False, VERBOSE_HELP + ".")


def join_list_flags(argv, names):
  """`argv` with `--name a b c` rewritten to absl's `--name=a,b,c`.

  For the absl list flags in `names`: the values up to the next flag are
  joined, so the space-separated form the tools took before they used absl
  still works. `--name=a,b` and `--name a,b` pass through unchanged.
  """
  out, i = [], 0
  while i < len(argv):
    arg = argv[i]
    if arg.lstrip("-") in names and arg.startswith("-") and "=" not in arg:
      values = []
      while i + 1 < len(argv) and not argv[i + 1].startswith("-"):
        values.append(argv[i + 1])
        i += 1
      out.append("--{}={}".format(arg.lstrip("-"), ",".join(values))
                 if values else arg)
    else:
      out.append(arg)
    i += 1
  return out


def run_app(main, list_flags=()):
  """`absl.app.run(main)`, also taking `--name a b` for the list flags
  `list_flags` (`join_list_flags`). `main(argv)` gets the positional
  arguments, and fails with a usage error if there are any."""
  from absl import app  # pylint: disable=g-import-not-at-top

  def parse(argv):
    return app.parse_flags_with_usage(join_list_flags(argv, list_flags))

  def checked_main(argv):
    if len(argv) > 1:
      raise app.UsageError("unexpected arguments: {}".format(
          " ".join(argv[1:])))
    return main(argv)

  app.run(checked_main, flags_parser=parse)

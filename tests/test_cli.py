"""drpm_tf.cli: user errors as one line and exit status 2, tracebacks on
request and for everything else."""
import sys

import pytest

from drpm_tf import cli
from drpm_tf import errors


def _fail(error):
  def function():
    raise error
  return function


@pytest.fixture
def quiet(monkeypatch):
  monkeypatch.delenv(cli.VERBOSE_ENV, raising=False)
  monkeypatch.setattr(sys, "argv", ["drpm-tool", "--model_dir", "x"])


def test_a_user_error_is_one_line_and_exit_status_2(quiet, capsys):
  error = errors.ConfigError(
      "train_weak.batch_size must be an integer >= 1;\n  got 0.\n"
      "  In call to configurable 'train_weak' (<function train at 0x7f>)")
  with pytest.raises(SystemExit) as exit_info:
    cli.run(_fail(error))
  assert exit_info.value.code == 2
  captured = capsys.readouterr()
  assert captured.out == ""
  assert captured.err == ("drpm-tool: error: train_weak.batch_size must be "
                          "an integer >= 1; got 0.\n")


@pytest.mark.parametrize("error_class", [
    errors.ConfigError, errors.DataError, errors.MissingDataError,
    errors.RunDirectoryError, errors.TrainingDivergedError])
def test_every_user_error_class_is_reported(quiet, capsys, error_class):
  with pytest.raises(SystemExit):
    cli.run(_fail(error_class("what to fix")))
  assert capsys.readouterr().err == "drpm-tool: error: what to fix\n"


def test_user_errors_are_still_the_builtin_exceptions():
  assert issubclass(errors.ConfigError, ValueError)
  assert issubclass(errors.MissingDataError, FileNotFoundError)
  assert issubclass(errors.TrainingDivergedError, RuntimeError)


def test_other_exceptions_keep_their_traceback(quiet):
  with pytest.raises(ValueError, match="a bug"):
    cli.run(_fail(ValueError("a bug")))


def test_the_return_value_passes_through(quiet):
  assert cli.run(lambda a, b=0: a + b, 1, b=2) == 3


@pytest.mark.parametrize("argv,env", [
    (["drpm-tool", "--verbose"], None),
    (["drpm-tool", "--verbose=true"], None),
    (["drpm-tool"], "1")])
def test_verbose_shows_the_traceback_too(monkeypatch, capsys, argv, env):
  monkeypatch.setattr(sys, "argv", argv)
  if env is None:
    monkeypatch.delenv(cli.VERBOSE_ENV, raising=False)
  else:
    monkeypatch.setenv(cli.VERBOSE_ENV, env)
  with pytest.raises(SystemExit):
    cli.run(_fail(errors.ConfigError("bad")))
  err = capsys.readouterr().err
  assert err.startswith("Traceback (most recent call last):")
  assert "in function" in err
  assert err.endswith("drpm-tool: error: bad\n")


def test_verbose_is_off_by_default():
  assert not cli.verbose_requested(["drpm-tool", "--noverbose"])
  assert not cli.verbose_requested(["drpm-tool", "--verbose=false"])


def test_list_flags_take_the_space_separated_form_too():
  argv = ["tool", "--methods", "hg", "drpm", "--n_s", "1,3", "--seeds=0,1",
          "--jobs", "2", "--other", "x", "y"]
  assert cli.join_list_flags(argv, ("methods", "n_s", "seeds")) == [
      "tool", "--methods=hg,drpm", "--n_s=1,3", "--seeds=0,1", "--jobs", "2",
      "--other", "x", "y"]
  # A list flag without values is left to absl to reject.
  assert cli.join_list_flags(["tool", "--methods"], ("methods",)) == [
      "tool", "--methods"]


_APP = """
import sys
from absl import flags
from drpm_tf import cli
flags.DEFINE_list("things", None, "a list")
flags.DEFINE_integer("count", 1, "a number")
def main(argv):
  print(",".join(flags.FLAGS.things), flags.FLAGS.count)
cli.run_app(main, list_flags=("things",))
"""


@pytest.mark.parametrize("args,out", [
    (["--things", "a", "b", "--count", "3"], "a,b 3\n"),
    (["--things=a,b"], "a,b 1\n"),
    (["--things", "a,b"], "a,b 1\n")])
def test_run_app_parses_absl_flags(args, out):
  import subprocess  # pylint: disable=g-import-not-at-top
  proc = subprocess.run([sys.executable, "-c", _APP] + args,
                        capture_output=True, text=True, timeout=60)
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout == out


def test_run_app_refuses_positional_arguments():
  import subprocess  # pylint: disable=g-import-not-at-top
  proc = subprocess.run([sys.executable, "-c", _APP, "--things", "a", "--",
                         "stray"], capture_output=True, text=True, timeout=60)
  assert proc.returncode != 0
  assert "unexpected arguments: stray" in proc.stderr


@pytest.mark.parametrize("value", [1, 7, 3.0])
def test_check_count_accepts_integers_from_the_minimum(value):
  assert errors.check_count("x.steps", value) == int(value)
  assert isinstance(errors.check_count("x.steps", value), int)


@pytest.mark.parametrize("value", [0, -2, 2.5, True, "3", None,
                                   float("nan"), float("inf")])
def test_check_count_refuses_naming_the_setting(value):
  with pytest.raises(errors.ConfigError) as error:
    errors.check_count("x.steps", value)
  assert str(error.value) == "x.steps must be an integer >= 1; got {!r}.".format(
      value)
  assert errors.check_count("x.seed", 0, minimum=0) == 0

"""Helpers of the command-line tests: running the installed tools as
subprocesses, several at a time, and checking their one-line errors."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def command(tool, *args, verbose=False):
  """argv of the installed console script `tool`."""
  argv = [os.path.join(BIN, tool)] + list(args)
  return argv + ["--verbose"] if verbose else argv


def run_all(commands, parallel=4, env=None):
  """Runs {name: argv}, `parallel` at a time; returns {name: (rc, stderr)}.

  `env` adds to (or, with None values, removes from) the environment.
  """
  base = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  base.pop("DRPM_TF_VERBOSE", None)
  pending, running, done = list(commands.items()), {}, {}
  while pending or running:
    while pending and len(running) < parallel:
      name, argv = pending.pop(0)
      extra = (env or {}).get(name, {})
      process_env = dict(base, **{k: v for k, v in extra.items()
                                  if v is not None})
      for key in [k for k, v in extra.items() if v is None]:
        process_env.pop(key, None)
      running[name] = subprocess.Popen(
          argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
          env=process_env, cwd=ROOT)
    name = next(iter(running))
    process = running.pop(name)
    stderr = process.communicate(timeout=300)[1]
    done[name] = (process.returncode, stderr)
  return done


def assert_one_line(tool, returncode, stderr, *expected):
  """Exit status 2, no traceback, one `<tool>: error:` line holding
  every string of `expected`."""
  assert returncode == 2, stderr[-3000:]
  assert "Traceback" not in stderr, stderr[-3000:]
  lines = [l for l in stderr.splitlines() if l.startswith(tool + ": error:")]
  assert len(lines) == 1, stderr[-3000:]
  for text in expected:
    assert text in lines[0], lines[0]

"""The README's usage example and the demo must keep running as documented;
the demo's bad arguments are one-line errors."""
import os
import re

import numpy as np

import cli_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADING = "Use a DRPM in your own model"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _readme_example():
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    text = f.read()
  match = re.search(r"^#+\s*" + re.escape(HEADING) + r"\s*$", text, re.M)
  assert match, f"README.md has no heading {HEADING!r}"
  # Only the section itself: stop at the next heading of any level.
  section = text[match.end():]
  next_heading = re.search(r"^#+\s", section, re.M)
  if next_heading:
    section = section[:next_heading.start()]
  block = re.search(r"^```python\n(.*?)^```", section, re.M | re.S)
  assert block, f"no ```python block under {HEADING!r}"
  return block.group(1)


def test_readme_example_runs():
  code = _readme_example()
  exec(compile(code, "README.md:" + HEADING, "exec"), {"__name__": "__readme__"})


def test_demo_writes_png(tmp_path):
  from drpm_tf import demo  # pylint: disable=g-import-not-at-top
  out = tmp_path / "demo"
  path = demo.run_demo(str(out), seed=1)
  assert path == str(out / "drpm_partitions.png")
  assert os.path.isfile(path) and os.path.getsize(path) > 0
  with open(path, "rb") as f:
    assert f.read(8) == PNG_SIGNATURE
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.image  # pylint: disable=g-import-not-at-top
  image = matplotlib.image.imread(path)
  assert image.ndim == 3 and image.shape[2] in (3, 4)
  assert np.prod(image.shape[:2]) > 0


def test_demo_bad_arguments_are_one_line(tmp_path):
  a_file = tmp_path / "a_file"
  a_file.write_text("")
  cases = {
      "count": (["--num_samples", "0", "--output_dir", str(tmp_path / "out")],
                "--num_samples must be an integer >= 1; got 0"),
      "file": (["--output_dir", str(a_file)],
               f"--output_dir {a_file} is a file")}
  done = cli_runs.run_all({name: cli_runs.command("drpm-demo", *argv)
                           for name, (argv, _) in cases.items()})
  for name, (_, expected) in cases.items():
    cli_runs.assert_one_line("drpm-demo", *done[name], expected)
  assert not (tmp_path / "out").exists()

"""The README's usage example and the demo must keep running as documented."""
import os
import re

import numpy as np

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
  from scripts import demo
  out = tmp_path / "demo"
  demo.main(["--output_dir", str(out), "--seed", "1"])
  path = out / "drpm_partitions.png"
  assert path.is_file() and path.stat().st_size > 0
  with open(path, "rb") as f:
    assert f.read(8) == PNG_SIGNATURE
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.image
  image = matplotlib.image.imread(str(path))
  assert image.ndim == 3 and image.shape[2] in (3, 4)
  assert np.prod(image.shape[:2]) > 0

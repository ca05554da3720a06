"""Helpers of the fault tests: damaging files and checkpoints, and snapshots
that show a directory was left as it was."""
import hashlib
import os


def truncate_file(path):
  """Cuts the file `path` to half its size."""
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 2)


def truncate_data(prefix):
  """Cuts checkpoint `prefix`'s .data file to half its size."""
  truncate_file(prefix + ".data-00000-of-00001")


def flip_data(prefix):
  """Inverts bytes inside checkpoint `prefix`'s .data file (same size)."""
  path = prefix + ".data-00000-of-00001"
  with open(path, "r+b") as f:
    data = bytearray(f.read())
    middle = len(data) // 2
    data[middle:middle + 4] = bytes(b ^ 0xFF for b in data[middle:middle + 4])
    f.seek(0)
    f.write(bytes(data))


def garbage_index(prefix):
  """Replaces checkpoint `prefix`'s .index file by bytes that are no index."""
  with open(prefix + ".index", "wb") as f:
    f.write(b"\x00not an index" * 8)


def snapshot(directory):
  """{relative path: sha256} of every file below `directory`."""
  files = {}
  for root, _, names in os.walk(directory):
    for name in names:
      path = os.path.join(root, name)
      with open(path, "rb") as f:
        files[os.path.relpath(path, directory)] = hashlib.sha256(
            f.read()).hexdigest()
  return files

"""Checkpoint restore that survives a damaged newest checkpoint, and the
finiteness guard of the training steps.

`restore_latest(checkpoint, directory)` restores the newest checkpoint that
restores. A checkpoint whose files are damaged (truncated `.data`, an
`.index` that is not an sstable, ...) is moved into
`<directory>/damaged/` (never deleted), the checkpoint state file is
rewritten without it, and the next older one is tried; what was skipped and
why is logged. A checkpoint that reads but does not match the model is not
damage: it raises `errors.RunDirectoryError` and nothing is moved. The
`tf.train.CheckpointManager` of the run must be created after this, so that
it reads the repaired state. Tools that only read a run pass
`repair=False`: they skip damaged checkpoints the same way and move nothing.

`all_finite(loss, gradients)` is the per-step guard: a training step applies
its update only when the loss and every gradient are finite, and the trainer
stops with `errors.TrainingDivergedError` naming the step, so no non-finite
value ever reaches a checkpoint.
"""
import glob
import os
import shutil

import tensorflow as tf

from drpm_tf import errors
from drpm_tf import run_directory

DAMAGED_SUBDIR = "damaged"
# What TensorFlow raises for unreadable checkpoint files: its own errors
# (a corrupt tensor fails its checksum: DataLossError), and IndexError ("Read
# less bytes than requested") straight from the C++ reader of a truncated
# .data file.
READ_ERRORS = (tf.errors.OpError, IndexError)


def _move_aside(prefix, directory):
  """Moves the files of checkpoint `prefix` into `directory/damaged/`."""
  target = os.path.join(directory, DAMAGED_SUBDIR)
  os.makedirs(target, exist_ok=True)
  for path in glob.glob(glob.escape(prefix) + ".*"):
    destination = os.path.join(target, os.path.basename(path))
    if os.path.exists(destination):
      destination += ".{}".format(os.getpid())
    shutil.move(path, destination)
  return target


def first_line(error):
  text = str(error).strip().splitlines()
  return text[0] if text else type(error).__name__


def _write_state(directory, paths, timestamps, last_preserved_timestamp):
  """Rewrites the checkpoint state file to list `paths` (oldest first).

  The creation timestamps are kept: without them a new
  `tf.train.CheckpointManager` forgets the older checkpoints (never deleting
  them, never falling back to them).
  """
  state_file = os.path.join(directory, "checkpoint")
  if not paths:
    os.remove(state_file)
    return
  names = [os.path.relpath(p, directory) for p in paths]
  state = tf.compat.v1.train.generate_checkpoint_state_proto(
      os.path.abspath(directory), names[-1], all_model_checkpoint_paths=names,
      all_model_checkpoint_timestamps=timestamps or None,
      last_preserved_timestamp=last_preserved_timestamp)
  # str() of a protocol buffer is its text format, as TF writes the file.
  run_directory.write_atomic(state_file, str(state))


def restore_latest(checkpoint, directory, log=print, partial=False,
                   repair=True):
  """Restores the newest restorable checkpoint of `directory`.

  Args:
    checkpoint: a `tf.train.Checkpoint`.
    directory: the checkpoint directory of a `tf.train.CheckpointManager`.
    log: called with one line per skipped checkpoint.
    partial: `checkpoint` holds only some of the saved objects (e.g. the
      model without its optimizer, to evaluate it).
    repair: move damaged checkpoints aside and rewrite the state file (a
      trainer, which holds the run); False leaves the files as they are (a
      tool that only reads the run).

  Returns:
    The restored checkpoint path, or None when there is none (a fresh run).

  Raises:
    RunDirectoryError: the newest readable checkpoint does not match the
      model of `checkpoint`.
  """
  state = tf.train.get_checkpoint_state(directory)
  if state is None:
    return None
  # get_checkpoint_state joins relative paths to `directory`.
  paths = list(state.all_model_checkpoint_paths) or [
      state.model_checkpoint_path]
  timestamps = list(state.all_model_checkpoint_timestamps)
  if len(timestamps) != len(paths):
    timestamps = []
  while paths:
    path = paths[-1]
    try:
      status = checkpoint.restore(path)
      if partial:
        status.expect_partial()
      status.assert_existing_objects_matched()
    except READ_ERRORS as error:
      paths.pop()
      if not repair:
        log("Skipped checkpoint {}: it does not restore ({}).".format(
            path, first_line(error)))
        continue
      target = _move_aside(path, directory)
      timestamps = timestamps[:len(paths)]
      _write_state(directory, paths, timestamps,
                   state.last_preserved_timestamp)
      log("Skipped checkpoint {}: it does not restore ({}); its files are "
          "kept in {}.".format(path, first_line(error), target))
      continue
    except (AssertionError, ValueError) as error:
      # Intact files of another model (missing objects, other shapes): not
      # damage, so nothing is moved.
      raise errors.RunDirectoryError(
          "Checkpoint {} does not match this model ({}); it was written with "
          "other settings or code. Start over with --overwrite or a new "
          "--model_dir.".format(path, first_line(error))) from error
    return path
  return None


def all_finite(loss, gradients):
  """Scalar bool: `loss` and every (non-None) gradient are finite."""
  checks = [tf.reduce_all(tf.math.is_finite(loss))]
  for gradient in gradients:
    if gradient is None:
      continue
    if isinstance(gradient, tf.IndexedSlices):
      gradient = gradient.values
    checks.append(tf.reduce_all(tf.math.is_finite(gradient)))
  return tf.reduce_all(tf.stack(checks))

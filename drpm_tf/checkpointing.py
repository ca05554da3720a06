"""Checkpoint restore that survives a damaged newest checkpoint, and the
finiteness guard of the training steps.

`restore_latest(checkpoint, directory)` restores the newest checkpoint that
restores. A checkpoint whose files are damaged (truncated `.data`, an
`.index` that is not an sstable, ...) is moved into
`<directory>/damaged/` (never deleted), the checkpoint state file is
rewritten without it, and the next older one is tried; what was skipped and
why is logged. The `tf.train.CheckpointManager` of the run must be created
after this, so that it reads the repaired state.

`all_finite(loss, gradients)` is the per-step guard: a training step applies
its update only when the loss and every gradient are finite, and the trainer
stops with `errors.TrainingDivergedError` naming the step, so no non-finite
value ever reaches a checkpoint.
"""
import glob
import os
import shutil

import tensorflow as tf

DAMAGED_SUBDIR = "damaged"
# What TensorFlow raises for unreadable checkpoint files.
_READ_ERRORS = (tf.errors.DataLossError, tf.errors.OutOfRangeError,
                tf.errors.NotFoundError, tf.errors.InvalidArgumentError,
                tf.errors.FailedPreconditionError, tf.errors.UnknownError,
                ValueError, AssertionError)


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


def _first_line(error):
  text = str(error).strip().splitlines()
  return text[0] if text else type(error).__name__


def restore_latest(checkpoint, directory, log=print):
  """Restores the newest restorable checkpoint of `directory`.

  Args:
    checkpoint: a `tf.train.Checkpoint`.
    directory: the checkpoint directory of a `tf.train.CheckpointManager`.
    log: called with one line per skipped checkpoint and on success.

  Returns:
    The restored checkpoint path, or None when there is none (a fresh run).
  """
  state = tf.train.get_checkpoint_state(directory)
  if state is None:
    return None
  candidates = list(state.all_model_checkpoint_paths) or [
      state.model_checkpoint_path]
  # The state file may hold relative paths.
  candidates = [p if os.path.isabs(p) else os.path.join(directory, p)
                for p in candidates]
  remaining = list(candidates)
  for path in reversed(candidates):
    try:
      checkpoint.restore(path).assert_existing_objects_matched()
    except _READ_ERRORS as error:
      target = _move_aside(path, directory)
      remaining.remove(path)
      log("Skipped checkpoint {}: it does not restore ({}); its files are "
          "kept in {}.".format(path, _first_line(error), target))
      if remaining:
        tf.train.update_checkpoint_state(
            directory, remaining[-1], all_model_checkpoint_paths=remaining)
      else:
        os.remove(os.path.join(directory, "checkpoint"))
      continue
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

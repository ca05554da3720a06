"""drpm_tf.checkpointing: fallback past damaged checkpoints, the finiteness
guard."""
import os

import numpy as np
import pytest
import tensorflow as tf

from drpm_tf import checkpointing
from drpm_tf import errors

import damage


def _checkpoint(shape=(3,)):
  return tf.train.Checkpoint(weights=tf.Variable(tf.zeros(shape)),
                             step=tf.Variable(0, dtype=tf.int64))


def _save_steps(directory, steps=(1, 2, 3)):
  """Checkpoints with weights = step, as a CheckpointManager writes them."""
  checkpoint = _checkpoint()
  manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=5)
  for step in steps:
    checkpoint.weights.assign(tf.fill([3], float(step)))
    checkpoint.step.assign(step)
    manager.save(checkpoint_number=step)
  return [os.path.join(directory, "ckpt-{}".format(s)) for s in steps]


@pytest.mark.parametrize("damage_files", [damage.truncate_data,
                                          damage.flip_data,
                                          damage.garbage_index])
def test_restore_falls_back_past_a_damaged_newest_checkpoint(tmp_path,
                                                             damage_files):
  directory = str(tmp_path / "checkpoints")
  paths = _save_steps(directory)
  damage_files(paths[-1])
  damaged_files = sorted(os.listdir(directory))
  damaged_files = [n for n in damaged_files if n.startswith("ckpt-3.")]
  with open(os.path.join(directory, damaged_files[0]), "rb") as f:
    damaged_bytes = f.read()
  lines = []
  checkpoint = _checkpoint()
  restored = checkpointing.restore_latest(checkpoint, directory,
                                          log=lines.append)
  assert restored == paths[1]
  assert int(checkpoint.step.numpy()) == 2
  np.testing.assert_array_equal(checkpoint.weights.numpy(), [2., 2., 2.])
  # Which one was skipped, why, and where its files are.
  assert len(lines) == 1
  assert paths[-1] in lines[0] and "does not restore (" in lines[0]
  damaged_dir = os.path.join(directory, checkpointing.DAMAGED_SUBDIR)
  assert damaged_dir in lines[0]
  # Kept aside, unchanged, not deleted.
  assert sorted(os.listdir(damaged_dir)) == damaged_files
  with open(os.path.join(damaged_dir, damaged_files[0]), "rb") as f:
    assert f.read() == damaged_bytes
  assert not any(n.startswith("ckpt-3.") for n in os.listdir(directory))
  # The state names the remaining checkpoints, which a new manager still
  # manages (keeps as fallbacks, deletes in turn).
  assert tf.train.latest_checkpoint(directory) == paths[1]
  manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2)
  assert manager.checkpoints == paths[:2]
  manager.save(checkpoint_number=3)
  assert manager.checkpoints == [paths[1], paths[2]]
  assert not os.path.exists(paths[0] + ".index")


def test_every_checkpoint_damaged_is_a_fresh_start_with_all_files_kept(
    tmp_path):
  directory = str(tmp_path / "checkpoints")
  paths = _save_steps(directory, steps=(1, 2))
  damage.truncate_data(paths[0])
  damage.garbage_index(paths[1])
  lines = []
  checkpoint = _checkpoint()
  assert checkpointing.restore_latest(checkpoint, directory,
                                      log=lines.append) is None
  assert len(lines) == 2 and int(checkpoint.step.numpy()) == 0
  assert tf.train.get_checkpoint_state(directory) is None
  assert len(os.listdir(os.path.join(directory, "damaged"))) == 4


def test_a_reader_skips_damage_without_moving_anything(tmp_path):
  directory = str(tmp_path / "checkpoints")
  paths = _save_steps(directory)
  damage.garbage_index(paths[-1])
  before = damage.snapshot(directory)
  lines = []
  # Only the weights, as a tool that evaluates a model restores them.
  partial = tf.train.Checkpoint(weights=tf.Variable(tf.zeros(3)))
  assert checkpointing.restore_latest(partial, directory, log=lines.append,
                                      partial=True, repair=False) == paths[1]
  np.testing.assert_array_equal(partial.weights.numpy(), [2., 2., 2.])
  assert len(lines) == 1
  assert lines[0].startswith("Skipped checkpoint {}: it does not restore "
                             "(".format(paths[-1]))
  assert "not an sstable" in lines[0] and "kept in" not in lines[0]
  assert damage.snapshot(directory) == before
  assert tf.train.latest_checkpoint(directory) == paths[-1]


def test_no_checkpoint_is_a_fresh_start(tmp_path):
  assert checkpointing.restore_latest(_checkpoint(), str(tmp_path)) is None


def test_a_checkpoint_of_another_model_is_refused_not_moved(tmp_path):
  directory = str(tmp_path / "checkpoints")
  paths = _save_steps(directory, steps=(1,))
  before = sorted(os.listdir(directory))
  with pytest.raises(errors.RunDirectoryError,
                     match="{} does not match this model".format(paths[0])):
    checkpointing.restore_latest(_checkpoint(shape=(4,)), directory)
  other = tf.train.Checkpoint(weights=tf.Variable(tf.zeros(3)),
                              step=tf.Variable(0, dtype=tf.int64),
                              extra=tf.Variable(1.))
  with pytest.raises(errors.RunDirectoryError, match="--overwrite"):
    checkpointing.restore_latest(other, directory)
  assert sorted(os.listdir(directory)) == before


@pytest.mark.parametrize("compiled", [False, True])
def test_all_finite(compiled):
  check = checkpointing.all_finite
  if compiled:
    check = tf.function(check)
  nan, inf = float("nan"), float("inf")
  grads = [tf.ones([2, 2]), None,
           tf.IndexedSlices(tf.ones([1, 2]), tf.constant([0]))]
  assert bool(check(tf.constant(1.), grads))
  assert not bool(check(tf.constant(nan), grads))
  assert not bool(check(tf.constant(-inf), grads))
  assert not bool(check(tf.constant(1.), [tf.constant([[1., inf]]), None]))
  assert not bool(check(tf.constant(1.), [
      tf.IndexedSlices(tf.constant([[nan, 0.]]), tf.constant([1]))]))

"""Rebuilding a trained weakly-supervised model from its run directory.

What the export and the evaluation read back: the run's operative gin config
(`results/gin/train.gin`) rebuilds the dataset and the model, the newest
checkpoint (or a given one) restores its weights.
"""
import collections
import os

import gin
import tensorflow as tf

from disentanglement_ext import data as data_lib
from disentanglement_ext import run_layout
from disentanglement_ext import weak_vae
from disentanglement_ext.data import weak_pairs  # noqa: F401  (gin registration)
from drpm_tf import errors
from drpm_tf import gin_config

TrainedModel = collections.namedtuple(
    "TrainedModel", ["model", "dataset", "n_s", "random_seed"])


def load_trained_model(model_dir, checkpoint_path=None):
  """Rebuilds the model of `model_dir` from its train.gin and a checkpoint.

  Leaves the gin config of `model_dir` active (the caller clears it).

  Args:
    model_dir: a trained run directory.
    checkpoint_path: the checkpoint to restore (default: the newest).

  Returns:
    `TrainedModel(model, dataset, n_s, random_seed)`: the restored model, its
    dataset, and the run's `weak_pairs.n_s` and `train_weak.random_seed`.

  Raises:
    RunDirectoryError: `model_dir` holds no train.gin or no checkpoint.
  """
  gin_file = os.path.join(model_dir, run_layout.TRAIN_GIN)
  if not os.path.exists(gin_file):
    raise errors.RunDirectoryError(
        "{} not found: is {} a trained model directory?".format(gin_file,
                                                                model_dir))
  gin.parse_config_files_and_bindings([gin_file], [], skip_unknown=True)
  # Read, not queried: `train_weak` is registered by the trainer, which this
  # module does not import.
  values = gin_config.read_values([gin_file])
  training_steps = values["train_weak.training_steps"]
  dataset = data_lib.get_dataset()
  model = weak_vae.build_model(dataset.observation_shape, training_steps,
                               dataset.num_factors)
  checkpoint = tf.train.Checkpoint(model=model)
  checkpoints = os.path.join(model_dir, run_layout.CHECKPOINTS)
  path = checkpoint_path or tf.train.latest_checkpoint(checkpoints)
  if path is None:
    raise errors.RunDirectoryError("No checkpoint in {}.".format(checkpoints))
  checkpoint.restore(path).expect_partial()
  return TrainedModel(model, dataset, gin.query_parameter("weak_pairs.n_s"),
                      values.get("train_weak.random_seed", 0))

"""drpm_tf.training: what a run records is what its evaluation uses."""

import gin

from drpm_tf import datasets
from drpm_tf import training


def test_a_validation_run_is_trained_and_evaluated_without_the_test_images(
    tmp_path):
  gin.clear_config()
  gin.parse_config("""
load_dataset.name = 'digits'
load_dataset.evaluation_split = 'validation'
drpm_vae.encoder_units = (32, 32, 64)
drpm_vae.num_partition_samples = 2
train_generative.batch_size = 64
train_generative.progress = False
""")
  model_dir = str(tmp_path / 'run')
  training.train_generative(model_dir, num_steps=1)
  gin.clear_config()
  _, data = training.load_trained_model(model_dir)
  gin.clear_config()
  held = datasets.load_dataset('digits', evaluation_split='validation')
  # Evaluation reads the run's own split: the held-out training images.
  assert data.x_test.shape == held.x_test.shape
  assert (data.x_test == held.x_test).all()
  assert len(data.x_train) == len(held.x_train)

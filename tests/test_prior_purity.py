"""Prior purity on models whose priors decode known digits."""

import numpy as np
import pytest

from drpm_tf import datasets
from drpm_tf import prior_purity
from drpm_tf.models import DRPMVAE

_SCALE = 10.


@pytest.fixture(scope='module')
def digits():
  data = datasets.load_dataset('digits')
  return data, prior_purity.train_digit_classifier(data.x_train, data.y_train)


def _prototype_model(data):
  """A model whose decoder maps `z = 10 e_k` to the mean image of digit `k`.

  Latent dim = K = 10, one hidden decoder layer of 10 ReLU units set to the
  identity, logits `sum_j relu(z_j) W_j` with `W_j = logit(mean image of j) /
  10`; so `decode(10 e_k) = mean image of k` and other `z` decode to blends.
  """
  model = DRPMVAE(input_dim=64, latent_dim=10, num_clusters=10,
                  encoder_units=(10,))
  hidden, logits = model.decoder.layers[0].layers[0], model.decoder.layers[1]
  hidden.kernel.assign(np.eye(10, dtype=np.float32))
  hidden.bias.assign(np.zeros(10, np.float32))
  means = np.stack([data.x_train[data.y_train == k].mean(0)
                    for k in range(10)]).clip(0.01, 0.99)
  logits.kernel.assign((np.log(means / (1 - means)) / _SCALE).astype(
      np.float32))
  logits.bias.assign(np.zeros(64, np.float32))
  return model


def test_priors_that_decode_one_digit_each_are_pure(digits):
  data, classifier = digits
  model = _prototype_model(data)
  model.set_priors(_SCALE * np.eye(10), np.full((10, 10), 1e-4),
                   np.full(10, 0.1))
  purity = prior_purity.prior_purity(model, classifier, samples_per_prior=50)
  assert purity['share'] == [1.] * 10
  assert purity['majority_digit'] == list(range(10))
  assert purity['mean_share'] == purity['min_share'] == 1.
  assert purity['distinct_digits'] == 10
  partitions = prior_purity.partition_purity(model, classifier,
                                             num_elements=16, num_partitions=5)
  assert partitions['fraction_pure'] == 1. and partitions['multi'] > 0


def test_identical_priors_are_impure(digits):
  data, classifier = digits
  model = _prototype_model(data)
  # Every prior is the same broad Gaussian: each decodes blends of digits.
  model.set_priors(np.zeros((10, 10)), np.full((10, 10), _SCALE ** 2),
                   np.full(10, 0.1))
  purity = prior_purity.prior_purity(model, classifier, samples_per_prior=200)
  assert purity['mean_share'] < 0.5, purity
  partitions = prior_purity.partition_purity(model, classifier,
                                             num_elements=32, num_partitions=5)
  assert partitions['fraction_pure_multi'] < 0.5


def test_subset_purity_counts():
  subset = [0, 0, 1, 1, 1, 3, 2, 2]
  predicted = [5, 5, 1, 1, 2, 7, 4, 4]
  assert prior_purity.subset_purity(subset, predicted) == dict(
      subsets=4, pure=3, multi=3, pure_multi=2)


def test_purity_arguments():
  with pytest.raises(ValueError, match='samples_per_prior'):
    prior_purity.prior_purity(None, None, samples_per_prior=0)

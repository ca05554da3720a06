"""Base class for datasets whose factors are all latent and form a full grid."""

from disentanglement_ext import compat  # noqa: F401  pylint: disable=unused-import
from disentanglement_lib.data.ground_truth import ground_truth_data
from disentanglement_lib.data.ground_truth import util


class FactorGridData(ground_truth_data.GroundTruthData):
  """dlib `GroundTruthData` with every factor latent and sampled uniformly.

  Subclasses call `_set_factor_sizes` in `__init__`, define
  `OBSERVATION_SHAPE` and `sample_observations_from_factors`.
  """

  OBSERVATION_SHAPE = (64, 64, 3)

  def _set_factor_sizes(self, factor_sizes):
    self.factor_sizes = [int(s) for s in factor_sizes]
    self.latent_factor_indices = list(range(len(self.factor_sizes)))
    self.state_space = util.SplitDiscreteStateSpace(
        self.factor_sizes, self.latent_factor_indices)

  @property
  def num_factors(self):
    return self.state_space.num_latent_factors

  @property
  def factors_num_values(self):
    return self.factor_sizes

  @property
  def observation_shape(self):
    return list(self.OBSERVATION_SHAPE)

  def sample_factors(self, num, random_state):
    """Samples int64 factors `[num, num_factors]` uniformly."""
    return self.state_space.sample_latent_factors(num, random_state)

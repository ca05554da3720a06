"""TFP-style distributions for differentiable random partition models."""

from drpm_tf.distributions.drpm import DifferentiableRandomPartition
from drpm_tf.distributions.drpm import DRPMSample
from drpm_tf.distributions.mvhg import NoncentralMultivariateHypergeometric
from drpm_tf.distributions.mvhg import RelaxedNoncentralMultivariateHypergeometric
from drpm_tf.distributions.plackett_luce import RelaxedPlackettLuce

__all__ = [
    'DifferentiableRandomPartition',
    'DRPMSample',
    'NoncentralMultivariateHypergeometric',
    'RelaxedNoncentralMultivariateHypergeometric',
    'RelaxedPlackettLuce',
]

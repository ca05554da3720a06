"""Keras models built on the DRPM."""

from drpm_tf.models.generative import DRPMVAE

__all__ = ['DRPMVAE']

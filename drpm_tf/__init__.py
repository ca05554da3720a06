"""drpm_tf: differentiable random partition models in TensorFlow Probability.

    distributions/      the TFP distributions (MVHG, Plackett-Luce, DRPM)
    layers.py           DRPMLayer, the Keras layer that samples partitions
    models/             the generative DRPM-VAE
    training.py         its trainer and evaluation (pretraining.py: stage 1)
    generative_*.py     a run's layout, its figures and docs/generative.md
    gin_configs/        the generative gin files (package data)
    bin/                the console scripts (flags only)

Importing this package imports nothing else; `disentanglement_ext` holds
everything that touches disentanglement_lib.
"""

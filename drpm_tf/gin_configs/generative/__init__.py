"""The generative DRPM-VAE: mnist.gin (the paper), the quick schedules."""

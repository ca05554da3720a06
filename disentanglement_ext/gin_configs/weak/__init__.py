"""The weakly-supervised VAE: base.gin (dlib's setup), quick.gin (a tiny run)."""

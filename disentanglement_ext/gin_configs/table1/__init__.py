"""Table 1 sweep: base.gin, one file per method and per n_s, the presets."""

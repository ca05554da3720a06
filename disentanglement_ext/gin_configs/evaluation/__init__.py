"""disentanglement_lib metric configs for drpm-dlib-evaluate."""

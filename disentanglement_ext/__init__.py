"""disentanglement_lib integration of drpm_tf.

Everything that touches `disentanglement_lib` lives here, so `drpm_tf` stays
importable without it. Importing this package does not import
disentanglement_lib; import `disentanglement_ext.compat` (or any submodule that
needs disentanglement_lib, e.g. `disentanglement_ext.data`) before importing
disentanglement_lib modules yourself.

    data/               datasets (synthetic mpi3d, mpi3d_toy) and weak pairs
    aggregation.py      label / adaptive / hg / drpm view aggregation
    weak_vae.py         the weakly-supervised group VAE
    train.py            its trainer; export.py: the TF-Hub export for dlib
    evaluate.py         dlib's metrics and the S / I protocol
    run_layout.py       a run directory's files; trained_model.py reloads one
    table1/             the Table 1 sweep: presets, runs, results, report
    gin_configs/        the gin files (package data)
    bin/                the console scripts (flags only)
"""

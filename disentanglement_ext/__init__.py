"""disentanglement_lib integration of drpm_tf.

Everything that touches `disentanglement_lib` lives here, so `drpm_tf` stays
importable without it. Importing this package does not import
disentanglement_lib; import `disentanglement_ext.compat` (or any submodule that
needs disentanglement_lib, e.g. `disentanglement_ext.data`) before importing
disentanglement_lib modules yourself.
"""

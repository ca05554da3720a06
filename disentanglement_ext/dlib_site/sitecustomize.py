"""Put this directory on PYTHONPATH to run disentanglement_lib's own scripts
(e.g. `dlib_evaluate`) with the drpm-tf compat shim; see
disentanglement_ext/dlib_autoshim.py."""
try:
  from disentanglement_ext import dlib_autoshim as _dlib_autoshim
  _dlib_autoshim.install()
except ImportError:  # drpm-tf not installed in this interpreter.
  pass

"""Finished Table 1 runs without training: the files the sweep reads."""
import json
import os

from disentanglement_ext import run_layout

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_json(path, value):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    json.dump(value, f)


def finish(run, S, I, mse, num_shared=1.0, evaluated=True,  # pylint: disable=invalid-name
           train_seconds=None, extra=None):
  """Writes a trained, exported (marker only) and evaluated run; `extra`:
  more evaluation fields."""
  train = {"global_step": 1}
  if train_seconds is not None:
    train["elapsed_time"] = train_seconds
  write_json(os.path.join(run.model_dir, run_layout.TRAIN_RESULTS), train)
  path = os.path.join(run.model_dir, run_layout.POSTPROCESS_GIN)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    f.write("dataset.name = 'synthetic_mpi3d'\n")
  if evaluated:
    for path in (run_layout.EVAL_RESULTS, run_layout.VALIDATION_RESULTS):
      write_json(os.path.join(run.model_dir, path),
                 dict({"S": S, "I": I, "num_shared_dims_mse": mse,
                       "num_shared_dims_mean": num_shared}, **(extra or {})))

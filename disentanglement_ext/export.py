"""TF-Hub export of a trained `WeakVAE` in disentanglement_lib's format.

TF1-style code is allowed only in this module: dlib's evaluation
loads TF1 Hub modules with `hub.eval_function_for_module` (graph mode).

Writes, like dlib's train + `mean` postprocessing:

    <model_dir>/tfhub                       signatures (dlib's names):
        gaussian_encoder: {images} -> {mean, logvar}
        reconstructions:  {images} -> {images}   (logits of a posterior sample)
        decoder:          {latent_vectors} -> {images}   (logits)
    <model_dir>/postprocessed/mean/tfhub    signature representation:
        {images} -> {default} = mean
    <model_dir>/postprocessed/mean/results  copy of <model_dir>/results plus
        gin/postprocess.gin (holds `dataset.name`, which dlib's evaluate reads
        for `dataset.name = 'auto'`), json/postprocess_results.json, ...

The module graph re-implements the Keras layers with plain TF ops and
`tf.compat.v1.get_variable` (names `encoder/e1/kernel`, ...); the trained
weights are assigned in a session, then `hub.Module(spec).export(path, sess)`. Images are [None, 64, 64, C] floats in [0, 1]; the 'conv32'
architecture pools them to 32x32 inside the module. Decoder outputs are logits
as in dlib (apply a sigmoid for pixel intensities).
"""
import os
import shutil
import tempfile
import time
import uuid

import gin
import numpy as np
import tensorflow as tf
import tensorflow_hub as hub

from disentanglement_ext import run_layout
from disentanglement_ext import trained_model
from disentanglement_ext import weak_vae
from drpm_tf import errors
from drpm_tf import run_directory

tf1 = tf.compat.v1
TMP_PREFIX = ".tmp_export_"
FULL_SIGNATURES = ("gaussian_encoder", "reconstructions", "decoder")


def model_weights(model):
  """{module variable name: numpy value} of a `WeakVAE`."""
  weights = {}

  def add(scope, layer):
    if not layer.weights:
      return
    kernel, bias = layer.get_weights()
    weights["{}/{}/kernel".format(scope, layer.name)] = kernel
    weights["{}/{}/bias".format(scope, layer.name)] = bias

  for layer in model.encoder_trunk.layers:
    add("encoder", layer)
  add("encoder", model.means_layer)
  add("encoder", model.log_var_layer)
  for layer in model.decoder.layers:
    add("decoder", layer)
  return weights


def _dense(x, name, units, activation=None):
  kernel = tf1.get_variable(name + "/kernel", [x.shape[-1], units])
  x = tf.matmul(x, kernel) + tf1.get_variable(name + "/bias", [units])
  return tf.nn.relu(x) if activation == "relu" else x


def _conv(x, name, filters, kernel):
  w = tf1.get_variable(name + "/kernel", [kernel, kernel, x.shape[-1], filters])
  x = tf.nn.conv2d(x, w, strides=2, padding="SAME")
  return tf.nn.relu(x + tf1.get_variable(name + "/bias", [filters]))


def _deconv(x, name, filters, activation):
  w = tf1.get_variable(name + "/kernel", [4, 4, filters, x.shape[-1]])
  height, width = int(x.shape[1]), int(x.shape[2])
  out_shape = tf.stack([tf.shape(x)[0], 2 * height, 2 * width, filters])
  x = tf.nn.conv2d_transpose(x, w, out_shape, strides=2, padding="SAME")
  x = tf.reshape(x, [-1, 2 * height, 2 * width, filters])
  x = x + tf1.get_variable(name + "/bias", [filters])
  return tf.nn.relu(x) if activation == "relu" else x


def _encoder(images, architecture, num_latent):
  with tf1.variable_scope("encoder", reuse=tf1.AUTO_REUSE):
    x = images
    if architecture == "conv32":
      x = tf.nn.avg_pool2d(x, 2, 2, "VALID")
    for kind, name, size, kernel in weak_vae.encoder_layer_specs(architecture):
      if kind == "conv":
        x = _conv(x, name, size, kernel)
      elif kind == "flatten":
        x = tf.reshape(x, [-1, int(np.prod(x.shape[1:]))])
      else:
        x = _dense(x, name, size, "relu")
    return (_dense(x, "means", num_latent),
            _dense(x, "log_var", num_latent))


def _decoder(z, architecture, channels):
  with tf1.variable_scope("decoder", reuse=tf1.AUTO_REUSE):
    x = z
    for kind, name, size, activation in weak_vae.decoder_layer_specs(
        architecture, channels):
      if kind == "dense":
        x = _dense(x, name, size, activation)
      elif kind == "reshape":
        x = tf.reshape(x, [-1] + list(size))
      else:
        x = _deconv(x, name, size, activation)
    return x


def _full_module_fn(observation_shape, architecture, num_latent):
  def module_fn():
    images = tf1.placeholder(tf.float32, [None] + list(observation_shape))
    mean, logvar = _encoder(images, architecture, num_latent)
    hub.add_signature(name="gaussian_encoder", inputs={"images": images},
                      outputs={"mean": mean, "logvar": logvar})
    sample = mean + tf.exp(0.5 * logvar) * tf1.random_normal(tf.shape(mean))
    hub.add_signature(
        name="reconstructions", inputs={"images": images},
        outputs={"images": _decoder(sample, architecture,
                                    observation_shape[2])})
    latents = tf1.placeholder(tf.float32, [None, num_latent])
    hub.add_signature(
        name="decoder", inputs={"latent_vectors": latents},
        outputs={"images": _decoder(latents, architecture,
                                    observation_shape[2])})
  return module_fn


def _representation_module_fn(observation_shape, architecture, num_latent):
  def module_fn():
    images = tf1.placeholder(tf.float32, [None] + list(observation_shape))
    mean, _ = _encoder(images, architecture, num_latent)
    hub.add_signature(name="representation", inputs={"images": images},
                      outputs={"default": mean})
  return module_fn


def _export_spec(module_fn, weights, path):
  """Builds the module, assigns `weights`, exports atomically to `path`."""
  # dlib exports a "train" and a default tag set; our graphs are identical.
  spec = hub.create_module_spec(module_fn, tags_and_args=[({"train"}, {}),
                                                          (set(), {})])
  parent = os.path.dirname(os.path.abspath(path))
  tf.io.gfile.makedirs(parent)
  tmp = tempfile.mkdtemp(prefix=TMP_PREFIX, dir=parent)
  try:
    with tf.Graph().as_default():
      module = hub.Module(spec, trainable=False)
      variable_map = module.variable_map
      missing = set(variable_map) - set(weights)
      if missing:
        raise ValueError("Module / model variable mismatch: {}".format(
            sorted(missing)))
      assigns, feeds = [], {}
      for name, variable in variable_map.items():
        placeholder = tf1.placeholder(variable.dtype.base_dtype,
                                      variable.shape)
        assigns.append(tf1.assign(variable, placeholder))
        feeds[placeholder] = weights[name]
      with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        sess.run(assigns, feed_dict=feeds)
        module.export(os.path.join(tmp, "module"), sess)
    # Move the previous export aside (a unique name) before the new one takes
    # its place, then drop it: `path` is never half-deleted.
    if os.path.isdir(path):
      os.replace(path, os.path.join(tmp, "previous"))
    os.replace(os.path.join(tmp, "module"), path)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)


def remove_leftovers(model_dir):
  """Deletes `.tmp_export_*` folders an interrupted export left behind.

  Call it only while holding the run's lock (no export of this run is in
  flight then).
  """
  removed = []
  for parent in (model_dir, os.path.join(model_dir, run_layout.POSTPROCESSED)):
    if not os.path.isdir(parent):
      continue
    for name in os.listdir(parent):
      if name.startswith(TMP_PREFIX):
        shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
        removed.append(os.path.join(parent, name))
  return removed


def verify_export(model_dir):
  """Problems of `model_dir`'s export, [] when both modules load.

  Loads each module's spec (graph and signatures) and reads its variables
  index, without building a session: enough to reject a missing, truncated
  or half-written export.
  """
  problems = []
  for path, signatures in ((os.path.join(model_dir, run_layout.TFHUB),
                            FULL_SIGNATURES),
                           (os.path.join(model_dir, run_layout.POSTPROCESSED,
                                         run_layout.TFHUB),
                            ("representation",))):
    try:
      spec = hub.load_module_spec(path)
      missing = set(signatures) - set(spec.get_signature_names())
      if missing:
        raise ValueError("missing signatures {}".format(sorted(missing)))
      names = tf.train.list_variables(os.path.join(path, "variables",
                                                   "variables"))
      if not names:
        raise ValueError("no variables")
    except Exception as error:  # pylint: disable=broad-except
      problems.append("{}: {}".format(path, " ".join(str(error).split())[:200]))
  # postprocess_results.json is written last.
  for path in (run_layout.POSTPROCESS_GIN, run_layout.POSTPROCESS_RESULTS):
    if not os.path.exists(os.path.join(model_dir, path)):
      problems.append("{} missing".format(path))
  return problems


def _write_postprocess_results(model_dir, output_dir, dataset_name,
                               random_seed, elapsed):
  """dlib's `update_result_directory(..., 'postprocess', ...)` equivalent.

  The operative gin config is the training one plus the postprocess bindings
  dlib's own `postprocess` would have recorded; it always holds
  `dataset.name`.
  """
  from disentanglement_lib.utils import results  # pylint: disable=g-import-not-at-top
  results_dir = os.path.join(output_dir, run_layout.RESULTS)
  original = os.path.join(model_dir, run_layout.RESULTS)
  if tf.io.gfile.isdir(original):
    results.copydir(original, results_dir)
  gin_dir = os.path.join(results_dir, "gin")
  tf.io.gfile.makedirs(gin_dir)
  config = gin.operative_config_str()
  lines = ["# Written by disentanglement_ext.export (dlib 'mean' "
           "postprocessing).",
           "postprocess.name = 'mean'",
           "postprocess.postprocess_fn = @mean_representation",
           "postprocess.random_seed = {}".format(int(random_seed))]
  if "dataset.name = " not in config:
    lines.append("dataset.name = '{}'".format(dataset_name))
  gin_path = os.path.join(gin_dir, "postprocess.gin")
  run_directory.write_atomic(gin_path, "\n".join(lines) + "\n\n" + config)
  json_dir = os.path.join(results_dir, "json")
  results.save_dict(os.path.join(json_dir, "postprocess_config.json"),
                    results.gin_dict(gin_path))
  results.save_dict(os.path.join(json_dir, "postprocess_results.json"),
                    {"elapsed_time": elapsed, "uuid": str(uuid.uuid4())})
  results.save_dict(os.path.join(results_dir, "aggregate", "postprocess.json"),
                    results.aggregate_json_results(json_dir))


def export_model(model, model_dir, random_seed=0, dataset_name=None):
  """Exports `model` (a `WeakVAE`) under `model_dir` (see module doc)."""
  timer = time.time()
  remove_leftovers(model_dir)
  if dataset_name is None:
    try:
      dataset_name = gin.query_parameter("dataset.name")
    except ValueError:
      dataset_name = None
  weights = model_weights(model)
  args = (model.observation_shape, model.architecture, model.num_latent)
  _export_spec(_full_module_fn(*args), weights,
               os.path.join(model_dir, run_layout.TFHUB))
  output_dir = os.path.join(model_dir, run_layout.POSTPROCESSED)
  _export_spec(_representation_module_fn(*args), weights,
               os.path.join(output_dir, run_layout.TFHUB))
  if dataset_name is None:
    raise ValueError("Cannot tell the dataset name (gin `dataset.name`).")
  _write_postprocess_results(model_dir, output_dir, dataset_name, random_seed,
                             time.time() - timer)
  return output_dir


def export_from_model_dir(model_dir):
  """Re-exports a trained `model_dir` from its train.gin + latest checkpoint."""
  try:
    trained = trained_model.load_trained_model(model_dir)
    return export_model(trained.model, model_dir,
                        random_seed=trained.random_seed)
  finally:
    gin.clear_config()


def export_run(model_dir):
  """`drpm-train-weak --export_only`: redoes a finished run's export under
  its run lock, then checks that both modules load.

  Raises:
    RunDirectoryError: `model_dir` holds no finished training (nothing is
      created or changed then), or another process holds its lock.
  """
  if not os.path.exists(os.path.join(model_dir, run_layout.TRAIN_RESULTS)):
    raise errors.RunDirectoryError(
        "--export_only needs a finished training, and {} holds none (no {}). "
        "Run the training command (it resumes an unfinished run).".format(
            model_dir, run_layout.TRAIN_RESULTS))
  with run_directory.run_lock(model_dir):
    output_dir = export_from_model_dir(model_dir)
  problems = verify_export(model_dir)
  if problems:
    raise RuntimeError("The new export does not load: {}".format(
        "; ".join(problems)))
  print("Exported TF-Hub modules to {}/tfhub and {}.".format(
      model_dir, os.path.join(output_dir, run_layout.TFHUB)), flush=True)
  return output_dir

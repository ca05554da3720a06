"""Evaluation of the weakly-supervised models.

1. `dlib_evaluate(...)`: disentanglement_lib's own `evaluation.evaluate` (its
   metrics: dci, mig, sap, beta_vae, factor_vae, downstream_task, ... with the
   packaged gin files `disentanglement_ext/gin_configs/evaluation/`), run
   unchanged through the compat
   shim on `<model_dir>/postprocessed/mean` (console script
   `drpm-dlib-evaluate`, same flags as dlib's `dlib_evaluate`).

2. `evaluate_weak(model_dir, ...)`: the Table 1 protocol, console script
   `drpm-evaluate-weak`. Held-out weak pairs (a seed disjoint from the
   training stream) are encoded and aggregated by the trained model with
   each method's DETERMINISTIC shared set (`disentanglement_ext.aggregation`:
   the MVHG mode for hg, the noise-free partition for drpm), so a pair's
   features do not depend on any seed. The shared representation of a pair
   is the averaged mean on its shared dims (zeros elsewhere), the independent
   representation of a view its own mean on the independent dims (zeros
   elsewhere). For each factor j, a logistic regression predicts the
   factor's value
     S: from the shared representation, on the pairs where j is shared;
     I: from the independent representations (both views, each with its own
        value of factor j), on the pairs where j is NOT shared;
   fitted on one set of pairs, sized by default so that every factor's S and
   I classifier sees about `min_pairs_per_factor` pairs (the realized minima
   are reported), and scored on another (the 'test' split, or with
   `split='validation'` a third stream used to choose settings without
   touching the test pairs) with sklearn's
   `balanced_accuracy_score(adjusted=True)`, averaged over the factors that
   have >= 2 classes in both sets. n_s = 0 has no S column; n_s = number of
   factors has no I column (reported as null). Also: estimated number of
   shared dims per pair (mask sum) vs the true number of shared factors: mean
   estimate and MSE (paper Figure 5), from the same deterministic sets; and,
   for comparison only, the same from one sampled aggregation at the final
   temperature (`num_shared_dims_sampled_*`). And the active latent dims
   (`active_dims_mask`): a dim is active when the variance of its posterior
   mean over the fitting pairs' images exceeds `ACTIVE_DIM_VARIANCE` (Burda et
   al.'s activity criterion, with a threshold of 0.1). An inactive dim
   carries almost no information in the sampled latent, so calling it shared
   or independent changes the reconstructions and the latent KL very little
   (its posterior mean may still vary at a small scale, which a standardized
   probe can read); `num_shared_active_dims_mean` counts only the active
   shared dims.

References:
  Burda, Grosse, Salakhutdinov. Importance Weighted Autoencoders. ICLR 2016
  (Section 5.2, active units).
"""
import math
import os
import time

import gin
import numpy as np
from sklearn import linear_model
from sklearn import metrics as sk_metrics
from sklearn import preprocessing

from disentanglement_ext import compat
from disentanglement_ext import data  # noqa: F401  (registers our datasets)
from disentanglement_ext import run_layout
from disentanglement_ext.data import weak_pairs
from drpm_tf import errors
from drpm_tf import run_directory

# A dim whose posterior mean varies less than this over the data is inactive.
# Burda et al. use 0.01 on MNIST; the unused dims of our weak VAEs often
# jitter just above it (0.01-0.03 in most `cpu` runs), used ones are near 1.
# No threshold separates every run (one had all unused dims at 0.11-0.14),
# so the per-dim variances are reported as well.
ACTIVE_DIM_VARIANCE = 0.1
EVAL_SEED_OFFSET = 1000003  # Held-out pair streams never meet training's.
# Stream index of each scoring split (index 0 is the classifiers' fitting set).
SPLITS = {"test": 1, "validation": 2}


def dlib_evaluate(input_dir, output_dir, overwrite=False, gin_config_files=None,
                  gin_bindings=None, config_glob=None):
  """dlib's `evaluation.evaluate_with_gin`, with the compat shim applied.

  As dlib's `dlib_evaluate` script: with `config_glob`, every config file it
  matches is evaluated into `<output_dir>/<its name>` (with the binding
  `evaluation.name = '<its name>'`; `gin_config_files` and `gin_bindings`
  are not used then). `disentanglement_ext/gin_configs/evaluation/dci.gin`
  names the packaged DCI config from any directory.

  Raises:
    RunDirectoryError: `input_dir` holds no TF-Hub module; an output
      directory exists without `overwrite`, or holds more than an
      evaluation's `results/` (dlib's overwrite deletes it as a whole).
  """
  if config_glob is not None:
    import glob  # pylint: disable=g-import-not-at-top
    for config in sorted(glob.glob(config_glob)):
      metric_name = os.path.basename(config).replace(".gin", "")
      dlib_evaluate(input_dir, os.path.join(output_dir, metric_name),
                    overwrite, [config],
                    ["evaluation.name = '{}'".format(metric_name)])
    return
  if not os.path.exists(os.path.join(input_dir or "", run_layout.TFHUB,
                                     "saved_model.pb")):
    raise errors.RunDirectoryError(
        "--input_dir {} holds no TF-Hub module (tfhub/saved_model.pb); give "
        "an exported representation such as <model_dir>/postprocessed/mean."
        .format(input_dir))
  if os.path.isdir(output_dir):
    if not overwrite:
      raise errors.RunDirectoryError(
          "--output_dir {} exists; pass --overwrite to replace its "
          "results.".format(output_dir))
    others = sorted(set(os.listdir(output_dir)) - {run_layout.RESULTS})
    if others:
      raise errors.RunDirectoryError(
          "Refusing to overwrite --output_dir {}: it holds more than an "
          "evaluation's results/ ({}), and nothing in it was touched."
          .format(output_dir, ", ".join(others)))
  from disentanglement_lib.evaluation import evaluate  # pylint: disable=g-import-not-at-top
  compat.apply()
  evaluate.evaluate_with_gin(input_dir, output_dir, overwrite,
                             gin_config_files or [], gin_bindings or [])


def _final_step(model):
  schedule = getattr(model.aggregator, "temperature_schedule", None)
  return getattr(schedule, "num_steps", 0)


def _encode_pairs(model, pairs, batch_size=256, sample_seed=None):
  """Encodes and aggregates `pairs` with the deterministic shared sets.

  Returns a dict of numpy arrays: mean1, mean2 (the views' posterior means),
  shared_mean (the averaged mean), mask (deterministic shared set) and, with
  `sample_seed`, sampled_mask (one draw of the stochastic aggregation at the
  final temperature, for comparison only).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  keys = ["mean1", "mean2", "shared_mean", "mask"]
  if sample_seed is not None:
    keys.append("sampled_mask")
  outputs = {key: [] for key in keys}
  for start in range(0, len(pairs.x1), batch_size):
    sl = slice(start, start + batch_size)
    known = tf.constant(pairs.known_factor[sl])
    shared = tf.constant(pairs.shared_mask[sl])
    (m1, m2), (lv1, lv2), agg = model.aggregate(
        tf.constant(pairs.x1[sl]), tf.constant(pairs.x2[sl]),
        shared_factors=shared, known_factor=known)
    outputs["mean1"].append(m1.numpy())
    outputs["mean2"].append(m2.numpy())
    outputs["shared_mean"].append(agg.mean.numpy())
    outputs["mask"].append(agg.mask.numpy())
    if sample_seed is not None:
      sampled = model.aggregator(
          m1, lv1, m2, lv2, step=_final_step(model), shared_factors=shared,
          known_factor=known,
          seed=tf.constant([sample_seed, start], tf.int32))
      outputs["sampled_mask"].append(sampled.mask.numpy())
  return {key: np.concatenate(value) for key, value in outputs.items()}


def _features(model, pairs, sample_seed=None):
  encoded = _encode_pairs(model, pairs, sample_seed=sample_seed)
  mask = encoded["mask"]
  features = dict(means=np.concatenate([encoded["mean1"], encoded["mean2"]]),
                  shared=encoded["shared_mean"] * mask,
                  indep1=encoded["mean1"] * (1. - mask),
                  indep2=encoded["mean2"] * (1. - mask), mask=mask,
                  shared_factors=pairs.shared_mask, factors1=pairs.factors1,
                  factors2=pairs.factors2)
  if sample_seed is not None:
    features["sampled_mask"] = encoded["sampled_mask"]
  return features


def active_dims(means, threshold=ACTIVE_DIM_VARIANCE):
  """(variance of each dim's posterior mean over the rows, active mask)."""
  means = np.asarray(means, np.float64)
  if means.ndim != 2 or means.shape[0] < 2:
    raise ValueError("means must be a [num_images >= 2, num_latent] array; "
                     "got shape {}.".format(means.shape))
  variance = means.var(axis=0, ddof=1)
  return variance, variance > threshold


def pairs_needed(min_pairs_per_factor, num_factors, n_s, margin=1.15):
  """Pairs to draw so every S and I classifier sees ~`min_pairs_per_factor`.

  A factor is shared in a fraction n_s / F of the pairs (its S classifier's
  data) and changed in (F - n_s) / F (its I classifier's); `margin` covers
  the binomial spread of these counts (the realized minimum is reported).
  """
  if n_s == weak_pairs.RANDOM_N_S:
    fractions = [0.5 * (num_factors - 1) / num_factors]
  else:
    fractions = [f for f in (n_s / num_factors,
                             (num_factors - n_s) / num_factors) if f > 0]
  return int(math.ceil(margin * min_pairs_per_factor / min(fractions)))


def _score(train_x, train_y, test_x, test_y, max_iter=1000):
  if (len(np.unique(train_y)) < 2 or len(np.unique(test_y)) < 2 or
      len(train_y) < 2):
    return None
  scaler = preprocessing.StandardScaler().fit(train_x)
  clf = linear_model.LogisticRegression(max_iter=max_iter)
  clf.fit(scaler.transform(train_x), train_y)
  pred = clf.predict(scaler.transform(test_x))
  import warnings  # pylint: disable=g-import-not-at-top
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    return float(sk_metrics.balanced_accuracy_score(test_y, pred,
                                                    adjusted=True))


def shared_independent_scores(train, test):
  """S / I adjusted balanced accuracies per factor.

  `train`, `test`: dicts with shared, indep1, indep2 [N, d], shared_factors
  bool [N, F], factors1, factors2 int [N, F].
  """
  num_factors = train["shared_factors"].shape[1]
  s_scores, i_scores = [], []
  for j in range(num_factors):
    tr, te = train["shared_factors"][:, j], test["shared_factors"][:, j]
    s_scores.append(_score(train["shared"][tr], train["factors1"][tr, j],
                           test["shared"][te], test["factors1"][te, j]))
    tr, te = ~tr, ~te
    i_scores.append(_score(
        np.concatenate([train["indep1"][tr], train["indep2"][tr]]),
        np.concatenate([train["factors1"][tr, j], train["factors2"][tr, j]]),
        np.concatenate([test["indep1"][te], test["indep2"][te]]),
        np.concatenate([test["factors1"][te, j], test["factors2"][te, j]])))
  return s_scores, i_scores


def _mean_or_none(values):
  values = [v for v in values if v is not None]
  return float(np.mean(values)) if values else None


def _per_factor_counts(shared_factors):
  """(min pairs per factor with it shared, min with it changed)."""
  shared = shared_factors.sum(axis=0)
  changed = len(shared_factors) - shared
  return int(shared.min()), int(changed.min())


def evaluate_weak(model_dir, output_dir=None, min_pairs_per_factor=1000,
                  num_train=None, num_test=None, seed=0, split="test",
                  overwrite=False):
  """Table 1 S/I evaluation of a trained `model_dir` (see module doc).

  Args:
    model_dir: trained run directory.
    output_dir: default `<model_dir>/weak_evaluation` (split 'test') or
      `<model_dir>/weak_evaluation_validation` (split 'validation').
    min_pairs_per_factor: size the fitting set so that every S and I
      classifier is fit on about this many pairs (`pairs_needed`); the
      scoring set gets half as many. Ignored where `num_train` / `num_test`
      are given.
    num_train, num_test: explicit numbers of fitting / scoring pairs.
    seed: seed of the evaluation pair streams.
    split: 'test' (the reported numbers) or 'validation' (a third pair
      stream, for choosing settings without touching the test pairs).
    overwrite: replace existing results.

  Writes `<output_dir>/results/json/evaluation_results.json` and returns the
  dict.
  """
  # Imports TensorFlow; dlib_evaluate does not need it up front.
  from disentanglement_ext import trained_model  # pylint: disable=g-import-not-at-top
  if split not in SPLITS:
    raise errors.ConfigError("Unknown split {!r}; valid: {}.".format(
        split, ", ".join(SPLITS)))
  timer = time.time()
  if output_dir is None:
    output_dir = os.path.join(model_dir, run_layout.EVALUATION_DIRS[split])
  out_path = os.path.join(output_dir, run_layout.EVALUATION_RESULTS)
  if os.path.exists(out_path) and not overwrite:
    raise errors.RunDirectoryError("{} exists and overwrite is False.".format(out_path))
  try:
    model, dataset, n_s, _ = trained_model.load_trained_model(model_dir)
    sampler = weak_pairs.WeakPairSampler(dataset, n_s=n_s)
    if num_train is None:
      num_train = pairs_needed(min_pairs_per_factor, sampler.num_factors, n_s)
    if num_test is None:
      num_test = pairs_needed(max(min_pairs_per_factor // 2, 1),
                              sampler.num_factors, n_s)
    splits = {}
    for name, num, offset in (("train", num_train, 0),
                              (split, num_test, SPLITS[split])):
      pairs = sampler.sample(num, weak_pairs.batch_random_state(
          EVAL_SEED_OFFSET + seed, offset))
      splits[name] = _features(
          model, pairs,
          sample_seed=None if name == "train" else EVAL_SEED_OFFSET + seed)
    aggregation = model.aggregation_name
  finally:
    gin.clear_config()
  s_scores, i_scores = shared_independent_scores(splits["train"],
                                                 splits[split])
  test = splits[split]
  estimated = test["mask"].sum(-1)
  sampled = test["sampled_mask"].sum(-1)
  true = test["shared_factors"].sum(-1).astype(np.float64)
  mean_variance, active = active_dims(splits["train"]["means"])
  fit_shared, fit_changed = _per_factor_counts(splits["train"]["shared_factors"])
  score_shared, score_changed = _per_factor_counts(test["shared_factors"])
  result = {
      "aggregation": aggregation,
      "n_s": int(n_s),
      "split": split,
      "num_factors": int(test["shared_factors"].shape[1]),
      "num_train": int(num_train),
      "num_test": int(num_test),
      # Fewest pairs any factor's S (shared) / I (changed) classifier was fit
      # and scored on.
      "S_fit_pairs_min": fit_shared, "I_fit_pairs_min": fit_changed,
      "S_score_pairs_min": score_shared, "I_score_pairs_min": score_changed,
      "S": None if n_s == 0 else _mean_or_none(s_scores),
      "I": _mean_or_none(i_scores),
      "S_per_factor": s_scores,
      "I_per_factor": i_scores,
      "num_shared_dims_mean": float(estimated.mean()),
      "num_shared_dims_std": float(estimated.std(ddof=1)),
      "true_num_shared_factors_mean": float(true.mean()),
      "num_shared_dims_mse": float(np.mean((estimated - true) ** 2)),
      "num_shared_dims_sampled_mean": float(sampled.mean()),
      "num_shared_dims_sampled_mse": float(np.mean((sampled - true) ** 2)),
      "posterior_mean_variance": mean_variance.tolist(),
      "active_dims_mask": active.astype(int).tolist(),
      "num_active_dims": int(active.sum()),
      "num_shared_active_dims_mean": float((test["mask"] * active).sum(-1)
                                           .mean()),
      "elapsed_time": time.time() - timer,
  }
  run_directory.write_json(out_path, result)
  return result

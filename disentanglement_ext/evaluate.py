"""Evaluation of the weakly-supervised models.

1. `dlib_evaluate(...)`: disentanglement_lib's own `evaluation.evaluate` (its
   metrics: dci, mig, sap, beta_vae, factor_vae, downstream_task, ... with the
   gin files in `gin_configs/evaluation/`), run unchanged through the compat
   shim on `<model_dir>/postprocessed/mean` (console script
   `drpm-dlib-evaluate`, same flags as dlib's `dlib_evaluate`).

2. `evaluate_weak(model_dir, ...)`: the Table 1 protocol (DESIGN.md), console
   script `drpm-evaluate-weak`. Held-out weak pairs (a seed disjoint from the
   training stream) are encoded and aggregated by the trained model; the
   shared representation of a pair is the aggregated mean on its shared dims
   (zeros elsewhere), the independent representation of a view its own mean on
   the independent dims (zeros elsewhere). For each factor j, a logistic
   regression predicts the factor's value
     S: from the shared representation, on the pairs where j is shared;
     I: from the independent representations (both views, each with its own
        value of factor j), on the pairs where j is NOT shared;
   fitted on `num_train` pairs, scored on `num_test` other pairs with sklearn's
   `balanced_accuracy_score(adjusted=True)`, averaged over the factors that
   have >= 2 classes in both splits. n_s = 0 has no S column; n_s = number of
   factors has no I column (reported as null). Also: estimated number of
   shared dims per pair (mask sum) vs the true number of shared factors: mean
   estimate and MSE (paper Figure 5). Stochastic aggregators (hg, drpm) use one
   hard sample at the final temperature with a fixed seed.
"""
import json
import os
import time

import gin
import numpy as np
from sklearn import linear_model
from sklearn import metrics as sk_metrics
from sklearn import preprocessing

from disentanglement_ext import compat  # noqa: F401  pylint: disable=unused-import
from disentanglement_ext.data import weak_pairs

EVAL_SEED_OFFSET = 1000003  # Held-out pair streams never meet training's.


def dlib_evaluate(input_dir, output_dir, overwrite=False, gin_config_files=None,
                  gin_bindings=None):
  """dlib's `evaluation.evaluate_with_gin`, with the compat shim applied."""
  from disentanglement_lib.evaluation import evaluate  # pylint: disable=g-import-not-at-top
  compat.apply()
  evaluate.evaluate_with_gin(input_dir, output_dir, overwrite,
                             gin_config_files or [], gin_bindings or [])


def _encode_pairs(model, pairs, batch_size=256):
  """Returns (mean1, mean2, shared mean, mask) as numpy arrays."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  outputs = [[], [], [], []]
  for start in range(0, len(pairs.x1), batch_size):
    sl = slice(start, start + batch_size)
    (m1, m2), _, agg = model.aggregate(
        tf.constant(pairs.x1[sl]), tf.constant(pairs.x2[sl]),
        shared_factors=tf.constant(pairs.shared_mask[sl]),
        seed=(EVAL_SEED_OFFSET, start))
    outputs[0].append(m1.numpy())
    outputs[1].append(m2.numpy())
    # On shared dims both aggregated means are the same average.
    outputs[2].append(agg.mean1.numpy())
    outputs[3].append(agg.mask.numpy())
  return [np.concatenate(o) for o in outputs]


def _features(model, pairs):
  mean1, mean2, agg_mean, mask = _encode_pairs(model, pairs)
  shared = agg_mean * mask
  indep1 = mean1 * (1. - mask)
  indep2 = mean2 * (1. - mask)
  return shared, indep1, indep2, mask


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


def evaluate_weak(model_dir, output_dir=None, num_train=2000, num_test=1000,
                  seed=0, overwrite=False):
  """Table 1 S/I evaluation of a trained `model_dir` (see module doc).

  Writes `<output_dir>/results/json/evaluation_results.json` (default
  output_dir: `<model_dir>/weak_evaluation`) and returns the dict.
  """
  from disentanglement_ext import train as train_lib  # pylint: disable=g-import-not-at-top
  timer = time.time()
  if output_dir is None:
    output_dir = os.path.join(model_dir, "weak_evaluation")
  out_path = os.path.join(output_dir, "results", "json",
                          "evaluation_results.json")
  if os.path.exists(out_path) and not overwrite:
    raise ValueError("{} exists and overwrite is False.".format(out_path))
  try:
    model, dataset, n_s = train_lib.load_trained_model(model_dir)
    sampler = weak_pairs.WeakPairSampler(dataset, n_s=n_s)
    splits = {}
    for split, num, offset in (("train", num_train, 0), ("test", num_test, 1)):
      pairs = sampler.sample(num, weak_pairs.batch_random_state(
          EVAL_SEED_OFFSET + seed, offset))
      shared, indep1, indep2, mask = _features(model, pairs)
      splits[split] = dict(shared=shared, indep1=indep1, indep2=indep2,
                           mask=mask, shared_factors=pairs.shared_mask,
                           factors1=pairs.factors1, factors2=pairs.factors2)
    aggregation = model.aggregation_name
  finally:
    gin.clear_config()
  s_scores, i_scores = shared_independent_scores(splits["train"],
                                                 splits["test"])
  test = splits["test"]
  estimated = test["mask"].sum(-1)
  true = test["shared_factors"].sum(-1).astype(np.float64)
  result = {
      "aggregation": aggregation,
      "n_s": int(n_s),
      "num_factors": int(test["shared_factors"].shape[1]),
      "num_train": int(num_train),
      "num_test": int(num_test),
      "S": None if n_s == 0 else _mean_or_none(s_scores),
      "I": _mean_or_none(i_scores),
      "S_per_factor": s_scores,
      "I_per_factor": i_scores,
      "num_shared_dims_mean": float(estimated.mean()),
      "num_shared_dims_std": float(estimated.std()),
      "true_num_shared_factors_mean": float(true.mean()),
      "num_shared_dims_mse": float(np.mean((estimated - true) ** 2)),
      "elapsed_time": time.time() - timer,
  }
  os.makedirs(os.path.dirname(out_path), exist_ok=True)
  with open(out_path + ".tmp", "w") as f:
    json.dump(result, f, indent=2)
  os.replace(out_path + ".tmp", out_path)
  return result

"""Where a weakly-supervised run keeps its files (paths relative to the run).

The one definition of the run directory's layout, which follows
disentanglement_lib's (dlib's `results/` and `postprocessed/mean/`), for the
trainer, the export, the evaluation and the Table 1 sweep alike:

    drpm_run.json                 marker: a run of ours (drpm_tf.run_directory)
    run_config.gin                the gin settings in force (compared on resume)
    config_changes.txt            settings changed on resume
    checkpoints/                  tf.train.CheckpointManager (ckpt-<step>)
    tensorboard/                  TensorBoard scalars
    results/gin/train.gin         operative gin config of the training
    results/json/train_results.json   final metrics (+ train_config.json, ...)
    tfhub/                        TF1 Hub module: gaussian_encoder, decoder,
                                  reconstructions
    postprocessed/mean/           `representation` module + results
                                  (results/gin/postprocess.gin), ready for
                                  dlib's `evaluation.evaluate`
    weak_evaluation/              drpm-evaluate-weak, test pairs
    weak_evaluation_validation/   drpm-evaluate-weak --split validation
    metrics/dci/                  drpm-dlib-evaluate, DCI (sweep with --dci)
    table1_run.log, .sweep.lock   the Table 1 sweep's log and lock

Nothing here imports TensorFlow: the sweep reads the layout without it.
"""
import os

CHECKPOINTS = "checkpoints"
TENSORBOARD = "tensorboard"
RESULTS = "results"
TRAIN_GIN = os.path.join(RESULTS, "gin", "train.gin")
TRAIN_RESULTS = os.path.join(RESULTS, "json", "train_results.json")
RUN_CONFIG = "run_config.gin"
CONFIG_CHANGES = "config_changes.txt"
# Runs made before run markers existed are recognized by these files.
LEGACY_SIGNATURES = (os.path.join(CHECKPOINTS, "checkpoint"), TRAIN_GIN)

TFHUB = "tfhub"
POSTPROCESSED = os.path.join("postprocessed", "mean")
POSTPROCESS_GIN = os.path.join(POSTPROCESSED, RESULTS, "gin",
                               "postprocess.gin")
# Written last by the export.
POSTPROCESS_RESULTS = os.path.join(POSTPROCESSED, RESULTS, "json",
                                   "postprocess_results.json")

# `drpm-evaluate-weak` output directory per scoring split.
EVALUATION_DIRS = {"test": "weak_evaluation",
                   "validation": "weak_evaluation_validation"}
EVALUATION_RESULTS = os.path.join(RESULTS, "json", "evaluation_results.json")
EVAL_RESULTS = os.path.join(EVALUATION_DIRS["test"], EVALUATION_RESULTS)
VALIDATION_RESULTS = os.path.join(EVALUATION_DIRS["validation"],
                                  EVALUATION_RESULTS)
DCI_DIR = os.path.join("metrics", "dci")
DCI_RESULTS = os.path.join(DCI_DIR, EVALUATION_RESULTS)

# The Table 1 sweep's files in a run directory.
SWEEP_LOG = "table1_run.log"
SWEEP_LOCK = ".sweep.lock"


def evaluation_results(split="test"):
  """The S / I evaluation JSON of `split` ('test' or 'validation')."""
  return os.path.join(EVALUATION_DIRS[split], EVALUATION_RESULTS)

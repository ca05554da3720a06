"""Where a generative DRPM-VAE run keeps its files (paths relative to the run).

The one definition of the run directory's layout, for the trainer
(`drpm_tf.training`), the figures (`drpm_tf.generative_figures`) and the
report (`drpm_tf.generative_report`) alike:

```none
drpm_run.json                 marker: the directory is a run of ours
run_config.gin                the gin bindings in force (compared on resume);
                              config_changes.txt: applied changes
operative_config.gin          gin config of the run (written at start)
checkpoints/                  tf.train.CheckpointManager: model, both
                              optimizers, the stage counters and the model's
                              random stream; resumed from
initialization/               the model right after the mixture
                              initialization (stage 1's result)
tensorboard/                  scalars of every loss term and schedule
results/train.json            steps, wall time, final loss terms
results/evaluation.json       drpm-evaluate-generative
results/evaluation_initialization.json   the same for the initialization
                              (`--stage initialization`)
results/partition_purity.json drpm-sample-partitions
figures/                      drpm-sample-partitions' default output
```

Nothing here imports TensorFlow: the report reads the layout without it.
"""
import os

OPERATIVE_CONFIG = 'operative_config.gin'
CHECKPOINTS = 'checkpoints'
INITIALIZATION = 'initialization'
TENSORBOARD = 'tensorboard'
RESULTS = 'results'
TRAIN_RESULTS = os.path.join(RESULTS, 'train.json')
# `drpm-evaluate-generative` per stage ('final' or INITIALIZATION).
EVALUATION_RESULTS = {'final': os.path.join(RESULTS, 'evaluation.json'),
                      INITIALIZATION: os.path.join(
                          RESULTS, 'evaluation_initialization.json')}
PARTITION_PURITY_RESULTS = os.path.join(RESULTS, 'partition_purity.json')
FIGURES = 'figures'
# Runs made before run markers existed are recognized by these files.
LEGACY_SIGNATURES = (OPERATIVE_CONFIG, os.path.join(CHECKPOINTS, 'checkpoint'))

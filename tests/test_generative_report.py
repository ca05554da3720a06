"""docs/generative.md is built from run results with the sample std."""

import json
import os

from drpm_tf import generative_report


def _run(root, name, seed, acc, share, objective='contrastive',
         pretrain_steps=300, num_test=360):
  results = os.path.join(root, name, 'results')
  os.makedirs(results)
  with open(os.path.join(root, name, 'run_config.gin'), 'w') as f:
    f.write("train_generative.pretrain_objective = 'autoencoder'\n"
            f"train_generative.pretrain_objective = {objective!r}\n"
            f'train_generative.pretrain_steps = {pretrain_steps}\n')
  scores = dict(acc=acc, nmi=acc - 0.1, ari=acc - 0.2, posterior_agreement=0.7)
  purity = dict(majority_digit=list(range(10)), share=[share] * 10,
                mean_share=share, min_share=share, distinct_digits=10,
                samples_per_prior=100, classifier_test_accuracy=0.96)
  evaluation = dict(dataset='digits', num_test=num_test, num_clusters=10,
                    stage='final', model=scores,
                    kmeans=dict(acc=0.79, nmi=0.74, ari=0.65), kmeans_seed=0,
                    prior_purity=purity)
  files = {
      'evaluation.json': evaluation,
      'evaluation_initialization.json': dict(evaluation, stage='initialization'),
      'train.json': dict(seed=seed, steps=1000, pretrain_steps=300,
                         batch_size=256, pretrain_seconds=20.,
                         train_seconds=200., seconds=220., cpu_count=2,
                         load_average_at_end=1.5),
      'partition_purity.json': dict(
          drawn_partition=dict(subsets=8, pure=7, multi=6, pure_multi=5),
          pooled=dict(subsets=800, pure=700, multi=600, pure_multi=500,
                      num_partitions=100, num_elements=32, fraction_pure=0.875,
                      fraction_pure_multi=0.833)),
  }
  for file_name, payload in files.items():
    with open(os.path.join(results, file_name), 'w') as f:
      json.dump(payload, f)
  return os.path.join(root, name)


def test_report_uses_the_sample_standard_deviation(tmp_path):
  runs = [_run(str(tmp_path), f'bound{s}', s, acc, 0.9)
          for s, acc in enumerate((0.8, 0.9, 1.0))]
  exact = [_run(str(tmp_path), f'exact{s}', s, 0.7, 0.5) for s in range(3)]
  output = str(tmp_path / 'docs' / 'generative.md')
  os.makedirs(os.path.dirname(output))
  text = generative_report.write_report(runs, str(tmp_path / 'figures'),
                                        output, exact)
  # ddof = 1: std of (0.8, 0.9, 1.0) is 0.1 (ddof = 0 would give 0.082).
  assert '| DRPM-VAE, bound KL (default) | 0.900 ± 0.100 |' in text
  assert "exact KL (`kl_estimator = 'exact'`) | 0.700 ± 0.000 |" in text
  assert '| ACC >= 0.85 (mean over seeds) | 0.900 | met |' in text
  assert '| trained within 300 s on 2 cores (every seed) | 220 s' in text
  assert '](../figures/partition.png)' in text
  with open(output, encoding='utf-8') as f:
    assert f.read() == text


def test_validation_runs_are_compared_by_pretraining_recipe(tmp_path):
  runs = [_run(str(tmp_path), f'bound{s}', s, 0.9, 0.9) for s in range(2)]
  validation = [
      _run(str(tmp_path), f'ae{s}', s, acc, 0.7, 'autoencoder', 300, 359)
      for s, acc in enumerate((0.7, 0.8))] + [
          _run(str(tmp_path), f'c{s}', s, acc, 0.9, 'contrastive', 1000, 359)
          for s, acc in enumerate((0.85, 0.95))]
  text = generative_report.build_report(
      runs, str(tmp_path / 'figures'), str(tmp_path / 'generative.md'),
      validation_runs=validation)
  # The last binding counts (gin's rule); seeds, split size and ddof = 1.
  assert ('| autoencoder pretraining, 300 steps | 0, 1 | 359 | 0.750 ± 0.071 '
          '| 0.750 ± 0.071 |') in text
  assert ('| contrastive pretraining, 1000 steps | 0, 1 | 359 | 0.900 ± 0.071'
          ' |') in text
  assert 'Stage 1: 300 steps of contrastive pretraining' in text
  without = generative_report.build_report(
      runs, str(tmp_path / 'figures'), str(tmp_path / 'generative.md'))
  assert 'validation split' not in without

"""drpm-train-generative under faults: --overwrite, divergence in either stage,
damaged checkpoints, changed settings, locks and one-line errors of the
generative tools.

Tiny runs of drpm_tf/gin_configs/generative/digits_quick.gin: 6 pretraining
steps, the mixture initialization, 6 training steps with refits after steps 2
and 4, a checkpoint every 2 steps.
"""
import os
import re
import shutil

import gin
import numpy as np
import pytest
import tensorflow as tf

from drpm_tf import datasets
from drpm_tf import errors
from drpm_tf import generative_layout
from drpm_tf import gin_configs
from drpm_tf import run_directory
from drpm_tf import training

import cli_runs
import damage

QUICK_GIN = gin_configs.path('generative', 'digits_quick.gin')
_TINY = [
    'drpm_vae.encoder_units = (32, 32, 64)',
    'drpm_vae.num_partition_samples = 2',
    'drpm_vae.anneal_steps = 10',
    'contrastive_pretraining.hidden_units = 16',
    'fit_prior_mixture.num_restarts = 2',
    'train_generative.batch_size = 64',
    'train_generative.pretrain_batch_size = 64',
    'train_generative.pretrain_steps = 6',
    'train_generative.num_steps = 6',
    'train_generative.checkpoint_every = 2',
    'train_generative.refit_every = 2',
    'train_generative.refit_until = 4',
    'train_generative.progress = False',
]
STEPS = 6


def _bindings(extra=(), **settings):
  return _TINY + [f'train_generative.{k} = {v!r}' for k, v in settings.items()
                  ] + list(extra)


def _train(model_dir, overwrite=False, extra=(), **settings):
  """Trains as `drpm-train-generative --gin_config digits_quick.gin` would."""
  gin.clear_config()
  gin.parse_config_files_and_bindings([QUICK_GIN],
                                      _bindings(extra, **settings))
  return training.train_generative(model_dir, overwrite=overwrite)


@pytest.fixture(autouse=True)
def _clear_gin():
  gin.clear_config()
  yield
  gin.clear_config()


class _Crash(Exception):
  """Stands for a kill in the middle of training."""


def _crash_at(monkeypatch, stream, crash_step):
  """Raises `_Crash` when the stage with batch stream `stream` reaches its
  (0-based) step `crash_step`."""
  original = training._batch_indices  # pylint: disable=protected-access

  def batch_indices(num_examples, batch_size, step, seed, stream_=()):
    if stream_ == stream and step == crash_step:
      raise _Crash(f'step {step}')
    return original(num_examples, batch_size, step, seed, stream_)
  monkeypatch.setattr(training, '_batch_indices', batch_indices)


def _crashed_run(root, stream, crash_step):
  model_dir = str(root / 'run')
  with pytest.MonkeyPatch.context() as monkeypatch:
    _crash_at(monkeypatch, stream, crash_step)
    with pytest.raises(_Crash):
      _train(model_dir)
  gin.clear_config()
  return model_dir


@pytest.fixture(scope='module')
def straight_run(tmp_path_factory):
  """(model_dir, final variables) of the uninterrupted run."""
  model_dir = str(tmp_path_factory.mktemp('straight') / 'run')
  model = _train(model_dir)
  gin.clear_config()
  return model_dir, [v.numpy() for v in model.variables]


@pytest.fixture(scope='module')
def stage1_crash(tmp_path_factory):
  """Crashed in pretraining step 5: ckpt-2 and ckpt-4 (pretraining)."""
  return _crashed_run(tmp_path_factory.mktemp('stage1'),
                      training._PRETRAIN_STREAM, 4)  # pylint: disable=protected-access


@pytest.fixture(scope='module')
def stage2_crash(tmp_path_factory):
  """Crashed in training step 5: ckpt-7 (the initialization), ckpt-9 and
  ckpt-11 (training steps 2 and 4)."""
  return _crashed_run(tmp_path_factory.mktemp('stage2'),
                      training._TRAIN_STREAM, 4)  # pylint: disable=protected-access


def _copy(model_dir, tmp_path):
  copy = str(tmp_path / 'run')
  shutil.copytree(model_dir, copy)
  return copy


def _checkpoints(model_dir):
  return os.path.join(model_dir, generative_layout.CHECKPOINTS)


def _checkpoint_names(model_dir):
  state = tf.train.get_checkpoint_state(_checkpoints(model_dir))
  return [os.path.basename(p) for p in state.all_model_checkpoint_paths]


def _non_finite_variables(prefix):
  reader = tf.train.load_checkpoint(prefix)
  dtypes = reader.get_variable_to_dtype_map()
  return [key for key in dtypes if dtypes[key].is_floating and
          not np.all(np.isfinite(reader.get_tensor(key)))]


def _learning_rate(prefix, optimizer='optimizer'):
  reader = tf.train.load_checkpoint(prefix)
  keys = [k for k in reader.get_variable_to_shape_map()
          if k.startswith(optimizer + '/') and 'learning_rate' in k]
  assert len(keys) == 1, keys
  return float(reader.get_tensor(keys[0]))


def _assert_equal_variables(model, variables):
  assert len(model.variables) == len(variables)
  for variable, expected in zip(model.variables, variables):
    np.testing.assert_array_equal(variable.numpy(), expected,
                                  err_msg=variable.name)


# ------------------------------------------------------------ --overwrite --

def test_a_folder_that_is_not_a_run_is_refused_and_left_alone(tmp_path):
  folder = tmp_path / 'thesis'
  (folder / 'chapters').mkdir(parents=True)
  (folder / 'chapters' / 'one.tex').write_text('\\chapter{One}')
  (folder / 'notes.txt').write_text('keep')
  contents = damage.snapshot(str(folder))
  for overwrite in (True, False):
    with pytest.raises(errors.RunDirectoryError,
                       match=f'Refusing to use --model_dir {folder}'):
      _train(str(folder), overwrite=overwrite)
    # Nothing deleted, nothing added (not even a lock file or a marker).
    assert damage.snapshot(str(folder)) == contents
    assert sorted(os.listdir(folder)) == ['chapters', 'notes.txt']


def test_overwrite_checks_settings_data_and_model_before_deleting(
    stage1_crash, tmp_path, monkeypatch):
  run = _copy(stage1_crash, tmp_path)
  before = damage.snapshot(run)
  with pytest.raises(errors.ConfigError, match='num_steps must be an integer'):
    _train(run, overwrite=True, num_steps=0)
  with pytest.raises(errors.ConfigError, match='drpm_vae.kl_estimator'):
    _train(run, overwrite=True, extra=["drpm_vae.kl_estimator = 'upper'"])
  monkeypatch.setenv(datasets.MNIST_ENV_VAR, str(tmp_path / 'no.npz'))
  with pytest.raises(errors.MissingDataError, match='never downloads'):
    _train(run, overwrite=True, extra=["load_dataset.name = 'mnist'"])
  assert damage.snapshot(run) == before


def test_overwrite_restarts_our_run_also_one_made_before_markers(
    stage1_crash, tmp_path, capsys):
  run = _copy(stage1_crash, tmp_path)
  # The layout of a run made before markers existed.
  for name in (run_directory.MARKER, run_directory.RUN_CONFIG):
    os.remove(os.path.join(run, name))
  # Settings a resume would refuse are fine for a new run.
  _train(run, overwrite=True, batch_size=32, pretrain_steps=2, num_steps=2)
  assert 'Resumed' not in capsys.readouterr().out
  assert _checkpoint_names(run) == ['ckpt-2', 'ckpt-3', 'ckpt-5']
  assert run_directory.run_kind(run) == training.RUN_KIND
  with open(os.path.join(run, run_directory.RUN_CONFIG)) as f:
    assert 'train_generative.batch_size = 32' in f.read()
  assert not os.path.exists(os.path.join(run, run_directory.CONFIG_CHANGES))


def test_the_legacy_layout_is_recognized_by_either_file(tmp_path):
  assert set(generative_layout.LEGACY_SIGNATURES) == {
      'operative_config.gin', os.path.join('checkpoints', 'checkpoint')}
  for signature in generative_layout.LEGACY_SIGNATURES:
    run = tmp_path / signature.replace(os.sep, '_')
    os.makedirs(os.path.dirname(run / signature), exist_ok=True)
    (run / signature).write_text('')
    with pytest.raises(errors.RunDirectoryError):
      run_directory.check_usable(str(run))
    run_directory.check_usable(str(run), generative_layout.LEGACY_SIGNATURES)


def test_a_run_of_another_trainer_is_not_resumed(tmp_path):
  run = str(tmp_path / 'weak')
  run_directory.mark(run, 'drpm-train-weak')
  before = damage.snapshot(run)
  with pytest.raises(errors.RunDirectoryError,
                     match=f'{run} holds a drpm-train-weak run'):
    _train(run)
  assert damage.snapshot(run) == before


# ------------------------------------------------------------- divergence --

def test_pretraining_divergence_stops_at_once_and_saves_nothing_non_finite(
    tmp_path):
  run = str(tmp_path / 'run')
  with pytest.raises(errors.TrainingDivergedError) as error:
    _train(run, pretrain_learning_rate=1e8, checkpoint_every=1)
  message = str(error.value)
  last = os.path.join(_checkpoints(run), 'ckpt-1')
  assert message.startswith('The pretraining (stage 1) diverged '
                            'at its step 2: the loss (nan)')
  assert f'the last good checkpoint ({last}) is kept' in message
  assert 'Lower train_generative.pretrain_learning_rate' in message
  assert _checkpoint_names(run) == ['ckpt-1']
  assert _non_finite_variables(last) == []
  assert not os.path.exists(os.path.join(run, generative_layout.TRAIN_RESULTS))
  # Step 1's update was already huge: resuming from it diverges at the first
  # step, and the message says to start over instead.
  with pytest.raises(errors.TrainingDivergedError,
                     match='first step after resuming.*--overwrite'):
    _train(run, pretrain_learning_rate=1e-3, checkpoint_every=1)


def test_training_divergence_then_resume_with_a_lower_rate_and_more_steps(
    stage2_crash, tmp_path, capsys):
  run = _copy(stage2_crash, tmp_path)
  with pytest.raises(errors.TrainingDivergedError) as error:
    _train(run, learning_rate=1e8)
  message = str(error.value)
  step = int(re.search(r'diverged at its step (\d+)', message).group(1))
  assert message.startswith('The DRPM-VAE training (stage 2) diverged')
  assert 4 < step <= STEPS
  last = os.path.join(_checkpoints(run), 'ckpt-11')
  assert f'the last good checkpoint ({last}) is kept' in message
  assert 'Lower train_generative.learning_rate and rerun' in message
  assert _checkpoint_names(run) == ['ckpt-7', 'ckpt-9', 'ckpt-11']
  for name in _checkpoint_names(run):
    assert _non_finite_variables(os.path.join(_checkpoints(run), name)) == []
  capsys.readouterr()
  model = _train(run, learning_rate=5e-4, num_steps=8)
  output = capsys.readouterr().out
  assert f'Resumed from {last} (pretraining step 6, training step 4)' in output
  assert int(model.optimizer.iterations.numpy()) == 8
  assert all(np.all(np.isfinite(v.numpy())) for v in model.variables)
  # The optimizer trained on with the new rate, not the restored one.
  newest = os.path.join(_checkpoints(run), 'ckpt-15')
  assert _checkpoint_names(run)[-1] == 'ckpt-15'
  assert _learning_rate(newest) == pytest.approx(5e-4)
  with open(os.path.join(run, run_directory.CONFIG_CHANGES)) as f:
    assert f.read().splitlines() == [
        'Resumed with changed settings: train_generative.learning_rate: '
        '0.001 -> 100000000.0.',
        'Resumed with changed settings: train_generative.learning_rate: '
        '100000000.0 -> 0.0005; train_generative.num_steps: 6 -> 8.']


# ---------------------------------------------------- damaged checkpoints --

@pytest.mark.parametrize('stage,damage_files,reason,fallback', [
    ('stage1', damage.truncate_data, 'Read less bytes than requested',
     'ckpt-2'),
    ('stage2', damage.garbage_index, 'not an sstable', 'ckpt-9')])
def test_a_damaged_newest_checkpoint_is_skipped_kept_and_the_run_still_equals_an_uninterrupted_one(
    request, straight_run, tmp_path, capsys, stage, damage_files, reason,
    fallback):
  run = _copy(request.getfixturevalue(stage + '_crash'), tmp_path)
  newest = os.path.join(_checkpoints(run), _checkpoint_names(run)[-1])
  damage_files(newest)
  model = _train(run)
  output = capsys.readouterr().out
  damaged = os.path.join(_checkpoints(run), 'damaged')
  assert (f'Skipped checkpoint {newest}: it does not restore ({reason}' in
          output)
  assert f'kept in {damaged}' in output
  assert f'Resumed from {os.path.join(_checkpoints(run), fallback)}' in output
  assert sorted(os.listdir(damaged)) == sorted(
      os.path.basename(newest) + suffix
      for suffix in ('.data-00000-of-00001', '.index'))
  _assert_equal_variables(model, straight_run[1])


def test_loading_a_run_skips_a_damaged_checkpoint_and_moves_nothing(
    straight_run, tmp_path, capsys):
  run = _copy(straight_run[0], tmp_path)
  names = _checkpoint_names(run)
  damage.garbage_index(os.path.join(_checkpoints(run), names[-1]))
  before = damage.snapshot(run)
  model, _ = training.load_trained_model(run)
  assert f'Skipped checkpoint {os.path.join(_checkpoints(run), names[-1])}' \
      in capsys.readouterr().out
  reader = tf.train.load_checkpoint(os.path.join(_checkpoints(run),
                                                 names[-2]))
  key = 'model/prior_means/.ATTRIBUTES/VARIABLE_VALUE'
  np.testing.assert_array_equal(model.prior_means.numpy(),
                                reader.get_tensor(key))
  assert damage.snapshot(run) == before
  damage.truncate_data(os.path.join(run, generative_layout.INITIALIZATION, 'model'))
  with pytest.raises(errors.RunDirectoryError,
                     match='initialization model .* does not restore'):
    training.load_trained_model(run, 'initialization')
  with pytest.raises(errors.RunDirectoryError,
                     match=f'{tmp_path / "typo"} holds no final model'):
    training.load_trained_model(str(tmp_path / 'typo'))


# ------------------------------------------------------ changed settings --

def test_other_changed_settings_are_refused_listing_them(stage2_crash,
                                                         tmp_path):
  run = _copy(stage2_crash, tmp_path)
  before = damage.snapshot(run)
  with pytest.raises(errors.RunDirectoryError) as error:
    _train(run, seed=1, extra=['drpm_vae.latent_dim = 5'])
  message = str(error.value)
  assert 'train_generative.seed: 0 -> 1' in message
  assert 'drpm_vae.latent_dim: 10 -> 5' in message
  assert '--overwrite' in message and '--model_dir' in message
  assert damage.snapshot(run) == before


def test_a_finished_run_is_not_retrained_and_more_steps_train_on(
    straight_run, tmp_path, capsys):
  run = _copy(straight_run[0], tmp_path)
  before = damage.snapshot(run)
  model = _train(run)
  assert 'Nothing to train' in capsys.readouterr().out
  _assert_equal_variables(model, straight_run[1])
  after = damage.snapshot(run)
  assert {k: v for k, v in after.items() if 'tensorboard' not in k} == {
      k: v for k, v in before.items() if 'tensorboard' not in k}


# ---------------------------------------------------------------- locking --

def test_a_run_held_by_another_process_is_refused(stage2_crash, tmp_path,
                                                  hold_lock):
  run = _copy(stage2_crash, tmp_path)
  before = damage.snapshot(run)
  hold_lock(run)
  with pytest.raises(errors.RunDirectoryError,
                     match=f'{run} is in use by another process'):
    _train(run)
  assert damage.snapshot(run) == before


# ---------------------------------------------------------- CLI messages --

def _train_cli(model_dir, *bindings, verbose=False):
  args = ['--model_dir', model_dir, '--gin_config', QUICK_GIN]
  for binding in bindings:
    args += ['--gin_bindings', binding]
  return cli_runs.command('drpm-train-generative', *args, verbose=verbose)


def test_bad_input_is_one_line_without_traceback(tmp_path):
  a_file = tmp_path / 'a_file'
  a_file.write_text('')
  truncated = str(tmp_path / 'mnist.npz')
  np.savez(truncated, x_train=np.zeros((4, 28, 28), np.uint8))
  damage.truncate_file(truncated)
  new = str(tmp_path / 'new')
  mnist = "load_dataset.name = 'mnist'"
  commands = {
      'num_steps': _train_cli(new, 'train_generative.num_steps = 0'),
      'file': _train_cli(str(a_file)),
      'mnist': _train_cli(new, mnist),
      'verbose': _train_cli(new, 'train_generative.num_steps = 0',
                            verbose=True),
      'evaluate': cli_runs.command('drpm-evaluate-generative', '--model_dir',
                                   new),
      'sample': cli_runs.command('drpm-sample-partitions', '--model_dir', new,
                                 '--num_elements', '0'),
  }
  done = cli_runs.run_all(commands, env={'mnist': {
      datasets.MNIST_ENV_VAR: truncated}})
  tool = 'drpm-train-generative'
  cli_runs.assert_one_line(tool, *done['num_steps'],
                           'train_generative.num_steps', 'integer >= 1',
                           'got 0')
  cli_runs.assert_one_line(tool, *done['file'], str(a_file), 'is a file')
  cli_runs.assert_one_line(tool, *done['mnist'], truncated,
                           'truncated or not a zip archive')
  returncode, stderr = done['verbose']
  assert returncode == 2 and 'Traceback (most recent call last)' in stderr
  assert f'{tool}: error: train_generative.num_steps' in stderr
  assert not os.path.exists(new)  # Nothing was created by any of them.
  cli_runs.assert_one_line('drpm-evaluate-generative', *done['evaluate'],
                           f'{new} holds no final model')
  cli_runs.assert_one_line('drpm-sample-partitions', *done['sample'],
                           '--num_elements must be an integer >= 1')


def test_a_model_dir_that_cannot_be_created_is_refused_before_building(
    tmp_path, monkeypatch):
  # Permissions do not restrict root, so the refusal is simulated.
  monkeypatch.setattr(run_directory.os, 'access', lambda path, mode: False)
  monkeypatch.setattr(training, 'DRPMVAE', None)  # Never reached.
  run = str(tmp_path / 'run')
  with pytest.raises(errors.RunDirectoryError, match=f'{run} is not writable'):
    _train(run)
  assert not os.path.exists(run)


@pytest.mark.parametrize('settings,expected', [
    (dict(batch_size=0), 'train_generative.batch_size must be an integer >= 1'),
    (dict(checkpoint_every=0), 'checkpoint_every must be an integer >= 1'),
    (dict(log_every=-1), 'log_every must be an integer >= 1'),
    (dict(pretrain_steps=-1), 'pretrain_steps must be an integer >= 0'),
    (dict(learning_rate=0.), 'learning_rate must be a finite number > 0'),
    (dict(prior_init='kmeans'), "prior_init must be one of"),
    (dict(batch_size=5000), 'batch_size (5000) exceeds the 1437 training'),
])
def test_bad_settings_name_the_binding(tmp_path, settings, expected):
  run = str(tmp_path / 'run')
  with pytest.raises(errors.ConfigError, match=re.escape(expected)):
    _train(run, **settings)
  assert not os.path.exists(run)


def test_generative_report_names_the_missing_results(tmp_path):
  run = str(tmp_path / 'run')
  done = cli_runs.run_all({'report': cli_runs.command(
      'drpm-generative-report', '--runs', run, '--figures', str(tmp_path),
      '--output', str(tmp_path / 'report.md'))})
  cli_runs.assert_one_line(
      'drpm-generative-report', *done['report'],
      os.path.join(run, 'results', 'evaluation.json'),
      'drpm-evaluate-generative --model_dir')
  assert not os.path.exists(tmp_path / 'report.md')


def test_a_step_with_a_non_finite_loss_or_gradient_changes_nothing():
  variable = tf.Variable([1., 2.])
  optimizer = tf.keras.optimizers.Adam(0.1)
  optimizer.build([variable])
  step = training._guarded_step(  # pylint: disable=protected-access
      lambda x: dict(loss=tf.reduce_sum(tf.sqrt(variable * x))), [variable],
      optimizer, tf.TensorSpec([2], tf.float32))
  # A non-finite loss; then a finite loss (sqrt(0) + sqrt(2)) whose gradient
  # is not (0 / sqrt(0)).
  for x in ([1., float('nan')], [0., 1.]):
    _, finite = step(tf.constant(x))
    assert not bool(finite)
    np.testing.assert_array_equal(variable.numpy(), [1., 2.])
    assert int(optimizer.iterations.numpy()) == 0
  terms, finite = step(tf.constant([1., 1.]))
  assert bool(finite) and np.isfinite(float(terms['loss']))
  assert int(optimizer.iterations.numpy()) == 1
  assert np.all(variable.numpy() < [1., 2.])

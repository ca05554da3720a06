"""drpm_tf.gin_config: gin mistakes on a command line become ConfigError."""
import gin
import pytest

from drpm_tf import errors
from drpm_tf import gin_config


@gin.configurable("gin_config_test")
def _configurable(value=1):
  return value


@pytest.fixture(autouse=True)
def _clear_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def test_valid_files_and_bindings_are_bound(tmp_path):
  path = tmp_path / "a.gin"
  path.write_text("gin_config_test.value = 2\n")
  gin_config.parse([str(path)], [])
  assert _configurable() == 2
  gin.clear_config()
  gin_config.parse([], ["gin_config_test.value = 3"])
  assert _configurable() == 3


@pytest.mark.parametrize("files,bindings,match", [
    (["missing.gin"], [], "Unable to open file: missing.gin"),
    ([], ["gin_config_test.bogus = 3"], "doesn't have a parameter named "
     "'bogus'"),
    ([], ["no_such_configurable.value = 3"], "no_such_configurable"),
    ([], ["gin_config_test.value = "], "Unable to parse value"),
])
def test_mistakes_are_config_errors(files, bindings, match):
  with pytest.raises(errors.ConfigError,
                     match="^Bad gin configuration: .*" + match):
    gin_config.parse(files, bindings)


def test_finalize_false_leaves_the_config_open_for_more():
  gin_config.parse([], ["gin_config_test.value = 2"], finalize=False)
  gin_config.parse([], ["gin_config_test.value = 4"], finalize=False)
  assert _configurable() == 4
  gin_config.parse([], ["gin_config_test.value = 5"])
  with pytest.raises(RuntimeError, match="locked"):
    gin.bind_parameter("gin_config_test.value", 6)

"""drpm_tf.gin_config: gin mistakes on a command line become ConfigError; the
reader follows includes as gin does."""
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


def test_the_reader_follows_includes_and_later_bindings_win(tmp_path,
                                                           monkeypatch):
  base = tmp_path / "base.gin"
  base.write_text("gin_config_test.value = 1\nMACRO = [1, 2]\n")
  child = tmp_path / "child.gin"
  child.write_text("include '{}'\ngin_config_test.value = 5\n".format(base))
  monkeypatch.chdir(tmp_path)
  assert gin_config.read_values([str(child)]) == {
      "gin_config_test.value": 5, "MACRO": [1, 2]}
  # Relative includes resolve under the working directory, as in gin.
  child.write_text("include 'base.gin'\n")
  assert gin_config.read_values(["child.gin"])["MACRO"] == [1, 2]
  assert gin_config.resolve("child.gin") == str(child)
  assert gin_config.resolve("nosuch.gin") is None
  # Nothing was bound.
  assert _configurable() == 1


def test_bad_includes_are_config_errors(tmp_path):
  missing = tmp_path / "missing.gin"
  for name in ("no/such.gin", "drpm_tf/gin_configs/nosuch.gin",
               "drpm_tf/no_file.gin"):
    missing.write_text("include '{}'\n".format(name))
    with pytest.raises(errors.ConfigError, match=repr(name)):
      gin_config.read_values([str(missing)])
  first, second = tmp_path / "first.gin", tmp_path / "second.gin"
  first.write_text("include '{}'\n".format(second))
  second.write_text("include '{}'\n".format(first))
  with pytest.raises(errors.ConfigError, match="include cycle"):
    gin_config.read_values([str(first)])


def test_finalize_false_leaves_the_config_open_for_more():
  gin_config.parse([], ["gin_config_test.value = 2"], finalize=False)
  gin_config.parse([], ["gin_config_test.value = 4"], finalize=False)
  assert _configurable() == 4
  gin_config.parse([], ["gin_config_test.value = 5"])
  with pytest.raises(RuntimeError, match="locked"):
    gin.bind_parameter("gin_config_test.value", 6)

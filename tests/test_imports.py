"""The packages' imports form no circle.

Every import statement of `drpm_tf` and `disentanglement_ext` counts, at
module level and inside functions alike: a function-level import that closes
a circle only hides it until the function runs. Runs on both stacks (it reads
the sources, it imports nothing).
"""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("drpm_tf", "disentanglement_ext")


def module_files(root=ROOT, packages=PACKAGES):
  """{dotted module name: source path} of the packages under `root`."""
  modules = {}
  for package in packages:
    for directory, _, names in os.walk(os.path.join(root, package)):
      for name in sorted(names):
        if not name.endswith(".py"):
          continue
        path = os.path.join(directory, name)
        parts = os.path.relpath(path, root)[:-len(".py")].split(os.sep)
        if parts[-1] == "__init__":
          parts = parts[:-1]
        modules[".".join(parts)] = path
  return modules


def _resolve(node, module, is_package):
  """Dotted names an import statement in `module` may refer to."""
  if isinstance(node, ast.Import):
    return [alias.name for alias in node.names]
  if node.level:
    base = module.split(".")
    base = base[:len(base) - node.level + (1 if is_package else 0)]
    prefix = ".".join(base + ([node.module] if node.module else []))
  else:
    prefix = node.module
  # `from a import b`: b is the module a.b, or a name defined in a.
  return [prefix + "." + alias.name for alias in node.names] + [prefix]


def import_graph(modules):
  """{module: set of the modules of `modules` it imports}."""
  graph = {}
  for module, path in modules.items():
    with open(path, encoding="utf-8") as f:
      tree = ast.parse(f.read(), path)
    is_package = path.endswith("__init__.py")
    edges = set()
    for node in ast.walk(tree):
      if not isinstance(node, (ast.Import, ast.ImportFrom)):
        continue
      names = _resolve(node, module, is_package)
      if isinstance(node, ast.ImportFrom):
        # `from a import b` names the module a.b where it exists, else a.
        found = [n for n in names[:-1] if n in modules]
        names = found if found else names[-1:]
      edges.update(n for n in names if n in modules and n != module)
    graph[module] = edges
  return graph


def find_cycle(graph):
  """One import circle of `graph` as a list of modules, or None."""
  state = {}  # absent: unvisited, 1: on the current path, 2: done.
  path = []

  def visit(node):
    state[node] = 1
    path.append(node)
    for target in sorted(graph.get(node, ())):
      if state.get(target) == 1:
        return path[path.index(target):] + [target]
      if target not in state:
        cycle = visit(target)
        if cycle:
          return cycle
    state[node] = 2
    path.pop()
    return None

  for node in sorted(graph):
    if node not in state:
      cycle = visit(node)
      if cycle:
        return cycle
  return None


def test_the_scan_sees_both_kinds_of_import(tmp_path):
  package = tmp_path / "pkg"
  package.mkdir()
  (package / "__init__.py").write_text("")
  (package / "a.py").write_text("from pkg import b\n")
  (package / "b.py").write_text(
      "def f():\n  from pkg.c import name  # a function-level import\n")
  (package / "c.py").write_text("import pkg.a\nname = 1\n")
  (package / "d.py").write_text("from . import c\n")
  graph = import_graph(module_files(str(tmp_path), ("pkg",)))
  assert graph["pkg.a"] == {"pkg.b"}
  assert graph["pkg.b"] == {"pkg.c"}
  assert graph["pkg.d"] == {"pkg.c"}
  assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
  graph["pkg.c"] = set()
  assert find_cycle(graph) is None


def test_the_packages_have_no_import_cycle():
  graph = import_graph(module_files())
  # The scan found the packages' real edges.
  assert "disentanglement_ext.export" in graph["disentanglement_ext.train"]
  assert "disentanglement_ext.compat" in graph["disentanglement_ext.data"]
  cycle = find_cycle(graph)
  assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module,forbidden", [
    # compat is the dlib shim: it must not know our datasets (the data
    # package registers them through compat's API).
    ("disentanglement_ext.compat", "disentanglement_ext.data"),
    # Training calls the export; the export does not call training.
    ("disentanglement_ext.export", "disentanglement_ext.train"),
])
def test_layering(module, forbidden):
  graph = import_graph(module_files())
  assert not any(t == forbidden or t.startswith(forbidden + ".")
                 for t in graph[module])


def test_library_code_lives_in_the_packages():
  """No top-level `scripts` package (the console scripts are the packages'
  `bin/` modules), and no test imports one."""
  assert not os.path.exists(os.path.join(ROOT, "scripts"))
  for package in PACKAGES:
    assert os.path.isfile(os.path.join(ROOT, package, "bin", "__init__.py"))
  tests = os.path.join(ROOT, "tests")
  for directory, _, names in os.walk(tests):
    for name in names:
      if name.endswith(".py"):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
          tree = ast.parse(f.read())
        for node in ast.walk(tree):
          if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
          elif isinstance(node, ast.ImportFrom) and not node.level:
            modules = [node.module]
          else:
            continue
          assert not any(m == "scripts" or m.startswith("scripts.")
                         for m in modules), os.path.join(directory, name)

"""gaitjax's imports follow the layers of docs/ARCHITECTURE.md, one way.

Every import of a gaitjax module (at the top or inside a function) is
parsed with ast. A unit is a package (gaitjax.data) or a top-level module
(gaitjax.files); the layer table is read from ARCHITECTURE.md's
``layers`` block, so the document and this test cannot drift apart.
"""
import ast
import pathlib
import re
from typing import Dict, List, Set, Tuple

REPO = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = REPO / "gaitjax"


def documented_layers() -> List[List[str]]:
  """[[unit, ...] per layer], bottom layer first, from ARCHITECTURE.md."""
  text = (REPO / "docs" / "ARCHITECTURE.md").read_text()
  block = re.search(r"```layers\n(.*?)```", text, re.S)
  assert block, "docs/ARCHITECTURE.md has no ```layers block"
  layers = []
  for line in block.group(1).splitlines():
    line = line.split("#")[0].strip()
    if line:
      _, units = line.split(":", 1)
      layers.append([u.strip() for u in units.split(",") if u.strip()])
  return layers[::-1]          # the block lists the top layer first


def module_name(path: pathlib.Path) -> str:
  parts = list(path.relative_to(REPO).with_suffix("").parts)
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: pathlib.Path) -> Set[str]:
  """Every gaitjax module name an import statement in ``path`` names."""
  name = module_name(path)
  package = name if path.name == "__init__.py" else name.rpartition(".")[0]
  out = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      out.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom):
      if node.level:
        base = package.split(".")[:len(package.split(".")) - node.level + 1]
        mod = ".".join(base + ([node.module] if node.module else []))
      else:
        mod = node.module or ""
      out.add(mod)
      out.update(f"{mod}.{a.name}" for a in node.names)
  return {m for m in out if m == "gaitjax" or m.startswith("gaitjax.")}


def unit_of(module: str, units: Set[str]) -> str:
  """The longest documented unit that is module or one of its parents."""
  parts = module.split(".")
  for k in range(len(parts), 0, -1):
    if ".".join(parts[:k]) in units:
      return ".".join(parts[:k])
  raise AssertionError(f"{module} is in no layer of docs/ARCHITECTURE.md")


def unit_graph() -> Tuple[Dict[str, Set[str]], Dict[str, int]]:
  layers = documented_layers()
  level = {u: i for i, layer in enumerate(layers) for u in layer}
  modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
  graph: Dict[str, Set[str]] = {u: set() for u in level}
  for name, path in modules.items():
    src = unit_of(name, set(level))
    for imported in imports_of(path):
      # `from gaitjax.x import y`: y may be a name, not a module.
      while imported not in modules and "." in imported:
        imported = imported.rpartition(".")[0]
      dst = unit_of(imported, set(level))
      if dst != src:
        graph[src].add(dst)
  return graph, level


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
  """One cycle of the graph as [a, b, ..., a], or [] if it has none."""
  state: Dict[str, int] = {}
  stack: List[str] = []

  def visit(u):
    state[u] = 1
    stack.append(u)
    for v in sorted(graph[u]):
      if state.get(v) == 1:
        return stack[stack.index(v):] + [v]
      if v not in state:
        found = visit(v)
        if found:
          return found
    state[u] = 2
    stack.pop()
    return []

  for u in sorted(graph):
    if u not in state:
      found = visit(u)
      if found:
        return found
  return []


def test_every_module_is_in_a_documented_layer():
  level = {u for layer in documented_layers() for u in layer}
  for path in PACKAGE.rglob("*.py"):
    unit_of(module_name(path), level)


def test_no_import_cycle_between_units():
  graph, _ = unit_graph()
  assert find_cycle(graph) == []


def test_imports_point_down_the_documented_layers():
  graph, level = unit_graph()
  upward = sorted(f"{a} (layer {level[a]}) imports {b} (layer {level[b]})"
                  for a, targets in graph.items() for b in targets
                  if level[b] > level[a])
  assert not upward, "\n".join(upward)


def test_the_checker_sees_a_cycle():
  assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
  assert find_cycle({"a": {"b"}, "b": set()}) == []

"""The layers of the README's "Layout" section hold: every import of carafe/ and app/ (module
level or inside a function) points down or sideways within a package, never up, and carafe/ has
no import circle.

Layers, lowest first: carafe.assets < carafe.ops < carafe.nn < carafe.models < carafe.tools <
carafe.training < carafe.inspect < app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("assets", "ops", "nn", "models", "tools", "training", "inspect")
APP_LAYER = len(LAYERS)
# What app/ code imports as a top-level name (`import state`, `from tour import ...`): every
# module and package in app/, read from the folder so a new one (tour, pins, ...) is never missed.
APP_LOCAL = {
    p.stem
    for p in (REPO / "app").iterdir()
    if p.suffix == ".py" or (p.is_dir() and any(p.glob("*.py")))
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from carafe.inspect import sandbox" imports the submodule carafe.inspect.sandbox
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _layer(module: str) -> int | None:
    """The layer of a carafe or app module; None for third-party and the standard library."""
    parts = module.split(".")
    if parts[0] == "app" or parts[0] in APP_LOCAL:
        return APP_LAYER
    if parts[0] != "carafe" or len(parts) < 2:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def _carafe_files() -> list[Path]:
    return sorted((REPO / "carafe").rglob("*.py"))


def _app_files() -> list[Path]:
    return sorted((REPO / "app").rglob("*.py"))


def test_every_carafe_module_sits_in_a_layer():
    for path in _carafe_files():
        name = _module_name(path)
        assert name in ("carafe", "carafe.__init__") or _layer(name) is not None, name


@pytest.mark.parametrize(
    "path", _carafe_files() + _app_files(), ids=lambda p: str(p.relative_to(REPO))
)
def test_imports_point_down(path):
    here = APP_LAYER if path.is_relative_to(REPO / "app") else _layer(_module_name(path))
    for module, line in _imports(path):
        target = _layer(module)
        if target is None or here is None:
            continue
        assert target <= here, f"{path.relative_to(REPO)}:{line} imports {module} (layer up)"


def test_app_reaches_carafe_only_through_inspect():
    for path in _app_files():
        for module, line in _imports(path):
            if module.startswith("carafe"):
                assert module.startswith("carafe.inspect."), f"{path}:{line} imports {module}"


def test_carafe_has_no_import_circle():
    known = {_module_name(p) for p in _carafe_files()}
    graph = {}
    for path in _carafe_files():
        edges = set()
        for module, _ in _imports(path):
            # "from carafe.nn import CARAFEPack" names the package; a submodule when it exists
            while module and module not in known:
                module = module.rpartition(".")[0]
            if module and module != _module_name(path):
                edges.add(module)
        graph[_module_name(path)] = edges
    # A module importing its own package (carafe.nn.registry -> carafe.nn, whose __init__
    # imports the registry) is a circle too: those edges are kept.
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt] if nxt in stack else [node, nxt]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_records_import_no_sibling_and_inspect_is_no_facade():
    siblings = [m for m, _ in _imports(REPO / "carafe/inspect/records.py")]
    assert not [m for m in siblings if m.startswith("carafe.inspect")], siblings
    init = ast.parse((REPO / "carafe/inspect/__init__.py").read_text())
    assert all(isinstance(n, ast.Expr) for n in init.body), "carafe/inspect/__init__.py re-exports"

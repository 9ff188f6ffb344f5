"""The package's import graph: imports go one way up the layers, and no two packages import
each other (docs/architecture.md draws the same order and says what each layer owns).

Every import counts: at module level, inside functions and under ``TYPE_CHECKING``; a lazy
import hides an edge from a reader but not from this test.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "daypulse"
DOCS = Path(__file__).parent.parent / "docs" / "architecture.md"

# Bottom to top. A module may import its own package and any package of a lower layer; packages
# sharing a layer are peers and do not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "values", "calendar", "packs", "scopes"),
    ("project", "judgement"),
    ("describe",),
    ("warehouse",),
    ("compile",),
    ("store",),
    ("engine",),
    ("churn", "cohorts"),
    ("checks",),
    ("alerts",),
    ("report",),
    ("delivery",),
    ("api", "web"),
    ("app",),
    ("demo",),
    ("cli",),
)
LAYER_OF = {name: i for i, layer in enumerate(LAYERS) for name in layer}
MAX_LINES = 600


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The layer unit a module belongs to: its first name below ``daypulse``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _sources() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every daypulse import in the file, wherever it stands."""
    module = _module(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target == "daypulse":  # from daypulse import x: x is the unit
                found += [(node.lineno, f"daypulse.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return [(line, t) for line, t in found if t == "daypulse" or t.startswith("daypulse.")]


def _edges() -> list[tuple[str, int, str, str]]:
    """(file, line, from unit, to unit) for every import between two units."""
    edges = []
    for path in _sources():
        here = _unit(_module(path))
        for line, target in _imports(path):
            there = _unit(target)
            if there and there != here:
                edges.append((str(path.relative_to(PACKAGE.parent)), line, here, there))
    return edges


def test_every_unit_has_a_layer():
    units = {_unit(_module(p)) for p in _sources()} - {""}
    assert units <= set(LAYER_OF), f"add these to LAYERS (and docs/architecture.md): {sorted(units - set(LAYER_OF))}"


def test_imports_go_one_way_up():
    wrong = [f"{file}:{line}: {a} (layer {LAYER_OF[a]}) imports {b} (layer {LAYER_OF[b]})"
             for file, line, a, b in _edges() if a in LAYER_OF and b in LAYER_OF and LAYER_OF[b] >= LAYER_OF[a]]
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_cycle_between_packages():
    graph = defaultdict(set)
    for _, _, a, b in _edges():
        graph[a].add(b)
    cycles = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if a in graph.get(b, ())})
    assert not cycles, f"packages importing each other: {cycles}"


def _module_graph() -> dict[str, set[str]]:
    """Module -> the daypulse modules it imports (``from pkg import mod`` resolved to the module)."""
    modules = {_module(p) for p in _sources()}
    graph = {}
    for path in _sources():
        here = _module(path)
        graph[here] = set()
        for _, target in _imports(path):
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target != here and target in modules:
                graph[here].add(target)
    # ``from daypulse.x import y`` where y is a module of x: the edge is to y as well
    for path in _sources():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("daypulse"):
                for a in node.names:
                    if f"{node.module}.{a.name}" in modules:
                        graph[_module(path)].add(f"{node.module}.{a.name}")
    return graph


def test_no_cycle_between_modules():
    """Inside a package too: two modules that import each other are one job split badly."""
    graph = _module_graph()
    # A package's __init__ re-exporting its modules is not a cycle with them.
    graph = {m: {t for t in ts if not (t == m.rsplit(".", 1)[0] or m == t.rsplit(".", 1)[0])} for m, ts in
             graph.items()}
    seen, stack, on_stack, cycles = {}, [], set(), []

    def visit(m: str) -> None:  # Tarjan's strongly connected components
        seen[m] = low = len(seen)
        stack.append(m)
        on_stack.add(m)
        lows[m] = low
        for t in sorted(graph.get(m, ())):
            if t not in seen:
                visit(t)
                lows[m] = min(lows[m], lows[t])
            elif t in on_stack:
                lows[m] = min(lows[m], seen[t])
        if lows[m] == seen[m]:
            component = []
            while True:
                t = stack.pop()
                on_stack.discard(t)
                component.append(t)
                if t == m:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    lows: dict[str, int] = {}
    for m in sorted(graph):
        if m not in seen:
            visit(m)
    assert not cycles, f"modules importing each other: {cycles}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_600_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines: split it by job"


def test_the_layers_are_the_ones_documented():
    text = DOCS.read_text()
    for i, layer in enumerate(LAYERS):
        assert f"| {i} | {', '.join(f'`{u}`' for u in layer)} |" in text, \
            f"docs/architecture.md: layer {i} should read | {i} | {', '.join(f'`{u}`' for u in layer)} |"


def test_the_test_sees_a_wrong_import(tmp_path):
    """The walker finds imports wherever they stand (a test that cannot fail proves nothing)."""
    sample = tmp_path / "daypulse" / "store" / "x.py"
    sample.parent.mkdir(parents=True)
    sample.write_text("def f():\n    from daypulse.report import content\n    from . import db\n"
                      "from ..engine import run\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "daypulse"
    try:
        assert sorted(t for _, t in _imports(sample)) == ["daypulse.engine", "daypulse.report", "daypulse.store"]
    finally:
        PACKAGE = saved

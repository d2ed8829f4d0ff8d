"""House rules for the kernel's sources (``actors/`` and ``supervision/``), read with ``ast``.

- No ``assert`` statement: ``python -O`` strips them, so a reachable one changes behaviour and
  an unreachable one is noise; code states its invariants with types and plain branches.
- Every module stays under 500 lines (split by concept before that).
- No import circle among a package's modules at run time; imports under ``TYPE_CHECKING`` do
  not count, imports inside functions do (a function-local import is not a way out).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGES = {"actors": "arborist.actors", "supervision": "arborist.supervision"}
MAX_LINES = 500


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def module_name(folder: str, path: Path) -> str:
    parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGES[folder], *parts])


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_at_run_time(source: str, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """Which of ``modules`` the module ``name`` imports at run time, anywhere in its source."""
    package = name if is_package else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - child.level + 1])
                    module = f"{base}.{child.module}" if child.module else base
                else:
                    module = child.module or ""
                found.add(module)
                found.update(f"{module}.{alias.name}" for alias in child.names)
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            visit(child)

    visit(ast.parse(source))
    return {m for m in found if m in modules and m != name and m != package}


def import_graph(folder: str) -> dict[str, set[str]]:
    paths = sources(folder)
    modules = {module_name(folder, p) for p in paths}
    return {
        module_name(folder, p): imports_at_run_time(
            p.read_text(), module_name(folder, p), p.name == "__init__.py", modules
        )
        for p in paths
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            connect(node)
    return found


ALL_SOURCES = [(folder, path) for folder in PACKAGES for path in sources(folder)]
IDS = [f"{folder}/{path.name}" for folder, path in ALL_SOURCES]


@pytest.mark.parametrize(("folder", "path"), ALL_SOURCES, ids=IDS)
def test_a_kernel_module_has_no_assert_statement(folder, path):
    tree = ast.parse(path.read_text())

    lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]

    assert lines == [], f"{folder}/{path.name} asserts on lines {lines}"


@pytest.mark.parametrize(("folder", "path"), ALL_SOURCES, ids=IDS)
def test_a_kernel_module_stays_under_500_lines(folder, path):
    assert len(path.read_text().splitlines()) < MAX_LINES


@pytest.mark.parametrize("folder", list(PACKAGES))
def test_a_kernel_package_has_no_import_circle_at_run_time(folder):
    assert cycles(import_graph(folder)) == []


def test_a_function_local_import_counts_and_a_type_checking_one_does_not():
    modules = {"p._a", "p._b", "p._c"}
    source = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from ._b import B
def f():
    from ._c import C
"""

    assert imports_at_run_time(source, "p._a", False, modules) == {"p._c"}


def test_the_circle_finder_finds_every_circle_and_only_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set()}

    assert sorted(cycles(graph)) == [["a", "b", "c"], ["d", "e"]]

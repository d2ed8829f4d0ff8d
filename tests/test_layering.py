"""Imports point down: actors imports neither supervision nor runtime; supervision not runtime."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "actors": ("arborist.supervision", "arborist.runtime"),
    "supervision": ("arborist.runtime",),
}


def imported_names(source: str, package: str) -> set[str]:
    """Every absolute dotted name a module's source imports (relative imports resolved).

    For ``from x import y`` both ``x`` and ``x.y`` are included, so ``from .. import runtime``
    shows up as ``arborist.runtime``.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def violations(source: str, package: str, forbidden: tuple[str, ...]) -> list[str]:
    """The imported names that fall under a forbidden package."""
    return sorted(
        name
        for name in imported_names(source, package)
        if any(name == bad or name.startswith(bad + ".") for bad in forbidden)
    )


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize(
    ("folder", "path"),
    [(folder, path) for folder in LAYERS for path in modules(folder)],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_a_layer_imports_nothing_from_the_layers_above_it(folder, path):
    relative = path.relative_to(ROOT / folder).with_suffix("")
    package = ".".join(["arborist", folder, *relative.parts[:-1]])

    assert violations(path.read_text(), package, LAYERS[folder]) == []


def test_every_layer_has_modules_to_check():
    assert all(len(modules(folder)) > 3 for folder in LAYERS)


@pytest.mark.parametrize(
    "source",
    [
        "import arborist.runtime",
        "from arborist.runtime.workflow._workflow import Workflow",
        "from arborist import runtime",
        "from ..runtime import Workflow",
        "from .. import runtime",
        "def f():\n    from arborist.supervision import Supervisor",
    ],
)
def test_the_checker_catches_each_way_of_importing_an_upper_layer(source):
    assert violations(source, "arborist.actors", ("arborist.supervision", "arborist.runtime"))


@pytest.mark.parametrize(
    "source",
    ["from . import _cell", "from ._ref import ActorRef", "import trio", "import arborist.actors"],
)
def test_the_checker_allows_imports_within_and_below_the_layer(source):
    assert violations(source, "arborist.actors", ("arborist.supervision", "arborist.runtime")) == []

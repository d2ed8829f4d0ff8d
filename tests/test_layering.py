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


# -- inside the runtime: subpackages by concept, imports pointing one way ----------------------
#
# Only imports executed at run time count (those under ``if TYPE_CHECKING:`` do not), function
# bodies included: a function-local import hides a circle, it does not remove it.

RUNTIME_UNITS = (
    "workflow", "store", "executors", "engine", "schedules", "embed", "telemetry", "cli",
    "dashboard",
)
"""The runtime's subpackages, bottom to top; the top-level modules (``Runtime``) sit below cli."""

MAY_IMPORT = {
    "workflow": set(),
    "store": set(),
    "executors": set(),
    "engine": {"workflow", "store", "executors"},
    "schedules": {"engine", "workflow", "store"},
    "embed": {"engine", "workflow"},
    "telemetry": {"engine", "schedules"},
    "top": {"engine", "schedules", "embed", "workflow", "store", "executors"},
    "dashboard": {"top", "engine", "schedules", "telemetry", "workflow", "store"},
    "cli": {
        "top", "engine", "schedules", "embed", "workflow", "store", "executors", "telemetry",
        "dashboard",
    },
}
"""Which runtime units each unit may import at run time (besides itself, actors, supervision)."""


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(source: str, package: str) -> set[str]:
    """The absolute names a module imports when it runs (TYPE_CHECKING blocks left out)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            node.body = [ast.Pass()]
    return imported_names(ast.unparse(tree), package)


def module_name(path: Path) -> tuple[str, str]:
    """The dotted name of a project module, and the package its relative imports start from."""
    folder = path.relative_to(ROOT).parts[0]
    relative = path.relative_to(ROOT / folder).with_suffix("")
    parts = ["arborist", folder, *relative.parts]
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def runtime_unit(name: str) -> str | None:
    """The unit of a module: ``engine`` for ``...engine._pools``, ``top`` for ``..._runtime``."""
    parts = name.split(".")
    if parts[:2] != ["arborist", "runtime"] or len(parts) < 3:
        return None
    if parts[2] in RUNTIME_UNITS:
        return parts[2]
    if parts[2] in ("__init__", "__main__"):
        return None
    return "top"


def project_graph() -> dict[str, set[str]]:
    """Every project module and the project modules it imports at run time."""
    folders = ("actors", "supervision", "runtime")
    paths = {module_name(path)[0]: path for folder in folders for path in modules(folder)}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = module_name(path)[1]
        targets = set()
        for imported in runtime_imports(path.read_text(), package):
            target = imported
            while target and target not in paths:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted.

    A package's ``__init__`` is left out as a target of its own submodules: importing
    ``arborist.runtime.engine._pools`` runs ``arborist.runtime.engine`` first anyway.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def edges(name: str) -> set[str]:
        return {t for t in graph[name] if not name.startswith(t + ".")}

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for target in edges(name):
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == name:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return cycles


def test_the_runtime_has_its_subpackages():
    for unit in ("workflow", "engine", "schedules", "embed", "cli"):
        assert (ROOT / "runtime" / unit / "__init__.py").is_file(), unit


def test_every_runtime_subpackage_says_what_it_holds_and_may_import():
    for init in sorted((ROOT / "runtime").glob("*/__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "import" in docstring, f"{init.parent.name}/__init__.py: say what it may import"


@pytest.mark.parametrize(
    "path",
    [path for path in modules("runtime") if runtime_unit(module_name(path)[0]) is not None],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_a_runtime_unit_imports_only_the_units_below_it(path):
    name, package = module_name(path)
    unit = runtime_unit(name)
    assert unit is not None
    allowed = MAY_IMPORT[unit] | {unit}
    wrong = sorted(
        imported
        for imported in runtime_imports(path.read_text(), package)
        if (target := runtime_unit(imported)) is not None and target not in allowed
    )
    assert wrong == []


def test_no_engine_or_schedules_module_imports_telemetry_even_for_type_checking():
    for unit in ("engine", "schedules"):
        for path in (ROOT / "runtime" / unit).glob("*.py"):
            names = imported_names(path.read_text(), f"arborist.runtime.{unit}")
            assert not any(n.startswith("arborist.runtime.telemetry") for n in names), path.name


def test_no_engine_module_imports_the_runtime_even_for_type_checking():
    for path in (ROOT / "runtime" / "engine").glob("*.py"):
        names = imported_names(path.read_text(), "arborist.runtime.engine")
        assert not any(n.startswith("arborist.runtime._runtime") for n in names), path.name


def test_no_project_module_is_part_of_an_import_circle():
    assert import_cycles(project_graph()) == []


def test_the_cycle_checker_finds_a_circle_hidden_in_a_function():
    graph = {
        "arborist.runtime.a": set(),
        "arborist.runtime.b": set(),
    }
    sources = {
        "arborist.runtime.a": "from . import b",
        "arborist.runtime.b": "def later():\n    from . import a",
    }
    for name, source in sources.items():
        graph[name] = {
            n for n in runtime_imports(source, "arborist.runtime") if n in sources and n != name
        }

    assert import_cycles(graph) == [["arborist.runtime.a", "arborist.runtime.b"]]


def test_the_cycle_checker_ignores_imports_made_only_for_type_checking():
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import b\n"

    assert "arborist.runtime.b" not in runtime_imports(source, "arborist.runtime")

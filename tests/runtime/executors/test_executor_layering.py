"""The executor layer imports only the standard library, trio, attrs, outcome and itself at
module level (engines are imported when an executor is constructed)."""

import ast
import sys
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[3] / "runtime" / "executors"
ALLOWED = {"trio", "attrs", "outcome", "distributed"}  # distributed: only _dask_plugins


def module_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:  # module level only: lazy imports are fine
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.py")), ids=lambda p: p.name)
def test_an_executor_module_imports_only_the_stdlib_trio_attrs_and_outcome(path):
    foreign = module_imports(path) - ALLOWED - set(sys.stdlib_module_names) - {"__future__"}

    assert foreign == set()


def test_only_the_dask_plugins_module_imports_distributed_at_module_level():
    users = {p.name for p in FOLDER.glob("*.py") if "distributed" in module_imports(p)}

    assert users == {"_dask_plugins.py"}


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.py")), ids=lambda p: p.name)
def test_an_executor_module_reaches_no_other_part_of_arborist(path):
    tree = ast.parse(path.read_text())
    upward = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 1]
    absolute = [
        alias.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for alias in ([ast.alias(n.module or "")] if isinstance(n, ast.ImportFrom) else n.names)
        if alias.name.startswith("arborist.")
        and not alias.name.startswith("arborist.runtime.executors")
    ]

    assert upward == []
    assert absolute == []

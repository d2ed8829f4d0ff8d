"""The store depends on nothing else in arborist: only the standard library, trio, attrs and
(when a PostgreSQL store opens) psycopg."""

import ast
import sys
from pathlib import Path

import pytest

STORE = Path(__file__).resolve().parents[3] / "runtime" / "store"
ALLOWED = {"trio", "attrs", "psycopg"}


def top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(STORE.glob("*.py")), ids=lambda p: p.name)
def test_a_store_module_imports_only_the_stdlib_trio_attrs_and_psycopg(path):
    foreign = {
        name
        for name in top_level_imports(path)
        if name not in ALLOWED and name not in sys.stdlib_module_names and name != "__future__"
    }

    assert foreign == set()


def test_the_store_modules_stay_under_500_lines():
    sizes = {path.name: len(path.read_text().splitlines()) for path in STORE.glob("*.py")}

    assert {name: size for name, size in sizes.items() if size > 500} == {}

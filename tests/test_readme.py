"""The README's Python snippets compile, and every name they import from arborist exists."""

import ast
import importlib
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_has_python_snippets():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_a_readme_snippet_compiles(index):
    source = BLOCKS[index]
    compile(source, f"README.md snippet {index}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_arborist_name_a_readme_snippet_imports_exists(index):
    tree = ast.parse(BLOCKS[index])
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("arborist"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"

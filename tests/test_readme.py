"""Every Python block of the README runs as written, and imports only names arborist has.

Each block is a whole program: the test writes it to a file and runs it in a fresh
interpreter. Only trio's clock is the test's: ``trio.run`` gets a ``MockClock`` with autojump
unless the block passes a clock itself, so a block that sleeps or waits costs no real time.
"""

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)

PRELUDE = """\
import trio
import trio.testing

_run = trio.run


def _run_on_a_mock_clock(fn, *args, **options):
    options.setdefault("clock", trio.testing.MockClock(autojump_threshold=0))
    return _run(fn, *args, **options)


trio.run = _run_on_a_mock_clock
"""


def test_the_readme_has_python_snippets():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_a_readme_block_runs_as_written(index, tmp_path):
    program = tmp_path / f"readme_block_{index}.py"
    program.write_text(PRELUDE + "\n" + BLOCKS[index])

    done = subprocess.run(
        [sys.executable, str(program)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, f"README block {index} failed:\n{BLOCKS[index]}\n{done.stderr}"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_arborist_name_a_readme_snippet_imports_exists(index):
    tree = ast.parse(BLOCKS[index])
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("arborist"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"

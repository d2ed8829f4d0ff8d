"""Every example runs as a test: its ``main()`` on trio's MockClock, its output as documented.

An example is a module in ``examples/`` that defines ``async def main()``. If its docstring has
an ``Expected output::`` block, the captured stdout must equal that block exactly, except that
``[...]`` matches any text within its line (for times measured on the real clock). An example
that needs threads or the real clock sets ``REAL_CLOCK = True`` and runs without MockClock;
``REQUIRES = ("module", ...)`` skips it when an optional module is not installed, and
``TEST_OPTIONS = {...}`` are keyword arguments for ``main`` (a short version for the suite).
"""

import ast
import functools
import importlib
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio
import trio.testing

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LAUNCHERS = {"demo.py"}
MARKER = "Expected output"
WILDCARD = "[...]"


def defines_async_main(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    return any(isinstance(node, ast.AsyncFunctionDef) and node.name == "main" for node in tree.body)


def discover() -> list[Path]:
    return [
        path
        for path in sorted(EXAMPLES.glob("*.py"))
        if path.name not in LAUNCHERS and defines_async_main(path)
    ]


def expected_output(docstring: str | None) -> str | None:
    """The indented block after ``Expected output...::``, dedented, or None if there is none."""
    if not docstring or MARKER not in docstring:
        return None
    block: list[str] = []
    after = inspect.cleandoc(docstring).split(MARKER, 1)[1]
    if "::" not in after.splitlines()[0]:
        return None
    for line in after.splitlines()[1:]:
        if line.strip() and not line[:1].isspace():
            break
        block.append(line)
    text = textwrap.dedent("\n".join(block)).strip("\n")
    return text + "\n" if text else ""


def required_modules(path: Path) -> tuple[str, ...]:
    """The example's ``REQUIRES`` (read from its source: it may not import without them)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "REQUIRES" for target in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    return ()


def matches(expected: str, output: str) -> bool:
    """Whether ``output`` is ``expected`` line by line, ``[...]`` matching any text in a line."""
    if WILDCARD not in expected:
        return output == expected
    pattern = "".join(
        ".*" if part == WILDCARD else re.escape(part)
        for part in re.split(f"({re.escape(WILDCARD)})", expected)
    )
    return re.fullmatch(pattern.replace(".*", "[^\\n]*"), output) is not None


@pytest.fixture
def examples_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))


def test_the_examples_folder_has_runnable_examples():
    assert [path.name for path in discover()]


@pytest.mark.parametrize("path", discover(), ids=lambda path: path.stem)
def test_the_example_runs_and_prints_its_expected_output(path, examples_on_path, capsys):
    for name in required_modules(path):
        pytest.importorskip(name, reason=f"{path.name} needs {name} (an optional extra)")
    module = importlib.import_module(path.stem)
    main = functools.partial(module.main, **getattr(module, "TEST_OPTIONS", {}))
    try:
        if getattr(module, "REAL_CLOCK", False):
            trio.run(main)
        else:
            trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    finally:
        sys.modules.pop(path.stem, None)

    expected = expected_output(module.__doc__)
    if expected is not None:
        output = capsys.readouterr().out
        assert matches(expected, output), output


def test_expected_output_is_the_dedented_block_after_the_marker():
    doc = """Title.

    Expected output::

        one
          indented two

        three

    Not part of it.
    """

    assert expected_output(doc) == "one\n  indented two\n\nthree\n"


def _runs_main_when_started_directly(path: Path) -> bool:
    for node in ast.parse(path.read_text()).body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and ast.unparse(node.test) in ('__name__ == "__main__"', "__name__ == '__main__'")
        ):
            return "main" in ast.unparse(node)
    return False


@pytest.mark.parametrize("path", discover(), ids=lambda path: path.stem)
def test_the_example_runs_its_main_when_started_directly(path):
    assert _runs_main_when_started_directly(path), f"{path.name} prints nothing when run"


def test_the_cli_example_prints_its_expected_output_when_started_directly():
    path = EXAMPLES / "cli_app.py"
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == expected_output(ast.get_docstring(ast.parse(path.read_text())))


def test_the_wildcard_matches_any_text_within_one_line_only():
    expected = "took [...] s\nok\n"

    assert matches(expected, "took 1.25 s\nok\n")
    assert not matches(expected, "took 1\nlate s\nok\n")
    assert not matches(expected, "took 1.25 s\nfailed\n")

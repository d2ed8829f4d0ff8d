"""A module does one thing and stays readable: no project module over 500 lines."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 500
FOLDERS = ("actors", "supervision", "runtime", "benchmarks", "examples")


def project_modules() -> list[Path]:
    return sorted(path for folder in FOLDERS for path in (ROOT / folder).rglob("*.py"))


def line_count(path: Path) -> int:
    with path.open(encoding="utf-8") as file:
        return sum(1 for _ in file)


def test_there_are_project_modules_to_measure():
    assert len(project_modules()) > 100


@pytest.mark.parametrize(
    "path", project_modules(), ids=lambda path: str(path.relative_to(ROOT))
)
def test_a_project_module_stays_under_500_lines(path):
    lines = line_count(path)
    assert lines <= LIMIT, (
        f"{path.relative_to(ROOT)} has {lines} lines (limit {LIMIT}): split it by concept"
    )

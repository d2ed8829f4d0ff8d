"""Running the ``arborist`` command in the test's own process, with ``capsys``."""

from __future__ import annotations

import subprocess

import pytest

from arborist.runtime.cli import main


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``main(args)`` here; the result has the shape of ``subprocess.run``'s."""
    code = main(list(args))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)

"""Tests of the benchmark tools that read other revisions with git: skipped outside a checkout."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def in_a_git_checkout() -> bool:
    """Whether git is here and the repository has a commit to read."""
    if shutil.which("git") is None:
        return False
    probe = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "HEAD"], check=False, capture_output=True
    )
    return probe.returncode == 0


def needs_git(tool: str) -> pytest.MarkDecorator:
    """Skip a test of ``tool`` (say ``benchmarks.ab``) with the reason, outside a checkout."""
    return pytest.mark.skipif(
        not in_a_git_checkout(), reason=f"{tool} reads revisions with git: no git checkout here"
    )

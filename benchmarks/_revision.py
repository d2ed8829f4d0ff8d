"""Another revision's folders, read with git: what ``benchmarks.ab`` and ``tick_ab`` time."""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ROOT", "extract"]

ROOT = Path(__file__).resolve().parent.parent
"""The repository: ``benchmarks/`` beside ``actors/``, ``supervision/`` and ``runtime/``."""


def extract(revision: str, folders: Sequence[str], into: Path, *, tool: str, hint: str) -> None:
    """Write ``folders`` as they are at ``revision`` into ``into`` (``git archive``).

    Raises:
        SystemExit: git is missing, or cannot give those folders at ``revision`` (the message
            names ``tool`` and ends with ``hint``, what to give instead).
    """
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", revision, *folders],
            check=True,
            capture_output=True,
        ).stdout
    except FileNotFoundError:
        raise SystemExit(f"{tool} needs git to read another revision") from None
    except subprocess.CalledProcessError as exc:
        raise SystemExit(
            f"git cannot give {', '.join(f'{folder}/' for folder in folders)} at {revision!r} "
            f"({hint}): {exc.stderr.decode().strip()}"
        ) from None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 on
            tar.extractall(into, filter="data")
        else:  # our own repository's archive
            tar.extractall(into)

"""The command line's exit statuses and its program name."""

from __future__ import annotations

__all__ = [
    "DEFAULT_TIMELINE_WIDTH",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

PROG = "arborist"
DEFAULT_TIMELINE_WIDTH = 60

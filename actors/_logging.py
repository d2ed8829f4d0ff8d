"""arborist's loggers: one per subsystem under ``arborist``, each record carrying its context.

Importing this module puts a ``logging.NullHandler`` on the ``arborist`` logger, as a library
should: a program that configures no logging sees nothing from arborist (no "last resort"
lines on stderr); one that does (``logging.basicConfig``) gets every record its levels let
through. Every record from an arborist logger has the attributes ``actor``, ``supervisor``,
``run_id`` and ``step`` (None where they do not apply), so a format string or a structured
handler can use them on any record: ``%(run_id)s``.

The loggers: ``arborist.actors`` (the kernel), ``arborist.supervision`` (supervisors, task
supervisors), ``arborist.runtime`` (the runtime's lifecycle and shutdown),
``arborist.runtime.engine`` (runs and steps), ``arborist.runtime.schedules`` (schedules).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["CONTEXT_KEYS", "get_logger", "log_context"]

CONTEXT_KEYS = ("actor", "supervisor", "run_id", "step")
"""The context attributes every record of an arborist logger has (None when not known)."""

logging.getLogger("arborist").addHandler(logging.NullHandler())


class _Context(logging.Filter):
    """Gives a record the context attributes it was not logged with (as None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key in CONTEXT_KEYS:
            if not hasattr(record, key):
                setattr(record, key, None)
        return True


_CONTEXT = _Context()


def get_logger(name: str) -> logging.Logger:
    """The logger ``name`` (under ``arborist``), whose records all carry the context keys."""
    logger = logging.getLogger(name)
    if _CONTEXT not in logger.filters:
        logger.addFilter(_CONTEXT)
    return logger


def log_context(
    *,
    actor: object = None,
    supervisor: object = None,
    run_id: str | None = None,
    step: str | None = None,
) -> dict[str, Any]:
    """The ``extra=`` of a record: the context keys, as short strings where they are given."""
    return {
        "actor": None if actor is None else str(actor),
        "supervisor": None if supervisor is None else str(supervisor),
        "run_id": run_id,
        "step": step,
    }

"""A run's start and end, announced: ``RunStarted``/``RunFinished`` and an INFO record each.

The events are built only when someone subscribes; the records (on
``arborist.runtime.engine``, carrying ``run_id``) are formatted only when the logger lets INFO
through. The coordinator calls ``announce_started`` and ``announce_finished`` once per run.
"""

from __future__ import annotations

import contextvars
import logging
from typing import TYPE_CHECKING, Any

import trio

from arborist.actors._logging import get_logger, log_context

from ._events import RunFinished, RunStarted

if TYPE_CHECKING:
    from ._services import ChildOf

__all__ = ["announce_finished", "announce_started", "log_run_finished", "log_run_started"]

logger = get_logger("arborist.runtime.engine")


def log_run_started(run_id: str, workflow: str, parent: ChildOf | None) -> None:
    """Log that run ``run_id`` of ``workflow`` started (a child: under which step)."""
    if logger.isEnabledFor(logging.INFO):
        under = f" (child of {parent.run_id} step {parent.step!r})" if parent is not None else ""
        logger.info(
            "run %s of %r started%s", run_id, workflow, under, extra=log_context(run_id=run_id)
        )


def log_run_finished(
    run_id: str, workflow: str, duration: float, error: BaseException | None
) -> None:
    """Log how run ``run_id`` ended (its error's type and message when it did not succeed)."""
    if logger.isEnabledFor(logging.INFO):
        how = "succeeded" if error is None else f"ended: {type(error).__name__}: {error}"
        logger.info(
            "run %s of %r %s after %.3fs",
            run_id,
            workflow,
            how,
            duration,
            extra=log_context(run_id=run_id),
        )


def announce_started(
    events: Any,
    run_id: str,
    workflow: str,
    at: float,
    parent: ChildOf | None,
    caller: contextvars.Context | None,
) -> None:
    """Log and (when someone subscribes) emit that run ``run_id`` started at ``at``."""
    log_run_started(run_id, workflow, parent)
    if events:
        run, step = (parent.run_id, parent.step) if parent is not None else (None, None)
        events.emit(RunStarted(run_id, workflow, at, run, step, caller))


def announce_finished(
    events: Any,
    run_id: str,
    workflow: str,
    started: float,
    error: BaseException | None,
    parent: ChildOf | None,
) -> None:
    """Log and (when someone subscribes) emit that run ``run_id`` ended now."""
    now = trio.current_time()
    log_run_finished(run_id, workflow, now - started, error)
    if events:
        above = parent.run_id if parent is not None else None
        events.emit(RunFinished(run_id, workflow, now, now - started, error is None, error, above))

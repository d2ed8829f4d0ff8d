"""The run lifecycle on the ``arborist.runtime.engine`` logger: a start and an end per run, at INFO.

Each record carries ``run_id`` (and the other context keys, None); nothing is formatted
unless the logger lets INFO through.
"""

from __future__ import annotations

import logging

from arborist.actors._logging import get_logger, log_context

__all__ = ["log_run_finished", "log_run_started"]

logger = get_logger("arborist.runtime.engine")


def log_run_started(run_id: str, workflow: str, parent: tuple[str, str] | None) -> None:
    """Log that run ``run_id`` of ``workflow`` started (a child: under which step)."""
    if logger.isEnabledFor(logging.INFO):
        under = f" (child of {parent[0]} step {parent[1]!r})" if parent is not None else ""
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

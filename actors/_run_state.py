"""How long trio's run loop has nothing to do: the one question a quick blocking wait asks.

A thread actor's ask may block the trio thread for a quick reply (``ThreadActor.reply_wait``)
only while no trio task is runnable and no ``run_sync_soon`` callback is pending, and never
past trio's next deadline. ``trio.lowlevel.current_statistics()`` answers that, but builds the
whole statistics record, the I/O backend's included (2.4 us here per call, more with many
file descriptors), on every ask. ``idle_seconds`` reads the same three facts straight from
the run loop, and falls back to ``current_statistics()`` when this trio does not lay its run
loop out as expected (its internals are not a stable API; a test compares the two).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import trio

__all__ = [
    "idle_seconds",
    "idle_seconds_from_statistics",
    "runnable_now",
    "runnable_now_from_statistics",
]


def idle_seconds_from_statistics() -> float:
    """Seconds until trio's next deadline, or 0 if a task or callback is waiting to run.

    The public, slower reading (``trio.lowlevel.current_statistics()``).
    """
    stats = trio.lowlevel.current_statistics()
    if stats.tasks_runnable or stats.run_sync_soon_queue_size:
        return 0.0
    return max(stats.seconds_to_next_deadline, 0.0)


def runnable_now_from_statistics() -> bool:
    """Whether a task or a ``run_sync_soon`` callback waits to run (the public reading)."""
    stats = trio.lowlevel.current_statistics()
    return bool(stats.tasks_runnable or stats.run_sync_soon_queue_size)


def _run_loop_readers() -> tuple[Callable[[], float], Callable[[], bool]] | None:
    """Direct readings of trio's run loop, or None if this trio has no such layout."""
    try:
        from trio._core import _run  # private: probed once, with a fallback

        context: Any = _run.GLOBAL_RUN_CONTEXT
        runner_type: Any = _run.Runner
        fields = runner_type.__attrs_attrs__
        names = {field.name for field in fields}
    except (ImportError, AttributeError):  # pragma: no cover - another trio layout
        return None
    if not {"runq", "entry_queue", "deadlines", "clock"} <= names:  # pragma: no cover
        return None

    def idle() -> float:
        runner = context.runner
        if runner.runq or runner.entry_queue.size():
            return 0.0
        next_deadline: float = runner.deadlines.next_deadline()
        if next_deadline == math.inf:
            return math.inf
        now: float = runner.clock.current_time()
        return max(next_deadline - now, 0.0)

    def runnable() -> bool:
        runner = context.runner
        return bool(runner.runq or runner.entry_queue.size())

    return idle, runnable


_readers = _run_loop_readers()

idle_seconds: Callable[[], float] = _readers[0] if _readers else idle_seconds_from_statistics
"""Seconds until trio's next deadline, or 0 if a task or callback is waiting to run.

Call it on the trio thread, inside ``trio.run``.
"""

runnable_now: Callable[[], bool] = _readers[1] if _readers else runnable_now_from_statistics
"""Whether a task or a ``run_sync_soon`` callback is waiting to run: half of ``idle_seconds``.

Call it on the trio thread, inside ``trio.run``.
"""

"""How many tasks trio has queued to run, read from its run loop (the writer's batch-end check).

``trio.lowlevel.current_statistics().tasks_runnable`` says the same, but builds the whole
statistics record on each call, the I/O backend's included: about 200 Python opcodes, 5% of
a durable chain step's trio-side work. This reads the length of trio's run queue instead.
trio's runner is not a stable API, so the reading is probed once at import and falls back
to ``current_statistics()`` where the runner is laid out differently (a test compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

__all__ = ["runnable_from_statistics", "tasks_runnable"]


def runnable_from_statistics() -> int:
    """The public reading: ``trio.lowlevel.current_statistics().tasks_runnable``."""
    return trio.lowlevel.current_statistics().tasks_runnable


def _direct_reading() -> Callable[[], int] | None:
    try:
        from trio._core import _run  # private: probed once, with the public fallback
    except ImportError:  # pragma: no cover - another trio layout
        return None
    context: Any = getattr(_run, "GLOBAL_RUN_CONTEXT", None)
    runner_fields = getattr(getattr(_run, "Runner", None), "__attrs_attrs__", ())
    if context is None or "runq" not in {field.name for field in runner_fields}:
        return None  # pragma: no cover - another trio layout

    def from_the_run_queue() -> int:
        return len(context.runner.runq)

    return from_the_run_queue


tasks_runnable: Callable[[], int] = _direct_reading() or runnable_from_statistics
"""How many trio tasks are queued to run now. Call it on the trio thread, inside ``trio.run``."""

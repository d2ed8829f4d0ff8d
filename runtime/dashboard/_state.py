"""DashboardState: what the dashboard shows, kept from a runtime's events and sampled from it.

It subscribes to the runtime's events and keeps the runs in flight and the last ``recent``
finished runs (each with its step attempts, for the Gantt chart), and the last ``ticks``
ticks, skips, misses and run outcomes of each schedule. ``snapshot()`` adds what is sampled
at that moment (the supervision tree, pools, schedules' next fires, the store's run history)
and returns one JSON-ready dict. Everything runs on the runtime's trio thread.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
import trio

from arborist.actors import ActorError

from ..engine._events import (
    RunFinished,
    RunStarted,
    StepAgain,
    StepCancelled,
    StepFailed,
    StepFinished,
    StepSkipped,
    StepStarted,
    StepUndoFailed,
    StepUndone,
)
from ..schedules._events import (
    ScheduleMissed,
    ScheduleRunCancelled,
    ScheduleRunFailed,
    ScheduleRunFinished,
    ScheduleRunTimedOut,
    ScheduleSkipped,
    ScheduleTick,
)
from ..telemetry._labels import run_outcome

__all__ = ["DashboardState"]

MAX_CHILDREN = 40
"""Children of one tree node sent to the page; the rest are counted (``more``)."""

MAX_ATTEMPTS = 300
"""Ended attempts kept per run for its Gantt chart (the latest); older ones are counted."""


@attrs.define
class _Run:
    run_id: str
    workflow: str
    parent: str | None
    started: float
    wall: float
    finished: float | None = None
    outcome: str = "running"
    error: str | None = None
    attempts: collections.deque[dict[str, Any]] = attrs.Factory(
        lambda: collections.deque(maxlen=MAX_ATTEMPTS)
    )
    open: dict[str, dict[str, Any]] = attrs.Factory(dict)
    ended: int = 0

    def add(self, attempt: dict[str, Any]) -> None:
        self.ended += 1
        self.attempts.append(attempt)

    def view(self, now: float) -> dict[str, Any]:
        end = self.finished if self.finished is not None else now
        attempts = [*self.attempts, *({**a, "end": None} for a in self.open.values())]
        return {
            "run_id": self.run_id,
            "workflow": self.workflow,
            "parent_run_id": self.parent,
            "status": self.outcome,
            "error": self.error,
            "started_wall": self.wall,
            "duration": end - self.started,
            "hidden": self.ended - len(self.attempts),
            "attempts": [
                {
                    **a,
                    "start": a["start"] - self.started,
                    "end": (a["end"] if a["end"] is not None else now) - self.started,
                    "running": a["end"] is None,
                }
                for a in attempts
            ],
        }


class DashboardState:
    """The dashboard's books for one runtime (made by ``open_dashboard``).

    Args:
        rt: an open ``Runtime``.
        recent: how many finished runs to keep.
        ticks: how many recent tick records to keep per schedule.

    Attributes:
        version: grows by one with every event that changed what the page shows.
    """

    def __init__(self, rt: Any, *, recent: int = 30, ticks: int = 20) -> None:
        self._rt = rt
        self._active: dict[str, _Run] = {}
        self._recent: collections.deque[_Run] = collections.deque(maxlen=recent)
        self._ticks: dict[str, collections.deque[dict[str, Any]]] = {}
        self._tick_limit = ticks
        self.version = 0
        self._changed = trio.Event()
        self._handlers: dict[type, Callable[[Any], None]] = {
            RunStarted: self._run_started,
            RunFinished: self._run_finished,
            StepStarted: self._step_started,
            StepFinished: lambda e: self._attempt_ended(e, "ok"),
            StepFailed: lambda e: self._attempt_ended(e, "failed"),
            StepCancelled: lambda e: self._attempt_ended(e, "cancelled"),
            StepAgain: lambda e: self._attempt_ended(e, "again"),
            StepSkipped: self._skipped,
            StepUndone: lambda e: self._undo(e, e.time - e.duration, "undone"),
            StepUndoFailed: lambda e: self._undo(e, e.time, "undo_failed"),
            ScheduleTick: lambda e: self._tick(e.schedule, "tick", e.due, e.time),
            ScheduleSkipped: lambda e: self._tick(e.schedule, "skipped", e.due, e.time, e.reason),
            ScheduleMissed: lambda e: self._tick(e.schedule, "missed", e.due, e.time, e.reason),
            ScheduleRunFinished: lambda e: self._tick(e.schedule, "ok", None, e.time),
            ScheduleRunFailed: lambda e: self._tick(e.schedule, "failed", None, e.time),
            ScheduleRunTimedOut: lambda e: self._tick(e.schedule, "timed_out", None, e.time),
            ScheduleRunCancelled: lambda e: self._tick(e.schedule, "cancelled", None, e.time),
        }
        self._unsubscribe = rt.subscribe(self)

    def __call__(self, event: Any) -> None:
        """Record one runtime event (the ``rt.subscribe`` handler); others are ignored."""
        handler = self._handlers.get(type(event))
        if handler is None:
            return
        handler(event)
        self.version += 1
        self.wake()

    def close(self) -> None:
        """Stop recording events and wake every ``wait_changed`` caller."""
        self._unsubscribe()
        self.wake()

    def wake(self) -> None:
        """Wake every ``wait_changed`` caller now (the server is stopping, say)."""
        changed, self._changed = self._changed, trio.Event()
        changed.set()

    async def wait_changed(self, version: int) -> None:
        """Return once ``version`` is behind ``self.version`` (at once if it already is)."""
        if self.version == version:
            await self._changed.wait()

    def __repr__(self) -> str:
        return f"<DashboardState {len(self._active)} runs in flight, version {self.version}>"

    # -- events --------------------------------------------------------------------------------

    def _run_started(self, event: RunStarted) -> None:
        self._active[event.run_id] = _Run(
            event.run_id, event.workflow, event.parent_run_id, event.time, event.wall_time
        )

    def _run_finished(self, event: RunFinished) -> None:
        run = self._active.pop(event.run_id, None)
        if run is None:
            return
        run.finished = event.time
        run.outcome = "ok" if event.ok else run_outcome(event.error)
        run.error = None if event.error is None else f"{type(event.error).__name__}: {event.error}"
        for attempt in run.open.values():
            run.add({**attempt, "end": event.time, "status": "unfinished"})
        run.open.clear()
        self._recent.appendleft(run)

    def _step_started(self, event: StepStarted) -> None:
        run = self._active.get(event.run_id)
        if run is not None:
            run.open[event.step] = {
                "step": event.step,
                "attempt": event.attempt,
                "start": event.time,
                "status": "running",
            }

    def _attempt_ended(self, event: Any, status: str) -> None:
        run = self._active.get(event.run_id)
        if run is None:
            return
        attempt = run.open.pop(event.step, None)
        if attempt is not None:
            run.add({**attempt, "end": event.time, "status": status})

    def _skipped(self, event: StepSkipped) -> None:
        run = self._active.get(event.run_id)
        if run is not None:
            run.add(
                {
                    "step": event.step,
                    "attempt": 0,
                    "start": event.time,
                    "end": event.time,
                    "status": "skipped",
                }
            )

    def _undo(self, event: Any, start: float, status: str) -> None:
        run = self._active.get(event.run_id)
        if run is not None:
            run.add(
                {
                    "step": f"undo {event.step}",
                    "attempt": 1,
                    "start": start,
                    "end": event.time,
                    "status": status,
                }
            )

    def _tick(self, schedule: str, kind: str, due: Any, at: float, reason: Any = None) -> None:
        ticks = self._ticks.get(schedule)
        if ticks is None:
            ticks = self._ticks[schedule] = collections.deque(maxlen=self._tick_limit)
        ticks.appendleft(
            {
                "kind": kind,
                "due": _plain(due),
                "at": at,
                "reason": None if reason is None else str(reason),
            }
        )

    # -- snapshots -----------------------------------------------------------------------------

    async def snapshot(self) -> dict[str, Any]:
        """Everything the page shows, now, as a JSON-ready dict.

        Awaits the runtime's tree (and the store's history when the runtime has a store); a
        runtime that is shutting down gives what it still can (``tree`` None).
        """
        rt = self._rt
        now = trio.current_time()
        try:
            tree = _node((await rt.tree()).root)
        except (RuntimeError, ActorError):
            tree = None
        try:
            infos = rt.schedules()
        except RuntimeError:
            infos = []
        schedules = [
            {
                "name": info.name,
                "trigger": str(info.trigger),
                "next_fire": _plain(info.next_fire),
                "next_in": None
                if info.next_time is None or not math.isfinite(info.next_time)
                else max(info.next_time - now, 0.0),
                "paused": info.paused,
                "runs": info.runs,
                "running": info.running,
                "last_outcome": None if info.last_outcome is None else info.last_outcome.value,
                "ended": info.ended,
                "recent": list(self._ticks.get(info.name, ())),
            }
            for info in infos
        ]
        pools = [attrs.asdict(stats) for stats in rt.pool_statistics()]
        return {
            "version": self.version,
            "now": now,
            "wall": time.time(),
            "tree": tree,
            "active": [run.view(now) for run in self._active.values()],
            "recent": [run.view(now) for run in self._recent],
            "schedules": schedules,
            "pools": pools,
            "history": await self._history(),
        }

    async def _history(self) -> list[dict[str, Any]] | None:
        """The store's newest runs (None without a store)."""
        store = getattr(self._rt, "store", None)
        if store is None:
            return None
        rows = await store.list_runs(limit=20)
        return [
            {
                "run_id": row.run_id,
                "workflow": row.workflow,
                "status": str(getattr(row.status, "value", row.status)),
                "created_at": _plain(row.created_at),
                "finished_at": _plain(row.finished_at),
                "error": row.message or row.error,
            }
            for row in rows
        ]


def _plain(value: Any) -> Any:
    """A JSON-ready form of a due time: ISO 8601 for datetimes."""
    return value.isoformat() if isinstance(value, datetime) else value


def _node(node: Any) -> dict[str, Any]:
    children = node.children
    return {
        "id": str(node.id),
        "kind": str(node.kind),
        "state": str(node.state),
        "restarts": node.restart_count,
        "mailbox": node.mailbox_size,
        "actor": node.actor,
        "strategy": None if node.strategy is None else str(node.strategy),
        "children": [_node(child) for child in children[:MAX_CHILDREN]],
        "more": max(len(children) - MAX_CHILDREN, 0),
    }

"""Telemetry events of schedules, each stamped with trio's monotonic clock (``time``).

Each also carries ``wall_time`` (``time.time()`` when it was built; keyword-only, left out of
equality), for logs and exporters.

``due`` is the tick's due time: trio seconds for ``every`` schedules, an aware UTC datetime for
wall-clock triggers (``cron``, ``at``) and for durable schedules (a durable ``every`` is on the
wall clock). ``run`` numbers the schedule's runs from 1. Every tick
that is accepted, skipped or missed, and every run's outcome, is one of these events: nothing
about a schedule is silent.
"""

from __future__ import annotations

import contextvars
import time as _time
from datetime import datetime

import attrs

from ._options import MissReason

__all__ = [
    "CURRENT_SCHEDULE_RUN",
    "ScheduleEnded",
    "ScheduleEvent",
    "ScheduleMissed",
    "ScheduleRunCancelled",
    "ScheduleRunFailed",
    "ScheduleRunFinished",
    "ScheduleRunInterrupted",
    "ScheduleRunStarted",
    "ScheduleRunTimedOut",
    "ScheduleSkipped",
    "ScheduleTick",
]

CURRENT_SCHEDULE_RUN: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar(
    "arborist_schedule_run", default=None
)
"""``(schedule, run)`` in the task running a schedule's job (None elsewhere).

A workflow run the job starts sees it in its ``RunStarted.caller_context``, so exporters can
nest the run under the schedule run (OpenTelemetry does).
"""


@attrs.frozen
class ScheduleTick:
    """A tick was accepted: run ``run`` starts now, or after the current one (buffered)."""

    schedule: str
    time: float
    due: float | datetime
    run: int
    manual: bool = False
    buffered: bool = False
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ScheduleSkipped:
    """A due tick did not run.

    ``reason`` is ``"overlap"`` (the previous run is still going), ``"buffer_full"``
    (BUFFER_ONE already holds one), ``"paused"`` or ``"stopped"`` (a buffered tick dropped
    because the scheduler stopped).
    """

    schedule: str
    time: float
    due: float | datetime
    reason: str
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ScheduleMissed:
    """A due tick was not run by the late-tick policy (misfire_grace, catch_up).

    ``count`` > 1 stands for the older part of a backlog longer than 1,000 ticks, ``due``
    being the oldest of them.
    """

    schedule: str
    time: float
    due: float | datetime
    reason: MissReason
    count: int = 1
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ScheduleRunStarted:
    """Run ``run`` began its job (after its jitter delay)."""

    schedule: str
    time: float
    due: float | datetime
    run: int
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ScheduleRunFinished:
    """Run ``run`` returned."""

    schedule: str
    time: float
    run: int
    duration: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ScheduleRunFailed:
    """Run ``run`` raised ``error`` (logged too); the schedule goes on."""

    schedule: str
    time: float
    run: int
    duration: float
    error: BaseException
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ScheduleRunTimedOut:
    """Run ``run`` was cancelled after the schedule's ``timeout`` seconds."""

    schedule: str
    time: float
    run: int
    duration: float
    timeout: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ScheduleRunCancelled:
    """Run ``run`` was cancelled.

    ``reason`` is ``"cancel_other"`` (a newer tick replaced it), ``"stopped"`` (removal or
    shutdown past the grace time) or ``"scheduler crashed"``.
    """

    schedule: str
    time: float
    run: int
    duration: float
    reason: str
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ScheduleRunInterrupted:
    """A durable due instant's claimer died before its job reported an end.

    Found on a later start (the claiming owner is no longer open in the store), recorded
    ``interrupted``, and not fired again: at most once per due instant. The job may or may
    not have run (a kill between the claim and the run's start cannot be told from one
    during the run). ``owner_id`` is the dead process's store owner.
    """

    schedule: str
    time: float
    due: datetime
    owner_id: str | None
    reason: str
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ScheduleEnded:
    """The schedule will not tick again; sent once its last run ended.

    ``reason`` is ``"max_runs"``, ``"end"`` (its window closed), ``"exhausted"`` (the
    trigger has no further fire time), ``"removed"`` or ``"stopped"`` (the runtime shut down).
    """

    schedule: str
    time: float
    reason: str
    runs: int
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


ScheduleEvent = (
    ScheduleTick
    | ScheduleSkipped
    | ScheduleMissed
    | ScheduleRunStarted
    | ScheduleRunFinished
    | ScheduleRunFailed
    | ScheduleRunTimedOut
    | ScheduleRunCancelled
    | ScheduleRunInterrupted
    | ScheduleEnded
)
"""Any schedule event."""

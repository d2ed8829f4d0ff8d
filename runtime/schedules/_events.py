"""Telemetry events of schedules, each stamped with trio's monotonic clock (``time``).

``due`` is the tick's due time: trio seconds for ``every`` schedules, an aware UTC datetime for
wall-clock triggers (``cron``, ``at``). ``run`` numbers the schedule's runs from 1. Every tick
that is accepted, skipped or missed, and every run's outcome, is one of these events: nothing
about a schedule is silent.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ._options import MissReason

__all__ = [
    "ScheduleEnded",
    "ScheduleEvent",
    "ScheduleMissed",
    "ScheduleRunCancelled",
    "ScheduleRunFailed",
    "ScheduleRunFinished",
    "ScheduleRunStarted",
    "ScheduleRunTimedOut",
    "ScheduleSkipped",
    "ScheduleTick",
]

@attrs.frozen
class ScheduleTick:
    """A tick was accepted: run ``run`` starts now, or after the current one (buffered)."""

    schedule: str
    time: float
    due: float | datetime
    run: int
    manual: bool = False
    buffered: bool = False


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


@attrs.frozen
class ScheduleRunStarted:
    """Run ``run`` began its job (after its jitter delay)."""

    schedule: str
    time: float
    due: float | datetime
    run: int


@attrs.frozen
class ScheduleRunFinished:
    """Run ``run`` returned."""

    schedule: str
    time: float
    run: int
    duration: float


@attrs.frozen
class ScheduleRunFailed:
    """Run ``run`` raised ``error`` (logged too); the schedule goes on."""

    schedule: str
    time: float
    run: int
    duration: float
    error: BaseException


@attrs.frozen
class ScheduleRunTimedOut:
    """Run ``run`` was cancelled after the schedule's ``timeout`` seconds."""

    schedule: str
    time: float
    run: int
    duration: float
    timeout: float


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


ScheduleEvent = (
    ScheduleTick
    | ScheduleSkipped
    | ScheduleMissed
    | ScheduleRunStarted
    | ScheduleRunFinished
    | ScheduleRunFailed
    | ScheduleRunTimedOut
    | ScheduleRunCancelled
    | ScheduleEnded
)
"""Any schedule event."""

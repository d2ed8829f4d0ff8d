"""Telemetry events of workflow runs, each stamped with trio's monotonic clock.

Subscribe with ``rt.subscribe(handler)``: the handler is called synchronously with each event
as it happens. Every event carries ``time`` (``trio.current_time()``); the ``*Finished`` and
``*Failed`` events also carry a ``duration`` in seconds.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ..schedules._options import MissReason

__all__ = [
    "PoolLimitChanged",
    "RunEvent",
    "RunFinished",
    "RunStarted",
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
    "StepAgain",
    "StepCancelled",
    "StepFailed",
    "StepFinished",
    "StepRetried",
    "StepSkipped",
    "StepStarted",
    "StepUndoFailed",
    "StepUndone",
]


@attrs.frozen
class RunStarted:
    """A workflow run was accepted and its coordinator started."""

    run_id: str
    workflow: str
    time: float


@attrs.frozen
class RunFinished:
    """A run ended; ``ok`` says whether it produced its result (else ``error`` says why)."""

    run_id: str
    workflow: str
    time: float
    duration: float
    ok: bool
    error: BaseException | None = None


@attrs.frozen
class StepStarted:
    """An attempt of a step was dispatched (``attempt`` counts from 1)."""

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float


@attrs.frozen
class StepFinished:
    """An attempt of a step returned a value."""

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    duration: float


@attrs.frozen
class StepFailed:
    """An attempt of a step raised; ``final`` is False when a retry follows."""

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    duration: float
    error: BaseException
    final: bool


@attrs.frozen
class StepRetried:
    """A failed step will run again as attempt ``attempt`` after ``delay`` seconds."""

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    delay: float


@attrs.frozen
class StepCancelled:
    """An attempt in flight was cancelled because the run failed or was cancelled."""

    run_id: str
    workflow: str
    step: str
    attempt: int
    time: float
    duration: float


@attrs.frozen
class StepSkipped:
    """A step did not run: its ``when`` guard said no, or a step it needs did not succeed.

    ``because`` names that step (None when the step's own guard said no).
    """

    run_id: str
    workflow: str
    step: str
    time: float
    because: str | None


@attrs.frozen
class StepAgain:
    """A step returned ``Again``: it runs again after ``delay`` seconds (``count`` so far)."""

    run_id: str
    workflow: str
    step: str
    time: float
    count: int
    delay: float


@attrs.frozen
class StepUndone:
    """A completed step was rolled back by its undo function after the run failed."""

    run_id: str
    workflow: str
    step: str
    time: float
    duration: float


@attrs.frozen
class StepUndoFailed:
    """A step's undo function failed (after its retries); the rollback went on."""

    run_id: str
    workflow: str
    step: str
    time: float
    error: BaseException


@attrs.frozen
class PoolLimitChanged:
    """An adaptive pool changed its limit from ``old`` to ``new`` slots.

    ``reason`` is ``"growth"`` (the pool was saturated and the service kept its latency),
    ``"latency"`` (the service's latency rose past the pool's tolerance: it is queueing) or
    ``"error"`` (a step attempt holding a slot raised).
    """

    pool: str
    old: int
    new: int
    time: float
    reason: str


# -- schedules ----------------------------------------------------------------------------------
# ``due`` is the tick's due time: trio seconds for ``every`` schedules, an aware UTC datetime
# for wall-clock triggers (``cron``, ``at``). ``run`` numbers the schedule's runs from 1.


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


RunEvent = (
    RunStarted
    | RunFinished
    | StepStarted
    | StepFinished
    | StepFailed
    | StepRetried
    | StepCancelled
    | StepSkipped
    | StepAgain
    | StepUndone
    | StepUndoFailed
    | PoolLimitChanged
    | ScheduleEvent
)
"""Any runtime event: workflow runs, steps, pools and schedules."""

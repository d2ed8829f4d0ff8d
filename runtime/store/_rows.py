"""The store's row types: statuses as enums, rows as frozen attrs values, a run's journal.

Times are timezone-aware UTC datetimes (stored as Unix seconds; due instants of schedules as
fixed-width ISO-8601 text, so they sort and compare exactly).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "TERMINAL_RUN_STATUSES",
    "AttemptRow",
    "AttemptStatus",
    "CreatedRun",
    "JobCall",
    "JobRow",
    "JobStatus",
    "OwnerInfo",
    "RunInfo",
    "RunJournal",
    "RunStatus",
    "ScheduleInfo",
    "TickOutcome",
    "TickRow",
    "UndoRow",
    "UndoStatus",
]


class RunStatus(enum.StrEnum):
    """Where a run is. ``running`` and ``rolling_back`` runs are claimed on recovery."""

    RUNNING = "running"
    HALTED = "halted"
    ROLLING_BACK = "rolling_back"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NEEDS_ATTENTION = "needs_attention"


ACTIVE_RUN_STATUSES = frozenset({RunStatus.RUNNING, RunStatus.ROLLING_BACK})
"""Statuses of runs that some owner is driving (claimed from dead owners on recovery)."""

TERMINAL_RUN_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})
"""Statuses of finished runs (what ``prune_runs`` deletes by default); they set ``finished_at``."""


class AttemptStatus(enum.StrEnum):
    """What became of one attempt of a step (or of one map element)."""

    STARTED = "started"
    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"
    AGAIN = "again"
    HALTED = "halted"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"


class UndoStatus(enum.StrEnum):
    """An undo-log entry: ``pending`` until its undo ran (``undone``) or gave up (``failed``)."""

    PENDING = "pending"
    UNDONE = "undone"
    FAILED = "failed"


class TickOutcome(enum.StrEnum):
    """What became of one due instant of a schedule (``claimed`` while its job runs)."""

    CLAIMED = "claimed"
    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    MISSED = "missed"
    INTERRUPTED = "interrupted"
    """Claimed by a process that died before the job reported an end (never re-fired)."""


class JobStatus(enum.StrEnum):
    """A durable fire-and-forget job: ``pending`` -> ``running`` -> ``done`` or ``failed``."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@attrs.frozen
class OwnerInfo:
    """One opened store (one runtime incarnation) as the ``owners`` table records it.

    Attributes:
        owner_id: a UUIDv7, new at every open.
        host: the host name; pid: the process id; label: free text given at open.
        lock_path: the owner's lock file (SQLite), held with ``flock`` while it lives.
        started_at, lease_until: when it opened and until when its lease runs.
        closed_at, closed_by, closed_reason: set by a clean close (``closed_by`` is itself,
            reason ``"closed"``) or by the owner that reaped it (``"lease expired"``,
            ``"lock released"``).
    """

    owner_id: str
    host: str
    pid: int
    label: str | None
    lock_path: str | None
    started_at: datetime
    lease_until: datetime
    closed_at: datetime | None
    closed_by: str | None
    closed_reason: str | None


@attrs.frozen
class RunInfo:
    """A run's row without its stored values (what listings return).

    Attributes:
        run_id: a UUIDv7 unless the caller chose it.
        workflow, plan_hash, target: what runs; ``target`` is ``module:attr`` when known.
        status: a ``RunStatus``; message: why (for halted, failed, needs_attention...).
        owner_id: the owner driving it; fence: bumped at each claim, carried by each write.
        start_key: the caller's idempotency key (``rt.start(key=...)``), unique.
        parent_run_id, parent_step: set for child runs.
        schedule_name, schedule_due: set for runs fired by a schedule.
        options: the run options (JSON data).
        error: the final error's text for failed runs.
        recovery_attempts: how many times it was claimed from a dead owner.
        created_at, updated_at, finished_at: wall-clock times (``finished_at`` once terminal).
    """

    run_id: str
    workflow: str
    plan_hash: str
    status: RunStatus
    owner_id: str | None
    fence: int
    start_key: str | None
    target: str | None
    parent_run_id: str | None
    parent_step: str | None
    schedule_name: str | None
    schedule_due: datetime | None
    options: Mapping[str, Any]
    error: str | None
    message: str | None
    recovery_attempts: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@attrs.frozen
class CreatedRun:
    """What ``create_run`` returns: the run, and whether this call created it.

    ``created`` is False when a run with the same ``start_key`` (or ``run_id``) existed; then
    ``run`` is that run, possibly owned by another process (compare ``run.owner_id``).
    """

    run: RunInfo
    created: bool


@attrs.frozen
class AttemptRow:
    """One attempt of a step (``element == -1``) or of one map element (``element >= 0``).

    Attributes:
        step, element, attempt: the key; attempt 0 is a decision with no call (a skip).
        status: an ``AttemptStatus``.
        started_at, finished_at: wall-clock times.
        wait_until: when the next attempt is due (after ``failed`` with a retry, ``again``).
        arguments: the stored arguments, when the engine stored them (else None).
        result: the decoded result of an ``ok`` attempt (an ``Encoded`` when not decoded).
        error: the exception of a ``failed`` attempt (a ``RecordedError`` when only its text
            could be stored).
        reason: why it was skipped, halted or interrupted.
    """

    step: str
    element: int
    attempt: int
    status: AttemptStatus
    started_at: datetime | None
    finished_at: datetime | None
    wait_until: datetime | None
    arguments: Any
    result: Any
    error: BaseException | None
    reason: str | None


@attrs.frozen
class UndoRow:
    """One entry of a run's undo log, in completion order ``seq`` (rollback: reverse order)."""

    seq: int
    step: str
    child_run_id: str | None
    status: UndoStatus
    attempts: int
    error: BaseException | None
    updated_at: datetime


@attrs.frozen
class RunJournal:
    """Everything the store holds about one run: what recovery rebuilds the run from.

    Attributes:
        run: the run's row.
        inputs: the decoded inputs.
        result: the decoded result of a succeeded run (else None).
        attempts: every attempt row, ordered by step, element, attempt.
        undo: the undo log, ordered by ``seq``.
    """

    run: RunInfo
    inputs: Any
    result: Any
    attempts: tuple[AttemptRow, ...]
    undo: tuple[UndoRow, ...]

    def latest(self) -> dict[tuple[str, int], AttemptRow]:
        """The last attempt of each ``(step, element)``."""
        return {(row.step, row.element): row for row in self.attempts}

    def results(self) -> dict[str, Any]:
        """The result of each step (element -1) whose latest attempt is ``ok``."""
        return {
            step: row.result
            for (step, element), row in self.latest().items()
            if element == -1 and row.status is AttemptStatus.OK
        }

    def element_results(self) -> dict[str, dict[int, Any]]:
        """Per map step, the result of each element whose latest attempt is ``ok``."""
        found: dict[str, dict[int, Any]] = {}
        for (step, element), row in sorted(self.latest().items()):
            if element >= 0 and row.status is AttemptStatus.OK:
                found.setdefault(step, {})[element] = row.result
        return found

    def interrupted(self) -> list[AttemptRow]:
        """Attempts that started and never finished: their process died during them."""
        return [row for row in self.latest().values() if row.status is AttemptStatus.STARTED]

    def next_attempt(self, step: str, element: int = -1) -> int:
        """The attempt number to use next for ``(step, element)``: one above the highest."""
        numbers = [r.attempt for r in self.attempts if r.step == step and r.element == element]
        return max(numbers, default=0) + 1

    def pending_undo(self) -> list[UndoRow]:
        """The undo entries still ``pending``, in rollback order (newest completion first)."""
        return [row for row in reversed(self.undo) if row.status is UndoStatus.PENDING]


@attrs.frozen
class TickRow:
    """One due instant of a schedule; (name, due) is unique: one fire per due instant."""

    name: str
    due: datetime
    outcome: TickOutcome
    reason: str | None
    run_id: str | None
    owner_id: str | None
    claimed_at: datetime
    finished_at: datetime | None


@attrs.frozen
class ScheduleInfo:
    """A schedule's definition and progress.

    Attributes:
        name: unique; trigger, job: canonical text chosen by the engine; options: JSON data.
        anchor_utc: the wall-clock origin of an interval grid (``every()``), and for any
            trigger the instant its definition was first registered (catch-up starts there).
        last_due: the newest due instant consumed (fired, skipped or missed); never goes back.
        runs: how many due instants were claimed to run.
        paused: whether it is paused.
        recent_ticks: the newest ticks first (as many as the listing asked for).
    """

    name: str
    trigger: str
    job: str
    options: Mapping[str, Any]
    anchor_utc: datetime | None
    last_due: datetime | None
    runs: int
    paused: bool
    created_at: datetime
    updated_at: datetime
    recent_ticks: tuple[TickRow, ...] = ()


@attrs.frozen
class JobRow:
    """A durable fire-and-forget job (its arguments are decoded by ``store.job_call(job)``).

    Attributes:
        job_id: a UUIDv7; fn: ``module:qualname`` of the function.
        status: a ``JobStatus``; owner_id, fence: who drives it and its claim counter.
        attempts: how many times it was started (a job its owner runs at once is inserted
            ``running`` with attempt 1, so a crash before its function was called still
            counts that start); error: the text of its last failure.
        name: the name given when it was enqueued (``name=``), else ``fn``.
    """

    job_id: str
    fn: str
    status: JobStatus
    owner_id: str | None
    fence: int
    attempts: int
    error: str | None
    codec: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    name: str


@attrs.frozen
class JobCall:
    """A job's function reference and decoded arguments, ready to resolve and call."""

    fn: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]

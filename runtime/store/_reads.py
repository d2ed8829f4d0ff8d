"""Row parsing: the column lists every query selects and the functions that build row values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ._codecs import Codecs, Encoded, decode_error
from ._rows import (
    AttemptRow,
    AttemptStatus,
    JobRow,
    JobStatus,
    OwnerInfo,
    RunInfo,
    RunStatus,
    ScheduleInfo,
    TickOutcome,
    TickRow,
    UndoRow,
    UndoStatus,
)

__all__ = [
    "ATTEMPT_COLUMNS",
    "JOB_COLUMNS",
    "OWNER_COLUMNS",
    "RUN_COLUMNS",
    "SCHEDULE_COLUMNS",
    "TICK_COLUMNS",
    "UNDO_COLUMNS",
    "aware",
    "due_text",
    "dumps_json",
    "parse_attempt",
    "parse_due",
    "parse_job",
    "parse_owner",
    "parse_run",
    "parse_schedule",
    "parse_tick",
    "parse_undo",
    "stamp",
    "to_datetime",
]

_DUE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

OWNER_COLUMNS = (
    "owner_id, host, pid, label, lock_path, started_at, lease_until, closed_at, closed_by, "
    "closed_reason"
)
RUN_COLUMNS = (
    "run_id, workflow, plan_hash, status, owner_id, fence, start_key, target, parent_run_id, "
    "parent_step, schedule_name, schedule_due, options, error, message, recovery_attempts, "
    "created_at, updated_at, finished_at"
)
ATTEMPT_COLUMNS = (
    "step, element, attempt, status, started_at, finished_at, wait_until, arguments, "
    "arguments_codec, result, result_codec, error, error_text, reason"
)
UNDO_COLUMNS = "seq, step, child_run_id, status, attempts, error, error_text, updated_at"
SCHEDULE_COLUMNS = (
    "name, trigger_text, job, options, anchor_utc, last_due, runs, paused, created_at, updated_at"
)
TICK_COLUMNS = "name, due, outcome, reason, run_id, owner_id, claimed_at, finished_at"
JOB_COLUMNS = (
    "job_id, fn, status, owner_id, fence, attempts, error, codec, created_at, updated_at, "
    "finished_at, name"
)


def to_datetime(value: float) -> datetime:
    """Unix seconds -> an aware UTC datetime."""
    return datetime.fromtimestamp(value, UTC)


def _maybe_dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def aware(value: datetime, name: str) -> datetime:
    """``value`` in UTC; raise if it is not an aware datetime (``name`` is the parameter)."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a timezone-aware datetime; got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware; got naive {value.isoformat()}: "
            "attach a tzinfo, e.g. datetime(..., tzinfo=UTC)"
        )
    return value.astimezone(UTC)


def stamp(value: datetime | None, name: str) -> float | None:
    """An aware datetime (or None) -> Unix seconds for the database."""
    return None if value is None else aware(value, name).timestamp()


def due_text(value: datetime, name: str = "due") -> str:
    """A due instant as fixed-width UTC text (sorts like time; microsecond precision)."""
    return aware(value, name).strftime(_DUE_FORMAT)


def parse_due(text: str) -> datetime:
    """The inverse of ``due_text``."""
    return datetime.strptime(text, _DUE_FORMAT).replace(tzinfo=UTC)


def dumps_json(value: Mapping[str, Any], name: str) -> str:
    """Options as JSON text; raise naming ``name`` when they are not JSON data."""
    try:
        return json.dumps(dict(value), separators=(",", ":"), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be JSON data (str, numbers, lists, dicts): {exc}") from exc


def parse_owner(row: Any) -> OwnerInfo:
    """An ``owners`` row (``OWNER_COLUMNS``) -> ``OwnerInfo``."""
    return OwnerInfo(
        owner_id=row[0],
        host=row[1],
        pid=int(row[2]),
        label=row[3],
        lock_path=row[4],
        started_at=to_datetime(row[5]),
        lease_until=to_datetime(row[6]),
        closed_at=_maybe_dt(row[7]),
        closed_by=row[8],
        closed_reason=row[9],
    )


def parse_run(row: Any) -> RunInfo:
    """A ``runs`` row (``RUN_COLUMNS``) -> ``RunInfo``."""
    return RunInfo(
        run_id=row[0],
        workflow=row[1],
        plan_hash=row[2],
        status=RunStatus(row[3]),
        owner_id=row[4],
        fence=int(row[5]),
        start_key=row[6],
        target=row[7],
        parent_run_id=row[8],
        parent_step=row[9],
        schedule_name=row[10],
        schedule_due=None if row[11] is None else parse_due(row[11]),
        options=json.loads(row[12]),
        error=row[13],
        message=row[14],
        recovery_attempts=int(row[15]),
        created_at=to_datetime(row[16]),
        updated_at=to_datetime(row[17]),
        finished_at=_maybe_dt(row[18]),
    )


def _value(codecs: Codecs, codec: str | None, data: Any, what: str, decode: bool) -> Any:
    if data is None or codec is None:
        return None
    if not decode:
        return Encoded(codec, bytes(data))
    return codecs.decode(codec, data, what)


def parse_attempt(row: Any, codecs: Codecs, run_id: str, decode: bool) -> AttemptRow:
    """A ``step_attempts`` row (``ATTEMPT_COLUMNS``) -> ``AttemptRow``, values decoded."""
    step, element, attempt = row[0], int(row[1]), int(row[2])
    where = f"step {step!r}" + (f" element {element}" if element >= 0 else "")
    where += f" (attempt {attempt}) of run {run_id!r}"
    return AttemptRow(
        step=step,
        element=element,
        attempt=attempt,
        status=AttemptStatus(row[3]),
        started_at=_maybe_dt(row[4]),
        finished_at=_maybe_dt(row[5]),
        wait_until=_maybe_dt(row[6]),
        arguments=_value(codecs, row[8], row[7], f"arguments of {where}", decode),
        result=_value(codecs, row[10], row[9], f"result of {where}", decode),
        error=decode_error(row[11], row[12]),
        reason=row[13],
    )


def parse_undo(row: Any) -> UndoRow:
    """An ``undo_log`` row (``UNDO_COLUMNS``) -> ``UndoRow``."""
    return UndoRow(
        seq=int(row[0]),
        step=row[1],
        child_run_id=row[2],
        status=UndoStatus(row[3]),
        attempts=int(row[4]),
        error=decode_error(row[5], row[6]),
        updated_at=to_datetime(row[7]),
    )


def parse_tick(row: Any) -> TickRow:
    """A ``schedule_ticks`` row (``TICK_COLUMNS``) -> ``TickRow``."""
    return TickRow(
        name=row[0],
        due=parse_due(row[1]),
        outcome=TickOutcome(row[2]),
        reason=row[3],
        run_id=row[4],
        owner_id=row[5],
        claimed_at=to_datetime(row[6]),
        finished_at=_maybe_dt(row[7]),
    )


def parse_schedule(row: Any, ticks: tuple[TickRow, ...]) -> ScheduleInfo:
    """A ``schedules`` row (``SCHEDULE_COLUMNS``) and its recent ticks -> ``ScheduleInfo``."""
    return ScheduleInfo(
        name=row[0],
        trigger=row[1],
        job=row[2],
        options=json.loads(row[3]),
        anchor_utc=_maybe_dt(row[4]),
        last_due=None if row[5] is None else parse_due(row[5]),
        runs=int(row[6]),
        paused=bool(row[7]),
        created_at=to_datetime(row[8]),
        updated_at=to_datetime(row[9]),
        recent_ticks=ticks,
    )


def parse_job(row: Any) -> JobRow:
    """A ``jobs`` row (``JOB_COLUMNS``) -> ``JobRow``."""
    return JobRow(
        job_id=row[0],
        fn=row[1],
        status=JobStatus(row[2]),
        owner_id=row[3],
        fence=int(row[4]),
        attempts=int(row[5]),
        error=row[6],
        codec=row[7],
        created_at=to_datetime(row[8]),
        updated_at=to_datetime(row[9]),
        finished_at=_maybe_dt(row[10]),
        name=row[11] if row[11] is not None else row[1],
    )

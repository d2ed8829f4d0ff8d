"""``arborist runs show``: one run's journal as text.

The run, its steps and tries, its undo log, and its timeline on the wall clock.

Pure: ``format_run(journal)`` reads a ``RunJournal`` (loaded with ``decode=False``: results
and inputs stay encoded, they are not shown) and returns the text.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..engine._handle import StepRecord
from ..engine._timeline import format_seconds, render_timeline
from ..store import AttemptStatus

if TYPE_CHECKING:
    from ..store import AttemptRow, RunJournal

__all__ = ["format_run"]

_SHOWN = {
    AttemptStatus.OK: "ok",
    AttemptStatus.FAILED: "failed",
    AttemptStatus.AGAIN: "again",
    AttemptStatus.HALTED: "halted",
    AttemptStatus.CANCELLED: "cancelled",
    AttemptStatus.INTERRUPTED: "interrupted",
    AttemptStatus.STARTED: "running",
    AttemptStatus.SKIPPED: "skipped",
}


def _when(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S.%f}"[:-3] + "Z"


def _detail(row: AttemptRow) -> str:
    if row.error is not None:
        return str(row.error)
    if row.status is AttemptStatus.SKIPPED:
        return "its when= guard was false" if row.reason == "guard" else (row.reason or "")
    if row.wait_until is not None:
        return f"next at {_when(row.wait_until)}"
    return row.reason or ""


def format_run(journal: RunJournal, *, width: int = 60, now: datetime | None = None) -> str:
    """The text ``arborist runs show`` prints for ``journal`` (see the module docstring)."""
    run = journal.run
    lines = [
        f"run {run.run_id}  workflow {run.workflow}  status {run.status.value}",
        f"  created {_when(run.created_at)}  updated {_when(run.updated_at)}  "
        f"finished {_when(run.finished_at)}",
        f"  owner {run.owner_id}  fence {run.fence}  recovered {run.recovery_attempts} times"
        + (f"  target {run.target}" if run.target else "")
        + (f"  key {run.start_key}" if run.start_key else ""),
    ]
    if run.parent_run_id:
        lines.append(f"  child of run {run.parent_run_id} (step {run.parent_step})")
    if run.message:
        lines.append(f"  message: {run.message}")
    if run.error:
        lines.append(f"  error: {run.error}")
    steps = [row for row in journal.attempts if row.element == -1]
    elements = [row for row in journal.attempts if row.element >= 0]
    lines.append("")
    lines.append(f"{'step':<24}  {'try':>3}  {'status':<11}  {'started':<24}  {'took':>8}  detail")
    for row in sorted(steps, key=lambda r: (r.started_at or r.finished_at or run.created_at,
                                            r.step, r.attempt)):  # fmt: skip
        took = ""
        if row.started_at is not None and row.finished_at is not None:
            took = format_seconds((row.finished_at - row.started_at).total_seconds())
        lines.append(
            f"{row.step:<24}  {row.attempt:>3}  {_SHOWN[row.status]:<11}  "
            f"{_when(row.started_at):<24}  {took:>8}  {_detail(row)}"
        )
    if elements:
        done: dict[str, int] = {}
        for row in elements:
            if row.status is AttemptStatus.OK:
                done[row.step] = done.get(row.step, 0) + 1
        lines.append("map elements journaled: " + ", ".join(f"{s} {n}" for s, n in done.items()))
    if journal.undo:
        lines.append("")
        lines.append(f"{'undo':>4}  {'step':<24}  {'status':<8}  {'runs':>4}  detail")
        for undo in journal.undo:
            child = f"child run {undo.child_run_id}" if undo.child_run_id else ""
            detail = str(undo.error) if undo.error is not None else child
            lines.append(
                f"{undo.seq:>4}  {undo.step:<24}  {undo.status.value:<8}  {undo.attempts:>4}  "
                f"{detail}"
            )
    lines.append("")
    lines.append(_timeline(journal, width, now))
    return "\n".join(lines)


def _timeline(journal: RunJournal, width: int, now: datetime | None) -> str:
    run = journal.run
    origin = run.created_at.timestamp()
    records = []
    latest = origin
    for row in journal.attempts:
        if row.element != -1:
            continue
        start = (row.started_at or row.finished_at or run.created_at).timestamp()
        end = row.finished_at.timestamp() if row.finished_at is not None else None
        if end is None:
            end = (now or run.updated_at).timestamp()
        latest = max(latest, end)
        shown = _SHOWN[row.status]
        records.append(StepRecord(row.step, row.attempt, start, max(end, start), shown))
    end = run.finished_at.timestamp() if run.finished_at is not None else latest
    return render_timeline(records, origin, max(end, latest), width, title=f"{run.workflow}")

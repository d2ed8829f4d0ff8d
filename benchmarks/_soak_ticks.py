"""The soak's books for one interval schedule (W11): every due tick and every accepted run.

An ``every(period)`` schedule made at trio time ``anchor`` has its n-th tick due at
``anchor + n * period``. Each tick the scheduler consumes must be reported exactly once: as
accepted (``ScheduleTick``), skipped (``ScheduleSkipped``: overlap, buffer full) or missed
(``ScheduleMissed``, whose ``count`` covers that many ticks). Each accepted tick is a run that
must start (``ScheduleRunStarted``) and end with exactly one outcome event (finished, failed,
timed out, cancelled), unless it waited in the buffer and was dropped with a reported
``ScheduleSkipped("stopped")``. The schedule ends with exactly one ``ScheduleEnded``.
Reported ticks are compacted into a frontier, so the books stay small.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

from arborist.runtime import (
    ScheduleEnded,
    ScheduleMissed,
    ScheduleRunCancelled,
    ScheduleRunFailed,
    ScheduleRunFinished,
    ScheduleRunStarted,
    ScheduleRunTimedOut,
    ScheduleSkipped,
    ScheduleTick,
)

if TYPE_CHECKING:
    from benchmarks._soak_ledger import Problems

__all__ = ["Frontier", "ScheduleBook"]

_OUTCOMES = (ScheduleRunFinished, ScheduleRunFailed, ScheduleRunTimedOut, ScheduleRunCancelled)


class Frontier:
    """Which of the numbers 1, 2, 3 ... were seen, compacted below the first gap."""

    def __init__(self) -> None:
        self.done = 0
        """Every number up to this one was seen exactly once."""
        self._ahead: set[int] = set()
        self.duplicates = 0

    def add(self, n: int) -> bool:
        """Record ``n``; False if it was seen before (a duplicate)."""
        if n <= self.done or n in self._ahead:
            self.duplicates += 1
            return False
        self._ahead.add(n)
        while self.done + 1 in self._ahead:
            self._ahead.discard(self.done + 1)
            self.done += 1
        return True

    def missing(self, upto: int) -> int:
        """How many of 1..``upto`` were never seen."""
        if upto <= self.done:
            return 0
        return upto - self.done - sum(1 for n in self._ahead if n <= upto)

    def beyond(self, upto: int) -> int:
        """How many numbers above ``upto`` were seen."""
        return max(0, self.done - upto) + sum(1 for n in self._ahead if n > upto)


class ScheduleBook:
    """The books of one ``every(period)`` schedule made at trio time ``anchor``."""

    def __init__(
        self, name: str, period: float, anchor: float, kind: str, problems: Problems
    ) -> None:
        self.name = name
        self.period = period
        self.anchor = anchor
        self.kind = kind
        self._problems = problems
        self.ticks = Frontier()
        self._runs: dict[int, str] = {}  # open run number -> "buffered" | "accepted" | "started"
        self._buffered: dict[int, int] = {}  # tick number -> run number, while in the buffer
        self.accepted = self.max_run = self.started = self.dropped = 0
        self.outcomes: Counter[str] = Counter()
        self.calls = 0
        self.ended = 0

    def _tick(self, due: Any) -> int:
        return round((float(due) - self.anchor) / self.period)

    def _problem(self, kind: str, example: str) -> None:
        self._problems.add(kind, f"schedule {self.name!r} {example}")

    def job_called(self) -> None:
        """The schedule's job function was called."""
        self.calls += 1

    def on_event(self, event: Any) -> None:
        """Account for one event of this schedule."""
        match event:
            case ScheduleTick(due=due, run=run, buffered=buffered):
                n = self._tick(due)
                if not self.ticks.add(n):
                    self._problem("schedule tick reported twice", f"tick {n} (accepted)")
                self.accepted += 1
                if run != self.max_run + 1:
                    self._problem("schedule run numbers not consecutive", f"{self.max_run}->{run}")
                self.max_run = max(self.max_run, run)
                self._runs[run] = "buffered" if buffered else "accepted"
                if buffered:
                    self._buffered[n] = run
            case ScheduleSkipped(due=due, reason="stopped"):
                run = self._buffered.pop(self._tick(due), None)
                if run is None or self._runs.pop(run, None) is None:
                    self._problem("ScheduleSkipped('stopped') for no buffered run", f"due {due}")
                else:
                    self.dropped += 1
            case ScheduleSkipped(due=due, reason=reason):
                n = self._tick(due)
                if not self.ticks.add(n):
                    self._problem("schedule tick reported twice", f"tick {n} ({reason})")
            case ScheduleMissed(due=due, count=count):
                first = self._tick(due)
                for n in range(first, first + count):
                    if not self.ticks.add(n):
                        self._problem("schedule tick reported twice", f"tick {n} (missed)")
            case ScheduleRunStarted(due=due, run=run):
                state = self._runs.get(run)
                if state is None or state == "started":
                    self._problem("ScheduleRunStarted for a run not waiting to start", f"run {run}")
                    return
                if state == "buffered":
                    self._buffered.pop(self._tick(due), None)
                self._runs[run] = "started"
                self.started += 1
            case (
                ScheduleRunFinished()
                | ScheduleRunFailed()
                | ScheduleRunTimedOut()
                | (ScheduleRunCancelled())
            ):
                if self._runs.pop(event.run, None) is None:
                    kind = type(event).__name__
                    self._problem("schedule run outcome for no open run", f"{kind} run {event.run}")
                else:
                    self.outcomes[type(event).__name__] += 1
            case ScheduleEnded():
                self.ended += 1

    def open_runs(self) -> int:
        """Accepted runs without an outcome (or a reported drop) yet."""
        return len(self._runs)

    def close(self, consumed: int, stopped_at: float, margin: float) -> tuple[int, int, int, int]:
        """Check the books once the schedule was removed and drained.

        Args:
            consumed: the ticks the scheduler consumed (from its next due tick at removal).
            stopped_at: trio time of the removal.
            margin: ticks due within this many seconds before the removal may be unconsumed.

        Returns:
            (ticks due, ticks lost, runs accepted, runs lost).
        """
        lost_ticks = self.ticks.missing(consumed)
        if lost_ticks:
            self._problem("due ticks consumed but never reported", f"{lost_ticks} of {consumed}")
        beyond = self.ticks.beyond(consumed)
        if beyond:
            self._problem("ticks reported beyond those consumed", f"{beyond} after {consumed}")
        due = max(0, math.floor((stopped_at - margin - self.anchor) / self.period))
        if consumed < due:
            self._problem("due ticks the scheduler never consumed", f"{due - consumed} of {due}")
            lost_ticks += due - consumed
        states = Counter(self._runs.values())
        for state, count in states.items():
            what = {
                "buffered": "accepted tick waiting in the buffer never ran nor was reported",
                "accepted": "accepted tick never started",
                "started": "schedule run started with no outcome event",
            }[state]
            self._problem(what, f"{count} runs ({self.kind} job)")
        if self.ended != 1:
            self._problem("schedule did not end with exactly one ScheduleEnded", f"{self.ended}")
        cut = self.outcomes["ScheduleRunCancelled"] + self.outcomes["ScheduleRunTimedOut"]
        if self.kind != "workflow" and not self.started - cut <= self.calls <= self.started:
            # A run cancelled before its job was called (a thread job waiting for a thread)
            # started without a call; a call without ScheduleRunStarted is never right.
            self._problem(
                "schedule job calls do not match ScheduleRunStarted events",
                f"{self.calls} calls, {self.started} started, {cut} cancelled or timed out",
            )
        return max(consumed, due), lost_ticks, self.accepted, len(self._runs)

"""The soak's books (W11): every item it starts, what the runtime reported, and what was lost.

The ledger is fed from two sides: the load records what it did (a side effect, an undo, a job
returning, a message handled) and ``on_event`` receives every runtime event. An item is
*closed* once both sides agree it ended: then it is checked (exactly one outcome, the outcome
its plan allows, one undo per completed undoable step of a failed or cancelled run...) and
forgotten, so the books stay small however long the soak runs and do not pollute its RSS
figures. What is still open at the end of the drain is lost.

Counted items: runs (each with exactly one outcome and one ``RunFinished``), undos (each
completed undoable step of a failed or cancelled run undone exactly once, none of a run that
succeeded), jobs (each with one ``TaskStarted`` and one terminal event matching what the job
did), schedule ticks and schedule runs (``_soak_ticks``), messages (each tell handled, or
dropped with an incarnation that ended; each ask answered or failed with a clear error) and
the worker actors themselves (still reachable by name at the end).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from typing import TYPE_CHECKING, Any

import attrs

from arborist.actors import ActorDeadError, ActorDiedError, AskTimeoutError, Normal
from arborist.runtime import (
    RunFinished,
    RunStarted,
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
from arborist.supervision import TaskCancelled, TaskFailed, TaskFinished, TaskStarted
from benchmarks._soak_ticks import ScheduleBook

if TYPE_CHECKING:
    from arborist.actors import ActorRef
    from benchmarks._soak_load import Plan

__all__ = ["CLEAR_ASK_ERRORS", "Ledger", "Problems", "Tally"]

EXAMPLES = 3
"""Examples kept per kind of problem."""
RECENTLY_CLOSED = 20_000
"""Closed run ids remembered, to recognise a side effect that lands after its run ended."""
CLEAR_ASK_ERRORS = (ActorDiedError, ActorDeadError, AskTimeoutError, LookupError)
"""What an ask may fail with while actors crash and restart (LookupError: name not yet back)."""


@attrs.frozen
class Tally:
    """Items of one kind: started, closed with an outcome, lost (no outcome); and a note."""

    started: int
    finished: int
    lost: int
    note: str = ""

    def __str__(self) -> str:
        text = f"{self.started:,} started, {self.finished:,} finished, {self.lost:,} lost"
        return f"{text} ({self.note})" if self.note else text


class Problems:
    """Counted anomalies by kind, with the first few examples of each."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}

    def add(self, kind: str, example: str = "", n: int = 1) -> None:
        """Count ``n`` occurrences of ``kind``; keep ``example`` among the first few."""
        self.counts[kind] += n
        if example:
            kept = self.examples.setdefault(kind, [])
            if len(kept) < EXAMPLES:
                kept.append(example)

    def lines(self) -> list[str]:
        """One line per kind: count, kind and examples, most frequent first."""
        return [
            f"{count:,} x {kind}"
            + (f" (e.g. {'; '.join(self.examples[kind])})" if kind in self.examples else "")
            for kind, count in self.counts.most_common()
        ]


@attrs.define(eq=False)
class _Run:
    run_id: str
    workflow: str = ""
    plan: Plan | None = None
    """Set for runs the driver started (they have a handle and an outcome)."""
    cancelled: bool = False
    outcome: str | None = None
    started_events: int = 0
    finished_events: int = 0
    finished_ok: bool | None = None
    parent: str | None = None
    parent_failed: bool | None = None
    """For a child run: whether its parent failed or was cancelled, once the parent closed."""
    children: list[str] = attrs.field(factory=list)
    effects: dict[str, list[int]] = attrs.field(factory=dict)
    """Undoable step -> [times its side effect was applied, times it was undone]."""


@attrs.define(eq=False)
class _Job:
    token: int | None = None
    fail: bool = False
    ran: str | None = None
    started: int = 0
    ends: list[str] = attrs.field(factory=list)


class Ledger:
    """The soak's books. Thread-safe where the load calls it from worker threads."""

    def __init__(self) -> None:
        self.problems = Problems()
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._closed: OrderedDict[str, None] = OrderedDict()
        self.runs_started = self.runs_closed = self.runs_refused = 0
        self.undo_expected = self.undo_ran = 0
        self._jobs: dict[int, _Job] = {}
        self._job_of_token: dict[int, int] = {}
        self.jobs_started = self.jobs_closed = self.jobs_refused = 0
        self.schedules: dict[str, ScheduleBook] = {}
        self._incarnations: dict[int, list[Any]] = {}  # ref id -> [ref, told, handled]
        self.tells_refused: Counter[str] = Counter()
        self.asks_sent = self.asks_answered = self.asks_open = 0
        self.ask_errors: Counter[str] = Counter()

    # -- runs ----------------------------------------------------------------------------------

    def _run(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            run = self._runs[run_id] = _Run(run_id)
        return run

    def run_started(self, run_id: str, plan: Plan) -> None:
        """The driver started ``run_id`` with ``plan`` (its RunStarted came already)."""
        with self._lock:
            self._run(run_id).plan = plan

    def run_refused(self, error: BaseException) -> None:
        """``rt.start`` raised: the run was refused at the call (nothing to lose)."""
        self.runs_refused += 1
        self.problems.add("run refused by rt.start (the runtime should accept it)", repr(error))

    def run_cancel_requested(self, run_id: str) -> None:
        """The driver called ``handle.cancel()`` on ``run_id``."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None:
                run.cancelled = True

    def run_outcome(self, run_id: str, outcome: str) -> None:
        """The driver's ``await handle.result()`` returned (``"ok"``) or raised (its kind)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                self.problems.add("outcome for a run already closed (two outcomes?)", run_id)
                return
            run.outcome = outcome
            self._try_close(run)

    def link(self, child: str, parent: str) -> None:
        """``child`` is a child run started by a step of ``parent`` (``ctx.run``)."""
        with self._lock:
            run = self._run(child)
            run.parent = parent
            parent_run = self._runs.get(parent)
            if parent_run is not None:
                parent_run.children.append(child)

    def apply(self, run_id: str, step: str) -> tuple[str, str]:
        """An undoable step of ``run_id`` applied its side effect; returns its undo key."""
        with self._lock:
            if run_id in self._closed:
                # Only a failed or cancelled run can end before a step's effect: it is owed
                # an undo that can no longer run.
                self.undo_expected += 1
                self.problems.add(
                    "side effect applied after its run had ended (never undone)",
                    f"{run_id}/{step}",
                )
            else:
                self._run(run_id).effects.setdefault(step, [0, 0])[0] += 1
        return run_id, step

    def undo(self, key: tuple[str, str]) -> None:
        """The undo of the step ``key`` ran."""
        run_id, step = key
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                self.problems.add("undo ran after its run had closed", f"{run_id}/{step}")
                return
            run.effects.setdefault(step, [0, 0])[1] += 1

    def _on_run_event(self, event: RunStarted | RunFinished) -> None:
        with self._lock:
            if event.run_id in self._closed:
                self.problems.add(f"{type(event).__name__} after the run had closed", event.run_id)
                return
            run = self._run(event.run_id)
            run.workflow = event.workflow
            if isinstance(event, RunStarted):
                run.started_events += 1
                self.runs_started += 1
            else:
                run.finished_events += 1
                run.finished_ok = event.ok
                self._try_close(run)

    def _try_close(self, run: _Run) -> None:
        if run.finished_events == 0:
            return
        if run.plan is not None:
            if run.outcome is None:
                return
            self._close(run, failed=run.outcome != "ok")
            for child_id in run.children:
                child = self._runs.get(child_id)
                if child is not None:
                    child.parent_failed = run.outcome != "ok"
                    self._try_close(child)
        elif run.parent is not None:
            if run.parent_failed is None:
                return
            self._close(run, failed=run.parent_failed or not run.finished_ok)
        else:
            self._close(run, failed=not run.finished_ok)

    def _close(self, run: _Run, *, failed: bool) -> None:
        del self._runs[run.run_id]
        self._closed[run.run_id] = None
        if len(self._closed) > RECENTLY_CLOSED:
            self._closed.popitem(last=False)
        self.runs_closed += 1
        label = f"{run.workflow} {run.run_id}"
        if run.started_events != 1 or run.finished_events != 1:
            self.problems.add(
                "run with RunStarted/RunFinished not exactly once each",
                f"{label}: {run.started_events}/{run.finished_events}",
            )
        plan = run.plan
        if plan is not None:
            allowed = {"failed"} if plan.fails else {"ok"}
            if run.cancelled:
                allowed.add("cancelled")
            if run.outcome not in allowed:
                self.problems.add(
                    f"{plan.shape} run ended {run.outcome!r}, expected one of {sorted(allowed)}",
                    f"{label} {plan}",
                )
            if run.finished_ok != (run.outcome == "ok"):
                self.problems.add(
                    "RunFinished.ok disagrees with the run's outcome",
                    f"{label}: ok={run.finished_ok}, outcome {run.outcome!r}",
                )
        for step, (applied, undone) in run.effects.items():
            if applied > 1:
                self.problems.add("side effect applied twice", f"{label}/{step}")
            expected = applied if failed else 0
            self.undo_expected += expected
            self.undo_ran += min(undone, expected)
            if undone < expected:
                shown = f"{label}/{step}" + (f" {plan}" if plan is not None else "")
                self.problems.add(
                    "completed undoable step of a failed/cancelled run not undone", shown
                )
            elif undone > expected:
                why = "twice" if failed else "for a run that succeeded"
                self.problems.add(f"undo ran {why}", f"{label}/{step}")

    def open_runs(self) -> list[tuple[str, str, Plan | None, bool, str | None, int]]:
        """The runs not closed: (run id, workflow, plan, cancelled, outcome, RunFinished count)."""
        with self._lock:
            return [
                (r.run_id, r.workflow, r.plan, r.cancelled, r.outcome, r.finished_events)
                for r in self._runs.values()
            ]

    # -- jobs ----------------------------------------------------------------------------------

    def job_fired(self, job_id: int, token: int, fail: bool) -> None:
        """``rt.fire_and_forget`` returned the job ``job_id`` for our job ``token``."""
        state = self._jobs.setdefault(job_id, _Job())
        state.token, state.fail = token, fail
        self._job_of_token[token] = job_id
        self.jobs_started += 1

    def job_refused(self, error: BaseException) -> None:
        """``rt.fire_and_forget`` raised (nothing to lose, but it should accept jobs)."""
        self.jobs_refused += 1
        self.problems.add("job refused by rt.fire_and_forget", repr(error))

    def job_ran(self, token: int, how: str) -> None:
        """Our job ``token`` is about to return (``"returned"``) or raise (``"raised"``)."""
        job_id = self._job_of_token.get(token)
        if job_id is None:
            self.problems.add("job ran before fire_and_forget returned", str(token))
            return
        self._jobs[job_id].ran = how

    def _on_job_event(self, event: Any) -> None:
        state = self._jobs.setdefault(event.job.id, _Job())
        if isinstance(event, TaskStarted):
            state.started += 1
            return
        state.ends.append(type(event).__name__)
        self._close_job(event.job.id, state)

    def _close_job(self, job_id: int, state: _Job) -> None:
        if state.token is None:
            return  # not one of ours
        del self._jobs[job_id]
        self._job_of_token.pop(state.token, None)
        self.jobs_closed += 1
        label = f"job {job_id}"
        if state.started != 1 or len(state.ends) != 1:
            self.problems.add(
                "job without exactly one TaskStarted and one end event",
                f"{label}: {state.started} started, ends {state.ends}",
            )
        wanted = {"returned": "TaskFinished", "raised": "TaskFailed"}.get(state.ran or "")
        if state.ends[-1] != wanted:
            self.problems.add(
                "job's end event disagrees with what it did",
                f"{label} {state.ran}, reported {state.ends}",
            )

    def open_jobs(self) -> int:
        """Our jobs without both their own record and an end event."""
        return sum(1 for state in self._jobs.values() if state.token is not None)

    # -- schedules -----------------------------------------------------------------------------

    def add_schedule(self, book: ScheduleBook) -> None:
        """Account for the schedule ``book.name`` from now on."""
        self.schedules[book.name] = book

    def schedule_job_called(self, name: str) -> None:
        """A schedule's job function was called."""
        self.schedules[name].job_called()

    # -- messages ------------------------------------------------------------------------------

    def tell_sent(self, ref: ActorRef) -> None:
        """A ``Tell`` was queued for the incarnation ``ref``."""
        entry = self._incarnations.get(ref.id)
        if entry is None:
            self._forget_ended_refs()
            entry = self._incarnations[ref.id] = [ref, 0, 0]
        entry[1] += 1

    def _forget_ended_refs(self) -> None:
        """Keep only what the books need of incarnations that ended (not their refs).

        A dead ``ActorRef`` keeps its cell, and with it the actor, its task and its crash's
        traceback: holding one per incarnation for the whole soak would be the books' own leak.
        """
        for entry in self._incarnations.values():
            ref = entry[0]
            if not isinstance(ref, _Ended) and not ref.is_alive:
                entry[0] = _Ended(repr(ref), isinstance(ref.exit_reason, Normal))

    def tell_refused(self, error: BaseException) -> None:
        """A tell raised at the call (the actor was dead or its name not registered)."""
        self.tells_refused[type(error).__name__] += 1

    def tell_handled(self, ref_id: int) -> None:
        """The incarnation ``ref_id`` handled a ``Tell``."""
        entry = self._incarnations.get(ref_id)
        if entry is None:
            self.problems.add("a worker handled a tell nobody sent", str(ref_id))
            return
        entry[2] += 1

    def ask_done(self, seq: int, reply: Any, error: BaseException | None) -> None:
        """An ask ended: ``reply`` or ``error``."""
        self.asks_open -= 1
        if error is None:
            if reply == seq:
                self.asks_answered += 1
            else:
                self.problems.add("ask answered with the wrong reply", f"{seq} -> {reply!r}")
        elif isinstance(error, CLEAR_ASK_ERRORS):
            self.ask_errors[type(error).__name__] += 1
        else:
            self.problems.add("ask failed with an unclear error", repr(error))

    def tells_pending(self) -> int:
        """Tells queued for incarnations that are alive and have not handled them yet."""
        return sum(
            told - handled for ref, told, handled in self._incarnations.values() if ref.is_alive
        )

    def tell_tally(self) -> tuple[int, int, int, int]:
        """(told, handled, dropped with their incarnation, lost).

        An incarnation that crashed, was killed or was shut down drops its queued messages by
        design (let it crash; ``shutdown`` does not handle queued messages). Lost are the tells
        an incarnation still alive after the drain never handled, or one that stopped normally.
        """
        told = handled = dropped = lost = 0
        for ref, sent, done in self._incarnations.values():
            told += sent
            handled += done
            missing = sent - done
            if missing and not ref.is_alive and not _normal(ref):
                dropped += missing
            elif missing:
                lost += missing
                self.problems.add(
                    "tells queued for an incarnation that never handled them",
                    f"{missing} to {ref!r}",
                )
        return told, handled, dropped, lost

    # -- events --------------------------------------------------------------------------------

    def on_event(self, event: Any) -> None:
        """Runtime subscriber: route each event to the books it concerns."""
        if isinstance(event, RunStarted | RunFinished):
            self._on_run_event(event)
        elif isinstance(event, TaskStarted | TaskFinished | TaskFailed | TaskCancelled):
            self._on_job_event(event)
        elif isinstance(event, _SCHEDULE_EVENTS):
            book = self.schedules.get(event.schedule)
            if book is not None:
                book.on_event(event)


_SCHEDULE_EVENTS = (
    ScheduleTick,
    ScheduleSkipped,
    ScheduleMissed,
    ScheduleRunStarted,
    ScheduleRunFinished,
    ScheduleRunFailed,
    ScheduleRunTimedOut,
    ScheduleRunCancelled,
    ScheduleEnded,
)


@attrs.frozen
class _Ended:
    """What the books keep of an incarnation that ended: its repr and whether it was normal."""

    label: str
    normal: bool
    is_alive: bool = False

    def __repr__(self) -> str:
        return self.label


def _normal(ref: ActorRef | _Ended) -> bool:
    return ref.normal if isinstance(ref, _Ended) else isinstance(ref.exit_reason, Normal)

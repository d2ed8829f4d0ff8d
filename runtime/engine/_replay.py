"""Rebuilding a durable run from its journal: the state its coordinator resumes from.

``rebuild(plan, journal)`` reads a run's journal (``RunJournal``, loaded from the store) and
returns a ``Resumed``: the ``HaltedRun`` shape the coordinator already resumes from (resolved
steps, the results still needed, the undo log with its functions looked up by step name) plus
what only a crash leaves behind. Nothing is re-evaluated: a journaled result, skip or failure
stands; only steps without a final row are dispatched again.

- A step's rows are its tries, in order. Its attempt (what ``ctx.attempt`` says) starts at 1
  and grows by one after each try that failed with a retry planned or was interrupted; a try
  that returned ``Again`` counts towards ``max_again`` instead. The last row says where the
  step is: ``ok`` (completed: its result comes from the journal), ``skipped``, ``failed``
  (final, or waiting until ``wait_until`` for its retry), ``again`` (waiting), ``halted``, or
  ``started``/``cancelled``/``interrupted``: the try was cut by the crash, and the step's
  ``on_resume`` decides: ``"retry"`` dispatches it again (its next try continues the cut
  one's child runs and map elements), ``"fail"`` fails it with ``StepInterruptedError``,
  ``"halt"`` halts the run.
- Waits are deadlines on the wall clock; the coordinator re-arms them on trio's clock.
- A run that was stopping (``rolling_back``, or a final failure of a step nothing takes as an
  outcome) stops again: nothing is dispatched, the undo entries still ``pending`` are rolled
  back, newest first; those ``undone`` or ``failed`` are not run again.
- Arguments are not stored: a step's (and an undo's) arguments are rebuilt from the
  journaled results of the steps it takes, which are the values it ran with.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import outcome
import trio

from ..store import AttemptStatus, RecordedError, RunStatus, UndoStatus
from ._durable_errors import RunNeedsAttentionError, StepInterruptedError
from ._errors import (
    StepSkippedError,
    WorkflowCancelledError,
    WorkflowFailedError,
    WorkflowHaltedError,
)
from ._journal import CANCELLING
from ._messages import Redispatch
from ._saga import HaltedRun, UndoEntry

if TYPE_CHECKING:
    from ..store import AttemptRow, RunJournal
    from ..workflow._planner import Plan
    from ..workflow._step import Step
    from ._coordinator import Coordinator
    from ._step_runner import StepRunner

__all__ = ["Resumed", "rebuild", "restore", "stored_outcome"]

_CUT = (AttemptStatus.STARTED, AttemptStatus.INTERRUPTED, AttemptStatus.CANCELLED)


@attrs.frozen
class Resumed:
    """A durable run's state rebuilt from its journal (see the module docstring).

    Attributes:
        state: resolved steps, needed results, pending undo entries, inputs and options.
        attempts: the attempt each step dispatched next runs as (absent: 1).
        tries: the last journal try of each step that has one.
        key_tries: for steps re-run after a cut try, the first try of that cut chain (their
            child runs and journaled map elements are found again under it).
        again: how many times each step returned ``Again``.
        waits: steps waiting for a retry or ``Again``: (attempt, wall-clock deadline).
        interrupted: steps marked ``on_resume="fail"`` that were cut: their attempt.
        cut: every step whose last try was cut (journaled as ``interrupted`` on resume).
        reran: steps marked ``on_resume="retry"`` that were cut (dispatched again).
        halt: (step, reason) when the run halts as it resumes, else None.
        failure: (step, error) when the run was failing, else None.
        cancelled: whether the run was being cancelled.
        completed: the steps that completed, in completion order.
        failed, skipped, undone, undo_errors: the fates so far, for the run's final error.
        undo_seqs: the journal seq of each entry of ``state.undo_log``.
        next_seq: the next free undo seq.
        elements: per map step, element results its next try need not compute again.
    """

    state: HaltedRun
    attempts: Mapping[str, int]
    tries: Mapping[str, int]
    key_tries: Mapping[str, int]
    again: Mapping[str, int]
    waits: Mapping[str, tuple[int, float]]
    interrupted: Mapping[str, int]
    cut: tuple[str, ...]
    reran: tuple[str, ...]
    halt: tuple[str, str] | None
    failure: tuple[str, BaseException] | None
    cancelled: bool
    completed: tuple[str, ...]
    failed: tuple[str, ...]
    skipped: tuple[str, ...]
    undone: tuple[str, ...]
    undo_errors: tuple[tuple[str, BaseException], ...]
    undo_seqs: tuple[int, ...]
    next_seq: int
    elements: Mapping[str, Mapping[int, Any]]


def _recorded(plan: Plan, journal: RunJournal) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per resolved step, what a consumer receives; per completed step, its raw result.

    The first is wrapped as the run's graph keeps it (failures and skips as
    ``outcome.Error``); the second is what the step's undo receives.
    """
    recorded: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    tolerant = {p for deps in plan.outcome_dependencies.values() for p in deps}
    for (name, element), row in journal.latest().items():
        if element != -1 or name not in plan.workflow.steps:
            continue
        if row.status is AttemptStatus.OK:
            raw[name] = row.result
            value = row.result
            recorded[name] = outcome.Value(value) if isinstance(value, outcome.Outcome) else value
        elif row.status is AttemptStatus.SKIPPED:
            because = row.reason[6:] if row.reason and row.reason.startswith("needs ") else None
            recorded[name] = outcome.Error(StepSkippedError(name, because))
        elif (
            row.status is AttemptStatus.FAILED
            and row.wait_until is None
            and name in tolerant
            and name != plan.returns
        ):
            error = row.error if row.error is not None else RecordedError("Exception", "")
            recorded[name] = outcome.Error(error)
    return recorded, raw


def _arguments(
    plan: Plan, name: str, inputs: Mapping[str, Any], recorded: Mapping[str, Any]
) -> dict[str, Any]:
    """The arguments ``name`` ran with, rebuilt from the inputs and the journaled results."""
    step = plan.step(name)
    kwargs = plan.arguments_for(name, inputs, recorded)
    return {k: v for k, v in kwargs.items() if k not in step.guard_only}


def _walk(rows: list[AttemptRow]) -> tuple[int, int, int]:
    """(attempt of the last try, Again count before it, first try of its cut chain)."""
    attempt, again = 1, 0
    for row in rows[:-1]:
        if row.status is AttemptStatus.FAILED and row.wait_until is not None:
            attempt += 1
        elif row.status is AttemptStatus.AGAIN:
            again += 1
        elif row.status in _CUT:
            attempt += 1
    base = rows[-1].attempt
    for row in reversed(rows):
        if row.status not in _CUT:
            break
        base = row.attempt
    return attempt, again, base


class _Steps:
    """The fates of a run's steps, read from their journal rows one step at a time."""

    def __init__(self, recorded: Mapping[str, Any], created: float) -> None:
        self.recorded = recorded
        self.created = created
        self.attempts: dict[str, int] = {}
        self.tries: dict[str, int] = {}
        self.key_tries: dict[str, int] = {}
        self.again: dict[str, int] = {}
        self.waits: dict[str, tuple[int, float]] = {}
        self.interrupted: dict[str, int] = {}
        self.reran: list[str] = []
        self.cut: list[str] = []
        self.halts: list[tuple[float, str, str]] = []
        self.finals: list[tuple[float, str, BaseException]] = []
        self.completed: list[tuple[float, str]] = []
        self.failed: list[str] = []
        self.skipped: list[str] = []

    def read(self, step: Step, rows: list[AttemptRow]) -> None:
        """Where ``step`` is, from its rows (tries, in order)."""
        name, last = step.name, rows[-1]
        self.tries[name] = last.attempt
        attempt, self.again[name], base = _walk(rows)
        status = last.status
        stamp = last.finished_at or last.started_at
        when = stamp.timestamp() if stamp is not None else self.created
        if status is AttemptStatus.OK:
            self.completed.append((when, name))
        elif status is AttemptStatus.SKIPPED:
            self.skipped.append(name)
        elif status is AttemptStatus.FAILED:
            self._failed(name, last, attempt, when)
        elif status is AttemptStatus.AGAIN:
            self.again[name] += 1
            self.attempts[name] = attempt
            if last.wait_until is not None:
                self.waits[name] = (attempt, last.wait_until.timestamp())
        elif status is AttemptStatus.HALTED:
            self.attempts[name] = attempt
            self.halts.append((when, name, last.reason or "no reason given"))
        else:
            self._cut(step, attempt, base, when)

    def _failed(self, name: str, last: AttemptRow, attempt: int, when: float) -> None:
        if last.wait_until is not None:  # a retry is planned
            self.attempts[name] = attempt + 1
            self.waits[name] = (attempt + 1, last.wait_until.timestamp())
            return
        self.failed.append(name)
        if name not in self.recorded:  # not a failure some step takes as an outcome
            error = last.error if last.error is not None else RecordedError("Exception", "")
            self.finals.append((when, name, error))

    def _cut(self, step: Step, attempt: int, base: int, when: float) -> None:
        """The try was cut by the crash: the step's ``on_resume`` decides."""
        name = step.name
        self.cut.append(name)
        if step.on_resume == "fail":
            self.interrupted[name] = attempt
        elif step.on_resume == "halt":
            self.attempts[name] = attempt + 1
            reason = f"step {name!r} was running when its process died (on_resume='halt')"
            self.halts.append((when, name, reason))
        else:
            self.attempts[name] = attempt + 1
            self.key_tries[name] = base
            self.reran.append(name)


def _needed(plan: Plan, recorded: Mapping[str, Any], done: set[str]) -> dict[str, Any]:
    """The recorded results a step still to run takes, the returned one, and every failure."""
    return {
        name: value
        for name, value in recorded.items()
        if isinstance(value, outcome.Error)
        or name == plan.returns
        or any(
            dependent not in done
            and (name in plan.value_dependencies[dependent]
                 or name in plan.outcome_dependencies[dependent])
            for dependent in plan.dependents[name]
        )
    }  # fmt: skip


def rebuild(
    plan: Plan,
    journal: RunJournal,
    *,
    children: Mapping[str, tuple[Plan, RunJournal]] | None = None,
) -> Resumed:
    """Rebuild a run's state from its journal (see the module docstring).

    Args:
        plan: the run's workflow plan (its hash was checked by the caller).
        journal: the run's journal.
        children: the plans and journals of the child runs its undo log names.

    Raises:
        KeyError: the undo log names a child run missing from ``children``.
    """
    run = journal.run
    recorded, raw = _recorded(plan, journal)
    rows: dict[str, list[AttemptRow]] = {}
    elements: dict[str, list[AttemptRow]] = {}
    for row in journal.attempts:
        if row.step in plan.workflow.steps:
            (rows if row.element == -1 else elements).setdefault(row.step, []).append(row)
    steps = _Steps(recorded, run.created_at.timestamp())
    for name, step_rows in rows.items():
        steps.read(plan.step(name), step_rows)
    stopping = run.status is RunStatus.ROLLING_BACK
    failure = None
    if steps.finals and not (stopping and run.message == CANCELLING):
        _, step_name, error = min(steps.finals, key=lambda item: item[0])
        failure = (step_name, error)
    halt = None
    if steps.halts and run.status is not RunStatus.HALTED:  # resuming a halt lifts it
        _, step_name, reason = min(steps.halts)
        halt = (step_name, reason)
    order = [name for _, name in sorted(steps.completed)]
    done = set(order) | set(steps.skipped) | set(recorded)
    entries, seqs, undone, undo_errors = _undo_log(plan, journal, recorded, raw, children or {})
    state = HaltedRun(
        workflow=plan.workflow,
        run_id=run.run_id,
        inputs=dict(journal.inputs or {}),
        completed=tuple(dict.fromkeys([*order, *steps.skipped, *recorded])),
        results=_needed(plan, recorded, done),
        pending={},
        undo_log=tuple(entries),
        halted_by=halt[0] if halt else "",
        reason=halt[1] if halt else "",
        options={key: value for key, value in run.options.items() if key != "plan"},
    )
    element_results = {
        name: {r.element: r.result for r in elements[name]
               if r.status is AttemptStatus.OK and r.attempt >= steps.key_tries[name]}
        for name in steps.reran
        if name in elements
    }  # fmt: skip
    return Resumed(
        state=state,
        attempts=steps.attempts,
        tries=steps.tries,
        key_tries=steps.key_tries,
        again=steps.again,
        waits=steps.waits,
        interrupted=steps.interrupted,
        cut=tuple(steps.cut),
        reran=tuple(steps.reran),
        halt=halt,
        failure=failure,
        cancelled=stopping and failure is None,
        completed=tuple(order),
        failed=tuple(steps.failed),
        skipped=tuple(steps.skipped),
        undone=tuple(undone),
        undo_errors=tuple(undo_errors),
        undo_seqs=tuple(seqs),
        next_seq=max((row.seq for row in journal.undo), default=-1) + 1,
        elements=element_results,
    )


def _undo_log(
    plan: Plan,
    journal: RunJournal,
    recorded: Mapping[str, Any],
    raw: Mapping[str, Any],
    children: Mapping[str, tuple[Plan, RunJournal]],
) -> tuple[list[UndoEntry], list[int], list[str], list[tuple[str, BaseException]]]:
    """The pending undo entries (functions looked up by step), their seqs, and the fates."""
    entries: list[UndoEntry] = []
    seqs: list[int] = []
    undone: list[str] = []
    errors: list[tuple[str, BaseException]] = []
    child_state: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for row in journal.undo:
        if row.status is UndoStatus.UNDONE:
            undone.append(row.step)
            continue
        if row.status is UndoStatus.FAILED:
            errors.append((row.step, row.error or RecordedError("Exception", "")))
            continue
        if row.child_run_id is None:
            owner_plan, inputs, owner_recorded, owner_raw = plan, journal.inputs, recorded, raw
            name, run_id = row.step, journal.run.run_id
        else:
            owner_plan, child = children[row.child_run_id]
            if row.child_run_id not in child_state:
                child_state[row.child_run_id] = _recorded(owner_plan, child)
            owner_recorded, owner_raw = child_state[row.child_run_id]
            inputs, name, run_id = child.inputs, row.step.rsplit("/", 1)[-1], row.child_run_id
        entries.append(
            UndoEntry(
                row.step,
                owner_plan.step(name).undo_fn,
                owner_raw.get(name),
                _arguments(owner_plan, name, inputs or {}, owner_recorded),
                (),
                run_id,
            )
        )
        seqs.append(row.seq)
    return entries, seqs, undone, errors


async def _report_interrupted(runner: StepRunner, step: Step, attempt: int, start: float) -> None:
    """An ``on_resume="fail"`` step that was cut: fail it through its ``@compensate``."""
    error = StepInterruptedError(step.name, attempt, runner.run_id)
    runner.report(await runner.compensate(step, attempt, start, error, None))


def restore(coordinator: Coordinator, resumed: Resumed) -> None:
    """Put a coordinator whose graph started from ``resumed.state`` where its journal was."""
    co = coordinator
    journal = co._journal
    ledger = co._ledger
    ledger.completed[:] = resumed.completed
    ledger.failed.extend(resumed.failed)
    ledger.skipped.extend(resumed.skipped)
    ledger.undone.extend(resumed.undone)
    ledger.undo_errors.extend(resumed.undo_errors)
    co._again.update(resumed.again)
    if journal is not None:
        journal.restore(
            tries=dict(resumed.tries),
            key_tries=dict(resumed.key_tries),
            elements={name: dict(found) for name, found in resumed.elements.items()},
            next_seq=resumed.next_seq,
        )
        journal.adopt_undo(list(resumed.state.undo_log), list(resumed.undo_seqs))
        reran = set(resumed.reran) if resumed.failure is None and not resumed.cancelled else ()
        for name in resumed.cut:
            journal.interrupted(name, later=name in reran and resumed.halt is None)
    graph = co._graph
    if resumed.failure is not None or resumed.cancelled:
        co._failure = resumed.failure
        co._cancel_everything()  # nothing runs: the undo log rolls back
        return
    if resumed.halt is not None:
        graph.ready.clear()
        co._halt = resumed.halt
        if journal is not None:
            journal.halted(*resumed.halt)
        return
    held = set(resumed.waits) | set(resumed.interrupted)
    graph.ready[:] = [item for item in graph.ready if item[1] not in held]
    heapq.heapify(graph.ready)
    wall_now = journal._wall() if journal is not None else 0.0
    for name, (attempt, deadline) in resumed.waits.items():
        co._waits[name] = co.send_after(max(0.0, deadline - wall_now), Redispatch(name, attempt))
    now = trio.current_time()
    for name, attempt in resumed.interrupted.items():
        co._running[name] = now
        co._steps.start_soon(_report_interrupted, co._runner, co._plan.step(name), attempt, now)


def stored_outcome(plan: Plan | None, journal: RunJournal) -> tuple[Any, BaseException | None]:
    """What ``handle.result()`` gives for a run that is not running: (value, error).

    A succeeded run gives its stored result; a failed or cancelled one the error it ended
    with, rebuilt from its journal (``WorkflowFailedError`` naming the step and chaining its
    stored exception, ``WorkflowCancelledError``); a halted one ``WorkflowHaltedError`` (its
    state resumes it: ``rt.resume(run_id)``) when ``plan`` is known; otherwise, and for a run
    that needs attention, ``RunNeedsAttentionError`` with the reason.
    """
    run = journal.run
    if run.status is RunStatus.SUCCEEDED:
        return journal.result, None
    if plan is not None and run.status in (RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.HALTED):
        resumed = rebuild(plan, journal)
        fates: dict[str, Any] = {
            "workflow": run.workflow,
            "run_id": run.run_id,
            "completed": resumed.completed,
            "undone": resumed.undone,
            "undo_errors": resumed.undo_errors,
        }
        if run.status is RunStatus.HALTED:
            halted = [r for r in journal.attempts if r.status is AttemptStatus.HALTED]
            step, reason = (halted[-1].step, halted[-1].reason or "") if halted else ("", "")
            state = attrs.evolve(resumed.state, halted_by=step, reason=reason)
            return None, WorkflowHaltedError(state)
        if run.status is RunStatus.FAILED and resumed.failure is not None:
            step, cause = resumed.failure
            return None, WorkflowFailedError(
                step=step, cause=cause, failed=resumed.failed, cancelled=(),
                skipped=resumed.skipped, **fates,
            )  # fmt: skip
        if run.status is RunStatus.CANCELLED:
            return None, WorkflowCancelledError(cancelled=(), **fates)
    reason = run.message or run.error or f"it is {run.status.value}"
    if run.status is RunStatus.HALTED:
        reason = f"{reason}; its workflow is not registered here to resume it"
    return None, RunNeedsAttentionError(run.run_id, run.workflow, reason)

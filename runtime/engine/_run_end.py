"""How a run ends: fail-fast, rollback, halt, success, or suspension (the coordinator's base).

``RunEnding`` holds the second half of the coordinator's algorithm (see ``_coordinator``):
once a run stops dispatching, it waits for the steps in flight (and, in a durable run, for
what it journaled), rolls back the undo log when it failed or was cancelled, and settles the
run's handle once with its value or its one error. A durable run's outcome is journaled
before the handle is settled; a durable run cut by its runtime's shutdown is *suspended*:
it stops without rolling back and without journaling, and resumes in the next runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import outcome
import trio

from arborist.actors import Actor, TimerHandle

from ._durable_errors import RunSuspendedError
from ._errors import WorkflowHaltedError
from ._events import StepUndoFailed, StepUndone
from ._messages import RolledBack
from ._run_log import announce_finished
from ._saga import HaltedRun, UndoEntry, rollback

if TYPE_CHECKING:
    from arborist.supervision._events import EventBus

    from ..workflow._planner import Plan
    from ._graph import RunGraph
    from ._handle import RunHandle
    from ._journal import Journal
    from ._ledger import RunLedger
    from ._services import ChildOf, RunServices

__all__ = ["RunEnding"]


class RunEnding(Actor):
    """The ending half of ``Coordinator`` (its state is the coordinator's; see there)."""

    _services: RunServices
    _plan: Plan
    _inputs: dict[str, Any]
    _options: dict[str, Any]
    _handle: RunHandle
    _events: EventBus[Any]
    _run_id: str
    _wf: str
    _returns: str | None
    _graph: RunGraph
    _ledger: RunLedger
    _journal: Journal | None
    _parent: ChildOf | None
    _tolerant: frozenset[str]
    _kwargs: dict[str, dict[str, Any]]
    _running: dict[str, float]
    _waits: dict[str, TimerHandle | None]
    _failure: tuple[str, BaseException] | None
    _halt: tuple[str, str] | None
    _stopping: bool
    _rollback: int
    _finished: bool
    _started: float
    _steps: trio.Nursery

    def _cancel_everything(self) -> None:
        """Fail fast: cancel steps in flight, drop pending waits and ready steps."""
        if self._stopping:
            return
        self._stopping = True
        if self._journal is not None:
            self._journal.stopping(failure=None if self._failure is None else self._failure[0])
        self._graph.ready.clear()
        for name, timer in list(self._waits.items()):
            if timer is not None:
                timer.cancel()
            self._ledger.cancelled.append(name)
        self._waits.clear()
        self._steps.cancel_scope.cancel()

    def _maybe_finish(self) -> None:
        if self._finished or self._running or self._rollback == 1:
            return
        if self._journal is not None and self._journal.pending:
            return  # a result, skip or outcome is not durable yet
        if self._stopping:
            if self._ledger.undo_log and self._rollback == 0:
                self._rollback = 1
                self.nursery.start_soon(self._roll_back)
                return
            self._end(None, self._stop_error())
        elif self._halt is not None:
            self._end(None, WorkflowHaltedError(self._halted_state()))
        elif self._graph.done:
            returns = self._returns
            value = None
            if returns is not None:
                value = self._graph.results.get(returns)
                if isinstance(value, outcome.Error):
                    # The returned step was skipped: no value to return. Fail the run naming
                    # it (the StepSkippedError says why) and roll back like any failure.
                    self._failure = (returns, value.error)
                    self._cancel_everything()
                    self._maybe_finish()
                    return
                if isinstance(value, outcome.Outcome):
                    value = value.unwrap()
            self._end(value, None)
        elif not self._graph.ready and not self._waits:
            raise RuntimeError(
                f"run {self._run_id} of {self._wf!r} is stuck: nothing ready, running or waiting"
            )

    async def _roll_back(self) -> None:
        ledger = self._ledger
        journal = self._journal

        def undone(entry: UndoEntry, duration: float, attempts: int) -> None:
            ledger.undone.append(entry.step)
            if journal is not None:
                journal.undo_done(entry, attempts, None)
            if self._events:
                self._events.emit(
                    StepUndone(self._run_id, self._wf, entry.step, trio.current_time(), duration)
                )

        def failed(entry: UndoEntry, error: BaseException, attempts: int) -> None:
            ledger.undo_errors.append((entry.step, error))
            if journal is not None:
                journal.undo_done(entry, attempts, error)
            if self._events:
                self._events.emit(
                    StepUndoFailed(self._run_id, self._wf, entry.step, trio.current_time(), error)
                )

        settle = journal.settle_undo if journal is not None else None
        await rollback(ledger.undo_log, self._services.thread_limiter, undone, failed, settle)
        self.ref.tell(RolledBack())

    def _stop_error(self) -> BaseException:
        if self._failure is not None:
            return self._ledger.failure(*self._failure)
        return self._ledger.cancellation()

    def _halted_state(self) -> HaltedRun:
        if self._halt is None:
            raise RuntimeError(f"run {self._run_id} did not halt")
        step, reason = self._halt
        for timer in self._waits.values():
            if timer is not None:
                timer.cancel()
        return self._ledger.halted(
            workflow=self._plan.workflow,
            inputs=self._inputs,
            tolerated=self._tolerated(),
            results=self._graph.results,
            pending=self._kwargs,
            halted_by=step,
            reason=reason,
            options=self._options,
        )

    def _tolerated(self) -> list[str]:
        return [name for name in self._ledger.failed if name in self._tolerant]

    def _end(self, value: Any, error: BaseException | None) -> None:
        self._finished = True
        if self._journal is not None:  # the handle is settled once the outcome is durable
            self._journal.finish(value, error, lambda: self._settle(value, error))
        else:
            self._settle(value, error)

    def _settle(self, value: Any, error: BaseException | None) -> None:
        if error is None:
            self._handle._undo_log = list(self._ledger.undo_log)
        self._graph.results.clear()
        self._handle._set(value, error)
        self._emit_finished(error)
        self.stop()

    def _suspend(self) -> None:
        """The runtime shuts down: stop here, leaving the durable run unfinished in the store.

        Steps in flight are cancelled with the coordinator's nursery; nothing more is
        journaled, so the next runtime to open the store recovers the run.
        """
        if self._handle.done:
            return
        self._finished = True
        error = RunSuspendedError(self._run_id, self._wf)
        self._handle._set(None, error)
        self._emit_finished(error)
        self.stop()

    def _emit_finished(self, error: BaseException | None) -> None:
        announce_finished(self._events, self._run_id, self._wf, self._started, error, self._parent)

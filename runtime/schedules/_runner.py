"""A scheduler's runs: each accepted tick's job in a task of the actor's nursery.

A run waits its jitter delay, then calls the job (awaited, on a worker thread, or a workflow
run) under the schedule's timeout; how it ended is an event, never a scheduler crash. A
durable schedule's run of a claimed due instant also records its outcome in the store
(``finish_tick``), and a workflow job's run is keyed by the due instant
(``sched:<name>:<due>``), so a restart finds the run it had started.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import trio
import trio.lowlevel

from arborist.actors._escapes import sort_escape
from arborist.actors._logging import get_logger

from ..store import TickOutcome
from ._durable import run_key, tick_outcome
from ._events import (
    CURRENT_SCHEDULE_RUN,
    ScheduleRunCancelled,
    ScheduleRunFailed,
    ScheduleRunFinished,
    ScheduleRunStarted,
    ScheduleRunTimedOut,
)
from ._options import Overlap, jitter_delay
from ._state import JobKind, RunOutcome, ScheduleState

if TYPE_CHECKING:
    from arborist.supervision._events import EventBus

__all__ = ["RunsMixin"]

logger = get_logger("arborist.runtime.schedules")

# Read on every run (W7): a module global is one dict lookup; ``RunOutcome.OK`` goes through
# the enum class's member lookup, some 50 ns more on Python 3.11.
_OK = RunOutcome.OK
_CANCELLED = RunOutcome.CANCELLED


class _Run:
    """One accepted tick's run, in the scheduler's ``_runs`` while it is in flight.

    A plain class: the fields most runs never set are class defaults, so making one assigns
    three. (An idle quick schedule's on-time run, W7's every tick, makes none: ``_execute_quick``.)
    """

    number: int
    due: float | datetime
    claimed: bool
    """A durable schedule's run of a due instant this process claimed in the store."""
    jitter: float = 0.0
    """Seconds the run waits before its job (``jitter_delay``)."""
    scope: trio.CancelScope | None = None
    """A cancel_other run's scope, for the next tick to cancel."""
    cancel_reason: str = "cancel_other"
    began: float = 0.0
    run_id: str | None = None

    def __init__(self, number: int, due: float | datetime, claimed: bool) -> None:
        self.number = number
        self.due = due
        self.claimed = claimed


class RunsMixin:
    """The run side of `Scheduler` (which provides the nursery and ``_after_run``)."""

    _state: ScheduleState
    _runs: dict[int, _Run | None]
    """Runs in flight by number: a quick run has no `_Run` (None)."""
    _buffer: deque[tuple[int, float | datetime, bool]]
    _stop_label: str
    _stopping: bool
    _now: Callable[[], float]
    """trio's clock (the timer service's ``now``)."""
    _events: EventBus[Any]
    """The manager's event bus (``state.env.events``)."""
    _wanted: Mapping[type, bool]
    """Its ``wanted``: whether an event class reaches a handler, with no call (W7)."""

    if TYPE_CHECKING:

        @property
        def nursery(self) -> trio.Nursery: ...

        _nursery: trio.Nursery

        def _after_run(self) -> None: ...

    def _launch(self, number: int, due: float | datetime, claimed: bool = False) -> None:
        state = self._state
        run = _Run(number, due, claimed)
        run.jitter = jitter_delay(state.options, state.env.rng)
        self._runs[number] = run
        try:
            self._nursery.start_soon(self._execute, run)
        except RuntimeError:
            self._not_launched(number, due, claimed)

    def _not_launched(self, number: int, due: float | datetime, claimed: bool) -> None:
        """The nursery closed under an accepted tick: report the end of its run."""
        state = self._state
        del self._runs[number]
        now = trio.current_time()
        state.emit(ScheduleRunCancelled(state.name, now, number, 0.0, self._stop_label))
        if claimed and isinstance(due, datetime):
            self._finish_later(due, TickOutcome.CANCELLED, self._stop_label, None)

    async def _execute_quick(self, number: int, due: float) -> None:
        """The run of an idle quick schedule's on-time tick (``Scheduler._on_timer``).

        What `_execute` does for an async job with no jitter, no timeout, no cancel_other and
        no store, in one frame: nothing to cancel or record later, so the run has no `_Run`
        (None in ``_runs``). W7: every tick of an idle interval schedule is one.
        """
        state = self._state
        name = state.name
        began = self._now()
        outcome = _CANCELLED
        try:
            wanted = self._wanted
            if wanted[ScheduleRunStarted]:  # what _started does, without its frame
                self._events.emit(ScheduleRunStarted(name, began, due, number))
            # Set with no subscriber too: cheaper than asking the bus whether it has one.
            CURRENT_SCHEDULE_RUN.set((name, number))
            await state.job(*state.args)
            if wanted[ScheduleRunFinished]:
                self._finished(number, began)
            outcome = _OK
        except BaseException as exc:
            if not self._failed(exc, number, began):
                raise  # cancelled, reported: it goes on up
            outcome = RunOutcome.FAILED
        finally:
            self._runs.pop(number, None)  # over: the overlap policy no longer sees it
            state.last_outcome = outcome
            if self._stopping or self._buffer or state.ending is not None:
                self._after_run()  # else it has nothing to do (W7: no frame per run)

    async def _execute(self, run: _Run) -> None:
        state = self._state
        run.began = self._now()
        outcome = _CANCELLED
        try:
            if state.options.overlap is Overlap.CANCEL_OTHER:
                with trio.CancelScope() as scope:
                    run.scope = scope
                    outcome = await self._attempt(run)
                if scope.cancelled_caught and outcome is RunOutcome.CANCELLED:
                    now = trio.current_time()
                    state.emit(
                        ScheduleRunCancelled(
                            state.name, now, run.number, now - run.began, run.cancel_reason
                        )
                    )
            else:
                outcome = await self._attempt(run)
        except BaseException as exc:
            if not self._failed(exc, run.number, run.began):
                raise  # cancelled, reported: it goes on up
            outcome = RunOutcome.FAILED
        finally:
            self._runs.pop(run.number, None)  # over: the overlap policy no longer sees it
            state.last_outcome = outcome
            if run.claimed and state.durable is not None and isinstance(run.due, datetime):
                await state.durable.finish(run.due, tick_outcome(outcome), None, run.run_id)
            if self._stopping or self._buffer or state.ending is not None:
                self._after_run()

    def _failed(self, exc: BaseException, number: int, began: float) -> bool:
        """Report what ended run ``number`` by escaping its job; whether the run failed.

        Sorted as the kernel sorts what escapes an actor: an interrupt or a real cancellation
        (from a job's own nursery too) ends the run cancelled, and the caller raises it again
        (False); anything else is the run's failure (True).
        """
        state = self._state
        name = state.name
        now = trio.current_time()
        if isinstance(exc, Exception):
            error: BaseException = exc
        else:
            escape = sort_escape(exc)
            if escape.interrupt is not None or escape.cancellation is not None:
                label = self._stop_label
                state.emit(ScheduleRunCancelled(name, now, number, now - began, label))
                return False
            error = escape.crash if escape.crash is not None else exc
        logger.warning("schedule %r: run %d failed", name, number, exc_info=error)
        state.emit(ScheduleRunFailed(name, now, number, now - began, error))
        return True

    async def _attempt(self, run: _Run) -> RunOutcome:
        """Jitter, then the job under its timeout; report how it ended (but a failure)."""
        state = self._state
        name = state.name
        timeout = state.options.timeout
        if run.jitter:
            await trio.sleep(run.jitter)
        began = run.began = trio.current_time()
        self._started(run)
        if timeout is None:
            await self._call_job(run)
        else:
            with trio.move_on_after(timeout) as limit:
                await self._call_job(run)
            if limit.cancelled_caught:
                now = trio.current_time()
                state.emit(ScheduleRunTimedOut(name, now, run.number, now - began, timeout))
                return RunOutcome.TIMED_OUT
        if self._wanted[ScheduleRunFinished]:
            self._finished(run.number, began)
        return RunOutcome.OK

    def _started(self, run: _Run) -> None:
        """Report that ``run``'s job starts now, in the run's own task.

        The event is built only for a subscriber that takes it; the run's context variable is
        always set (an exporter reads it from the events the job causes).
        """
        state = self._state
        name = state.name
        if self._wanted[ScheduleRunStarted]:
            self._events.emit(ScheduleRunStarted(name, run.began, run.due, run.number))
        CURRENT_SCHEDULE_RUN.set((name, run.number))  # this run's own task: for exporters

    def _finished(self, number: int, began: float) -> None:
        """Report that run ``number``'s job returned (someone takes ScheduleRunFinished)."""
        state = self._state
        now = state.env.timers.now()
        state.env.events.emit(ScheduleRunFinished(state.name, now, number, now - began))

    def _finish_later(
        self, due: datetime, outcome: TickOutcome, reason: str | None, run_id: str | None
    ) -> None:
        """Record a claimed tick's end from a task of its own (the nursery may be closing)."""
        durable = self._state.durable
        if durable is not None:
            trio.lowlevel.spawn_system_task(durable.finish, due, outcome, reason, run_id)

    async def _call_job(self, run: _Run) -> None:
        state = self._state
        job = state.job
        if state.kind is JobKind.ASYNC:
            await job(*state.args)
        elif state.kind is JobKind.SYNC:
            # trio refuses (TypeError) a function that turns out to return a coroutine.
            await trio.to_thread.run_sync(
                functools.partial(job, *state.args),
                limiter=state.env.limiter,
                abandon_on_cancel=True,
            )
        else:
            start = state.env.start_workflow
            assert start is not None
            if run.claimed and isinstance(run.due, datetime):
                key = run_key(state.name, run.due)  # a restarted fire finds its run
                handle = await start(
                    job, dict(state.inputs), self.nursery, key=key, fired_by=(state.name, run.due)
                )
                run.run_id = handle.run_id
            else:
                handle = await start(job, dict(state.inputs), self.nursery)
            try:
                await handle.result()
            except trio.Cancelled:
                handle.cancel()
                raise

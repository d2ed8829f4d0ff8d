"""The coordinator: one actor per run that decides which steps run, when, and what then.

Each run is a coordinator actor that supervises its step actors (see ``_step``): task actors
that receive their arguments when they start, run one attempt, and report how it ended to the
coordinator's mailbox. A step's restart policy is its ``Retry`` (or its ``@compensate``).
The algorithm, all of it inside the coordinator's single-threaded message loop:

1. On start, count each step's unmet dependencies; the steps with none are *ready*. (A resumed
   run starts with its completed steps resolved and their needed results loaded.)
2. *Dispatch*: while a step is ready and the run is under its concurrency limit
   (``max_concurrency``; 1 with ``concurrent=False``), take the ready step that comes first in
   the plan's topological order, build its arguments from the inputs and the results so far,
   check its ``when`` guard (false: the step is *skipped*), and start its step actor. Named
   pools are taken inside the step actor, so a step waiting for a pool never blocks the
   coordinator. ``inline=True`` steps run inside the coordinator.
3. When every step that takes a result has started, the result is dropped unless the run
   returns it; a step with an undo keeps its result and arguments in the run's undo log.
4. A step that returns a value *completes*: its dependents count down and those with nothing
   left to wait for become ready. ``Again(after)`` re-runs the step later without holding a
   slot; ``Halt`` stops dispatching, lets the steps in flight finish and ends the run with a
   resumable state.
5. A step that raises: its ``@compensate`` decides (retry, continue with a value, or fail), or
   else its ``Retry`` (another attempt after the backoff, no slot held while waiting). A final
   failure of a step that some step takes as an ``outcome()`` is recorded as ``outcome.Error``
   and the run goes on; a step that needs the value of a failed or skipped step is skipped.
6. Any other final failure fails fast: steps in flight are cancelled, pending retries dropped;
   once nothing is in flight, the undo log is rolled back in reverse completion order (steps
   that completed during the cancellation included), and the run raises one
   ``WorkflowFailedError`` naming the step, chaining its error and listing what completed,
   failed, was cancelled, skipped and undone, and which undos failed.
7. ``handle.cancel()`` cancels and rolls back the same way (``WorkflowCancelledError``). When
   every step is resolved the run returns the ``returns`` step's value. A crash of the
   coordinator itself ends only this run, with ``WorkflowCrashedError``.
8. With a store, the coordinator journals each of these transitions (``_journal``): a step's
   dependents count down, and the run ends, only once what they depend on is durable; a run
   recovered from its journal starts at step 1 with its journaled state (``_replay``).

A step's exit is a message to the coordinator, except while the coordinator is idle: then
the step's task handles it at once, in the coordinator's context (``_exits_here``).
"""

from __future__ import annotations

import contextvars
import functools
from heapq import heappop
from typing import TYPE_CHECKING, Any

import trio

from arborist.actors import Crashed, ExitReason, Monitor, TimerHandle

from ..store import EncodeError
from ..workflow._control import Again, Halt
from ._errors import AgainLimitError, WorkflowCrashedError
from ._events import (
    StepAgain,
    StepCancelled,
    StepFailed,
    StepFinished,
    StepRetried,
    StepStarted,
)
from ._exits_here import ExitsHere
from ._graph import RunGraph
from ._handle import RunHandle, StepRecord
from ._journal import Journal, JournalCommitted, never_retried
from ._ledger import RunLedger
from ._messages import CancelRun, HandlerCrashed, Redispatch, RolledBack, RunInline, Suspend
from ._replay import restore
from ._run_log import announce_started
from ._saga import HaltedRun, UndoEntry
from ._step_runner import (
    CANCELLED,
    DONE,
    FAILED,
    StepExit,
    StepRunner,
    guard_error,
    retry_after,
)
from ._tables import tables_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..store import Receipt
    from ..workflow._planner import Plan
    from ..workflow._step import Step
    from ._pools import Pool
    from ._replay import Resumed
    from ._services import ChildOf, RunServices

__all__ = ["Coordinator"]

_STATUS = ("ok", "failed", "cancelled")


class Coordinator(ExitsHere):
    """Drives one workflow run (see the module docstring for the algorithm)."""

    owns_nursery = True

    def __init__(
        self,
        services: RunServices,
        plan: Plan,
        inputs: dict[str, Any],
        handle: RunHandle,
        *,
        limit: float,
        run_pools: tuple[Pool, ...],
        options: dict[str, Any],
        resume: HaltedRun | None = None,
        journal: Journal | None = None,
        resumed: Resumed | None = None,
        parent: ChildOf | None = None,
        caller_context: contextvars.Context | None = None,
        on_end: Callable[[ExitReason], object] | None = None,
    ) -> None:
        self._on_end = on_end  # watches this actor's end from the start: a kill settles the run
        self._services = services
        self._plan = plan
        self._inputs = inputs
        self._handle = handle
        self._limit = limit
        self._run_pools = run_pools
        self._run_pool = run_pools[0].name if run_pools else None
        self._options = options
        self._resume = resumed.state if resumed is not None else resume
        self._resumed = resumed
        self._journal = journal
        self._parent = parent
        self._caller_context = caller_context
        self._events = services.events
        self._run_id = handle.run_id
        self._wf = plan.workflow.name
        self._returns = plan.returns
        self._graph = graph = RunGraph(plan)
        self._tables = tables = tables_of(plan)
        self._step_of = tables.steps
        self._index = graph.index
        self._ledger = RunLedger(self._wf, self._run_id, graph.index)
        self._tolerant = frozenset(
            producer for deps in plan.outcome_dependencies.values() for producer in deps
        )
        self._kwargs: dict[str, dict[str, Any]] = {}
        self._running: dict[str, float] = {}  # step in flight -> when its attempt started
        self._waits: dict[str, TimerHandle | None] = {}
        self._again: dict[str, int] = {}
        self._failure: tuple[str, BaseException] | None = None
        self._halt: tuple[str, str] | None = None
        self._stopping = False
        self._rollback = 0  # 0: not needed yet, 1: running, 2: done
        self._finished = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def on_start(self) -> None:
        self._handle._coordinator = self.ref
        self._mailbox = self.ref._mailbox
        self._task = trio.lowlevel.current_task()
        self._now = trio.lowlevel.current_clock().current_time  # trio.current_time, one call
        self._started = self._now()
        self._steps: trio.Nursery = await self.nursery.start(_steps_nursery)
        self._runner = StepRunner(
            self._services, self._run_id, self._wf, self._run_pools, self.ref, self.nursery
        )
        if self._journal is not None:
            self._journal.bind(self._committed_here, self.send_after)
            self._runner.journal = self._journal
        self._runner.handle_here = self._handle_exit_here
        self._runner.completed_here = self._completed_here
        self._runner.plain = self._tables.plain
        caller, self._caller_context = self._caller_context, None
        if self._on_end is not None:  # from RunStarted on (no await between): a kill settles it
            self.ref._cell.add_watcher(Monitor(self.ref, None), self._on_end)
        announce_started(self._events, self._run_id, self._wf, self._started, self._parent, caller)
        self._init_graph()
        self._dispatch()
        self._maybe_finish()

    def on_stop(self, reason: ExitReason) -> None:
        if self._handle.done:
            return
        if isinstance(reason, Crashed):
            error: BaseException = WorkflowCrashedError(
                workflow=self._wf, run_id=self._run_id, cause=reason.exc
            )
        else:
            error = self._ledger.cancellation(still_running=[*self._running, *self._waits])
        self._handle._set(None, error)
        self._emit_finished(error)

    async def on_receive(self, message: Any) -> None:
        kind = type(message)
        if kind is StepExit:
            self._on_step_exit(message)
        elif kind is Redispatch:
            self._on_redispatch(message)
        elif kind is RunInline:
            await self._run_inline(message)
        elif kind is CancelRun:
            self._cancel_everything()
        elif kind is JournalCommitted:
            self._journal.drain(message)  # type: ignore[union-attr]
        elif kind is RolledBack:
            self._rollback = 2
        elif kind is Suspend:
            self._suspend()
            return
        elif kind is HandlerCrashed:
            raise message.error
        else:
            raise TypeError(f"coordinator of run {self._run_id} got an unknown message {message!r}")
        self._dispatch()
        self._maybe_finish()

    def _init_graph(self) -> None:
        resume = self._resume
        if resume is None:
            self._graph.start_fresh()
            return
        self._ledger.undo_log.extend(resume.undo_log)
        self._ledger.completed.extend(resume.completed)
        self._kwargs.update({name: dict(kw) for name, kw in resume.pending.items()})
        resumed = self._resumed
        attempts = resumed.attempts if resumed is not None else None
        for name, because in self._graph.start_resumed(resume, attempts):
            self._graph.skip(name, because)
            self._skipped(name, because)
            self._resolve(name, ok=False)
        if resumed is not None:
            restore(self, resumed)

    # -- dispatch ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        graph = self._graph
        ready = graph.ready
        running = self._running
        limit = self._limit
        plan = self._plan
        step_of = self._step_of
        arguments = self._tables.arguments
        pending = self._kwargs
        events = self._events
        journal = self._journal
        now = self._now()  # one reading for the steps started in this synchronous batch
        start_soon = self._steps.start_soon
        actor = self._runner.actor
        while ready and len(running) < limit and not self._stopping and self._halt is None:
            _, name, attempt = heappop(ready)  # graph.pop(): first in plan order
            step = step_of[name]
            kwargs = pending.get(name)
            if kwargs is None:
                try:
                    kwargs = arguments(plan, name, self._inputs, graph.results)
                except LookupError as exc:
                    self._fail_at_dispatch(name, attempt, exc)
                    continue
                graph.release_inputs_of(name)
                if step.when is not None:
                    try:
                        go = step.when(**step.guard_arguments(kwargs))
                    except BaseException as exc:
                        self._fail_at_dispatch(name, attempt, guard_error(exc))
                        continue
                    if not go:
                        graph.skip(name, None)
                        self._resolve_after(self._skipped(name, None), name, ok=False)
                        continue
                    if step.guard_only:
                        kwargs = {k: v for k, v in kwargs.items() if k not in step.guard_only}
                pending[name] = kwargs
            if events._handlers:  # read each time: (un)subscribing replaces the tuple
                pool = step.pool or self._run_pool
                event = StepStarted(self._run_id, self._wf, name, attempt, now, step.executor, pool)
                events.emit(event)
            running[name] = now
            if journal is not None and journal.started(
                step, functools.partial(self._launch, step, attempt, now)
            ):
                continue  # on_resume="fail"/"halt": called once its start is durable
            if step.inline:
                self.ref.tell(RunInline(name, attempt))
                continue
            start_soon(actor, step, attempt, kwargs, now)

    def _launch(self, step: Step, attempt: int, start: float) -> None:
        """Start an attempt whose start had to be durable first (see ``_dispatch``)."""
        if self._stopping:
            self._on_step_exit(StepExit(CANCELLED, step.name, attempt, start))
        elif step.inline:
            self.ref.tell(RunInline(step.name, attempt))
        else:
            kwargs = self._kwargs[step.name]
            self._steps.start_soon(self._runner.actor, step, attempt, kwargs, start)

    async def _run_inline(self, message: RunInline) -> None:
        name, attempt = message.name, message.attempt
        start = self._running.get(name)
        if start is None:  # cancelled before it ran
            return
        if self._stopping:  # the run failed or was cancelled after this step was dispatched
            self._on_step_exit(StepExit(CANCELLED, name, attempt, start))
            return
        step = self._step_of[name]
        self._on_step_exit(await self._runner.inline(step, attempt, self._kwargs[name], start))

    # -- step exits --------------------------------------------------------------------------

    def _on_step_exit(self, message: StepExit) -> None:
        name = message.name
        self._running.pop(name, None)
        kind = message.kind
        value = message.value
        status = _STATUS[kind]
        if kind == DONE and (type(value) is Again or type(value) is Halt):
            status = "again" if type(value) is Again else "halted"
        # handle._note, inlined: the record of the attempt (a StepRecord once read)
        self._handle._pending += (name, message.attempt, message.start, message.end, status)
        if message.ctx is not None and message.ctx._children and status != "ok":
            # Child runs that completed in an attempt that did not complete (failed, cancelled,
            # Again, Halt): their steps are in effect, so the run's rollback must undo them.
            children = tuple(message.ctx._children)
            message.ctx._children.clear()
            entry = UndoEntry(name, None, None, {}, children, self._run_id)
            self._ledger.undo_log.append(entry)
            if self._journal is not None:
                self._journal.undo_entry(entry)
        if kind == DONE:
            if type(value) is Again:
                self._on_again(name, message, value)
            elif type(value) is Halt:
                self._on_halt(name, value.reason)
            else:
                self._on_step_done(name, message)
        elif kind == FAILED:
            self._on_step_failed(name, message)
        else:
            self._ledger.cancelled.append(name)
            if self._journal is not None:
                self._journal.cancelled(name)
            if self._events:
                at, took, attempt = message.end, message.end - message.start, message.attempt
                where = self._step_of[name].executor
                self._events.emit(
                    StepCancelled(self._run_id, self._wf, name, attempt, at, took, where)
                )

    def _on_halt(self, name: str, reason: str) -> None:
        if self._halt is None and not self._stopping:
            self._halt = (name, reason)
        if self._journal is not None:
            self._journal.halted(name, reason)

    def _on_step_done(self, name: str, message: StepExit) -> None:
        step = self._step_of[name]
        value = message.value
        journal = self._journal
        receipt = None
        if journal is not None:
            try:
                receipt = journal.ok(name, value)  # durable before any dependent sees it
            except EncodeError as exc:  # too large, or not encodable: the step fails
                self._result_refused(name, message, exc)
                return
        kwargs = self._kwargs.pop(name, None)
        message.value = None  # the actor loop keeps its last message: let the result go
        self._ledger.completed.append(name)
        self._graph.completed(name, value)
        children = message.ctx._children if message.ctx is not None else ()
        if step.undo_fn is not None or children:
            entry = UndoEntry(
                name, step.undo_fn, value, dict(kwargs or {}), tuple(children), self._run_id
            )
            self._ledger.undo_log.append(entry)
            if journal is not None:
                journal.undo_entry(entry)
        if self._events:
            at, took, where = message.end, message.end - message.start, step.executor
            wf, waited = self._wf, message.waited
            event = StepFinished(self._run_id, wf, name, message.attempt, at, took, where, waited)
            self._events.emit(event)
        if receipt is None:
            self._resolve(name, ok=True)
        else:
            self._resolve_after(receipt, name, ok=True)

    def _resolve_after(self, receipt: Receipt | None, name: str, *, ok: bool) -> None:
        """Resolve ``name`` now, or once ``receipt``'s write is durable (a durable run)."""
        if receipt is None:
            self._resolve(name, ok=ok)
        else:
            self._journal.after(receipt, lambda: self._resolve(name, ok=ok))  # type: ignore[union-attr]

    def _result_refused(self, name: str, message: StepExit, error: EncodeError) -> None:
        """The store refused a step's result: the attempt failed with that error, finally."""
        record = self._handle.records[-1]
        self._handle.records[-1] = StepRecord(
            record.step, record.attempt, record.start, record.end, "failed"
        )
        message.kind, message.value, message.error = FAILED, None, error
        self._on_step_failed(name, message)

    def _on_step_failed(self, name: str, message: StepExit) -> None:
        step = self._step_of[name]
        attempt = message.attempt
        error = message.error
        if error is None:
            raise TypeError(f"step {name!r} failed without an error")
        journal = self._journal
        will_retry, delay = (
            (False, 0.0)
            if self._stopping or (journal is not None and never_retried(message))
            else retry_after(step, message, self._services.random)
        )
        receipt = None
        if journal is not None:
            receipt = journal.failed(name, error, delay if will_retry else None)
        if self._events:
            at, took = message.end, message.end - message.start
            final, where, waited = not will_retry, step.executor, message.waited
            event = StepFailed(
                self._run_id, self._wf, name, attempt, at, took, error, final, where, waited
            )
            self._events.emit(event)
        if will_retry:
            if self._events:
                self._events.emit(
                    StepRetried(self._run_id, self._wf, name, attempt + 1, message.end, delay)
                )
            self._wait_then_run(name, attempt + 1, delay)
            return
        self._final_failure(name, error, receipt)

    def _fail_at_dispatch(self, name: str, attempt: int, error: BaseException) -> None:
        now = trio.current_time()
        if self._events:
            where = self._step_of[name].executor
            self._events.emit(
                StepFailed(self._run_id, self._wf, name, attempt, now, 0.0, error, True, where)
            )
        journal = self._journal
        receipt = None if journal is None else journal.failed_at_dispatch(name, error)
        self._final_failure(name, error, receipt)

    def _final_failure(
        self, name: str, error: BaseException, receipt: Receipt | None = None
    ) -> None:
        self._kwargs.pop(name, None)
        self._ledger.failed.append(name)
        if name in self._tolerant and name != self._returns and not self._stopping:
            self._graph.failed_as_outcome(name, error)
            self._resolve_after(receipt, name, ok=False)  # a failure dependents take
            return
        if self._failure is None and not self._stopping:
            self._failure = (name, error)
            self._cancel_everything()

    def _on_again(self, name: str, message: StepExit, again: Again) -> None:
        step = self._step_of[name]
        count = self._again.get(name, 0) + 1
        self._again[name] = count
        if count > step.max_again:
            self._fail_at_dispatch(name, message.attempt, AgainLimitError(name, step.max_again))
            return
        if self._events:
            self._events.emit(
                StepAgain(self._run_id, self._wf, name, message.end, count, again.after)
            )
        if self._journal is not None:
            self._journal.again(name, again.after)
        self._wait_then_run(name, message.attempt, again.after)

    def _wait_then_run(self, name: str, attempt: int, delay: float) -> None:
        """Dispatch ``name`` again after ``delay`` seconds, holding no slot meanwhile."""
        if delay > 0:
            self._waits[name] = self.send_after(delay, Redispatch(name, attempt))
        else:
            self._graph.push(name, attempt)

    def _on_redispatch(self, message: Redispatch) -> None:
        if message.name not in self._waits:
            return  # the run stopped meanwhile
        del self._waits[message.name]
        self._graph.push(message.name, message.attempt)


async def _steps_nursery(task_status: trio.TaskStatus[trio.Nursery]) -> None:
    """The nursery step actors run in; cancelling its scope cancels every step in flight."""
    async with trio.open_nursery() as nursery:
        task_status.started(nursery)
        del task_status  # it keeps trio's start() nursery alive (see Cell.hand_over)
        await trio.sleep_forever()

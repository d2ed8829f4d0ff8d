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
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any, Final

import outcome
import trio

from arborist.actors import Actor, Crashed, ExitReason, TimerHandle

from ..workflow._control import Again, Halt
from ._errors import (
    AgainLimitError,
    StepSkippedError,
    WorkflowCancelledError,
    WorkflowCrashedError,
    WorkflowFailedError,
    WorkflowHaltedError,
)
from ._events import (
    RunFinished,
    RunStarted,
    StepAgain,
    StepCancelled,
    StepFailed,
    StepFinished,
    StepRetried,
    StepSkipped,
    StepStarted,
    StepUndoFailed,
    StepUndone,
)
from ._handle import CancelRun, RunHandle, StepRecord
from ._saga import HaltedRun, UndoEntry, rollback
from ._step_runner import CANCELLED, DONE, FAILED, StepExit, StepRunner

if TYPE_CHECKING:
    from ..workflow._planner import Plan
    from ._pools import Pool
    from ._services import RunServices

__all__ = ["DEFAULT_COMPENSATE_ATTEMPTS", "Coordinator"]

DEFAULT_COMPENSATE_ATTEMPTS: Final = 3
"""Attempts in all when ``@compensate`` asks for retries and the step has no ``Retry``."""

_STATUS = ("ok", "failed", "cancelled")


class _Redispatch:
    """Timer message: a step's wait (retry backoff or ``Again``) is over."""

    __slots__ = ("attempt", "name")

    def __init__(self, name: str, attempt: int) -> None:
        self.name = name
        self.attempt = attempt


class _RunInline:
    """Self-message: run an ``inline=True`` step inside the coordinator."""

    __slots__ = ("attempt", "name")

    def __init__(self, name: str, attempt: int) -> None:
        self.name = name
        self.attempt = attempt


class _RolledBack:
    """Self-message: the rollback task has finished."""

    __slots__ = ()


class Coordinator(Actor):
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
    ) -> None:
        self._services = services
        self._plan = plan
        self._inputs = inputs
        self._handle = handle
        self._limit = limit
        self._run_pools = run_pools
        self._options = options
        self._resume = resume
        self._events = services.events
        self._run_id = handle.run_id
        self._wf = plan.workflow.name
        self._returns = plan.returns
        self._index = {step.name: i for i, step in enumerate(plan.steps)}
        self._waiting: dict[str, int] = {}
        self._consumers: dict[str, int] = {}
        self._tolerant = frozenset(
            producer for deps in plan.outcome_dependencies.values() for producer in deps
        )
        self._results: dict[str, Any] = {}
        self._kwargs: dict[str, dict[str, Any]] = {}
        self._ready: list[tuple[int, str, int]] = []
        self._running: dict[str, float] = {}  # step in flight -> when its attempt started
        self._waits: dict[str, TimerHandle | None] = {}
        self._again: dict[str, int] = {}
        self._blocked: dict[str, str] = {}
        self._resolved = 0
        self._completed: list[str] = []
        self._failed: list[str] = []
        self._cancelled: list[str] = []
        self._skipped: list[str] = []
        self._undo_log: list[UndoEntry] = []
        self._undone: list[str] = []
        self._undo_errors: list[tuple[str, BaseException]] = []
        self._failure: tuple[str, BaseException] | None = None
        self._halt: tuple[str, str] | None = None
        self._stopping = False
        self._rollback = 0  # 0: not needed yet, 1: running, 2: done
        self._finished = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def on_start(self) -> None:
        self._handle._coordinator = self.ref
        self._started = trio.current_time()
        self._steps: trio.Nursery = await self.nursery.start(_steps_nursery)
        self._runner = StepRunner(
            self._services, self._run_id, self._wf, self._run_pools, self.ref, self.nursery
        )
        if self._events:
            self._events.emit(RunStarted(self._run_id, self._wf, self._started))
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
            error = WorkflowCancelledError(
                workflow=self._wf,
                run_id=self._run_id,
                completed=self._completed,
                cancelled=[*self._cancelled, *self._running, *self._waits],
            )
        self._handle._set(None, error)
        self._emit_finished(error)

    async def on_receive(self, message: Any) -> None:
        kind = type(message)
        if kind is StepExit:
            self._on_step_exit(message)
        elif kind is _Redispatch:
            self._on_redispatch(message)
        elif kind is _RunInline:
            await self._run_inline(message)
        elif kind is CancelRun:
            self._cancel_everything()
        elif kind is _RolledBack:
            self._rollback = 2
        else:
            raise TypeError(f"coordinator of run {self._run_id} got an unknown message {message!r}")
        self._dispatch()
        self._maybe_finish()

    def _init_graph(self) -> None:
        plan = self._plan
        resume = self._resume
        if resume is None:
            self._waiting = {name: len(deps) for name, deps in plan.dependencies.items()}
            self._consumers = dict(plan.consumers)
            for step in plan.roots:
                heapq.heappush(self._ready, (self._index[step.name], step.name, 1))
            return
        done = frozenset(resume.completed)
        self._results.update(resume.results)
        self._undo_log.extend(resume.undo_log)
        self._completed.extend(resume.completed)
        self._resolved = len(done)
        for producer in plan.consumers:
            self._consumers[producer] = sum(
                1
                for consumer in plan.dependents[producer]
                if consumer not in done
                and consumer not in resume.pending
                and producer
                in plan.value_dependencies[consumer] | plan.outcome_dependencies[consumer]
            )
        self._kwargs.update({name: dict(kw) for name, kw in resume.pending.items()})
        blocked_roots: list[tuple[str, str]] = []
        for step in plan.steps:
            name = step.name
            if name in done:
                continue
            deps = plan.dependencies[name]
            self._waiting[name] = sum(1 for dep in deps if dep not in done)
            for dep in deps & done:
                recorded = self._results.get(dep)
                if (
                    isinstance(recorded, outcome.Error)
                    and dep not in plan.outcome_dependencies[name]
                ):
                    self._blocked.setdefault(name, dep)
            if self._waiting[name] == 0:
                if name in self._blocked:
                    blocked_roots.append((name, self._blocked[name]))
                else:
                    heapq.heappush(self._ready, (self._index[name], name, 1))
        for name, because in blocked_roots:
            self._mark_skipped(name, because)
            self._resolve(name, ok=False)

    # -- dispatch ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        ready = self._ready
        running = self._running
        limit = self._limit
        plan = self._plan
        while ready and len(running) < limit and not self._stopping and self._halt is None:
            _, name, attempt = heapq.heappop(ready)
            step = plan.step(name)
            kwargs = self._kwargs.get(name)
            if kwargs is None:
                try:
                    kwargs = plan.arguments_for(name, self._inputs, self._results)
                except LookupError as exc:
                    self._fail_at_dispatch(name, attempt, exc)
                    continue
                self._release_inputs_of(name)
                if step.when is not None:
                    try:
                        go = step.when(**step.guard_arguments(kwargs))
                    except Exception as exc:
                        self._fail_at_dispatch(name, attempt, exc)
                        continue
                    if not go:
                        self._mark_skipped(name, None)
                        self._resolve(name, ok=False)
                        continue
                    if step.guard_only:
                        kwargs = {k: v for k, v in kwargs.items() if k not in step.guard_only}
                self._kwargs[name] = kwargs
            now = trio.current_time()
            if self._events:
                self._events.emit(StepStarted(self._run_id, self._wf, name, attempt, now))
            if step.inline:
                running[name] = now
                self.ref.tell(_RunInline(name, attempt))
                continue
            running[name] = now
            self._steps.start_soon(self._runner.actor, step, attempt, kwargs, now)

    def _release_inputs_of(self, name: str) -> None:
        """Step ``name`` has its arguments (or will never run): drop results no one needs."""
        plan = self._plan
        consumers = self._consumers
        for producer in plan.value_dependencies[name] | plan.outcome_dependencies[name]:
            left = consumers[producer] - 1
            consumers[producer] = left
            if left == 0 and producer != self._returns:
                self._results.pop(producer, None)

    async def _run_inline(self, message: _RunInline) -> None:
        name, attempt = message.name, message.attempt
        start = self._running.get(name)
        if start is None:  # cancelled before it ran
            return
        if self._stopping:  # the run failed or was cancelled after this step was dispatched
            self._on_step_exit(StepExit(CANCELLED, name, attempt, start))
            return
        step = self._plan.step(name)
        kwargs = self._kwargs[name]
        ctx = self._runner.context(step, attempt) if step.context_param is not None else None
        try:
            value = await self._runner.call(step, attempt, self._with_ctx(step, kwargs, ctx))
        except Exception as exc:
            exit_message = await self._runner.compensate(step, attempt, start, exc, ctx)
        else:
            exit_message = StepExit(DONE, name, attempt, start, value=value, ctx=ctx)
        self._on_step_exit(exit_message)

    @staticmethod
    def _with_ctx(step: Any, kwargs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        if ctx is None:
            return kwargs
        return {**kwargs, step.context_param: ctx}

    # -- step exits --------------------------------------------------------------------------

    def _on_step_exit(self, message: StepExit) -> None:
        name = message.name
        self._running.pop(name, None)
        kind = message.kind
        value = message.value
        status = _STATUS[kind]
        if kind == DONE and type(value) is Again:
            status = "again"
        elif kind == DONE and type(value) is Halt:
            status = "halted"
        self._handle.records.append(
            StepRecord(name, message.attempt, message.start, message.end, status)
        )
        if message.ctx is not None and message.ctx._children and status != "ok":
            # Child runs that completed in an attempt that did not complete (failed, cancelled,
            # Again, Halt): their steps are in effect, so the run's rollback must undo them.
            children = tuple(message.ctx._children)
            message.ctx._children.clear()
            self._undo_log.append(UndoEntry(name, None, None, {}, children))
        if kind == DONE:
            if type(value) is Again:
                self._on_again(name, message, value)
            elif type(value) is Halt:
                if self._halt is None and not self._stopping:
                    self._halt = (name, value.reason)
            else:
                self._on_step_done(name, message)
        elif kind == FAILED:
            self._on_step_failed(name, message)
        else:
            self._cancelled.append(name)
            if self._events:
                self._events.emit(
                    StepCancelled(
                        self._run_id,
                        self._wf,
                        name,
                        message.attempt,
                        message.end,
                        message.end - message.start,
                    )
                )

    def _on_step_done(self, name: str, message: StepExit) -> None:
        step = self._plan.step(name)
        kwargs = self._kwargs.pop(name, None)
        value = message.value
        message.value = None  # the actor loop keeps its last message: let the result go
        self._completed.append(name)
        self._resolved += 1
        children = message.ctx._children if message.ctx is not None else ()
        if step.undo_fn is not None or children:
            self._undo_log.append(
                UndoEntry(name, step.undo_fn, value, dict(kwargs or {}), tuple(children))
            )
        if self._consumers[name] > 0 or name == self._returns:
            self._results[name] = (
                outcome.Value(value) if isinstance(value, outcome.Outcome) else value
            )
        if self._events:
            self._events.emit(
                StepFinished(
                    self._run_id,
                    self._wf,
                    name,
                    message.attempt,
                    message.end,
                    message.end - message.start,
                )
            )
        self._resolve(name, ok=True)

    def _on_step_failed(self, name: str, message: StepExit) -> None:
        step = self._plan.step(name)
        attempt = message.attempt
        error = message.error
        assert error is not None
        retry = step.retry
        delay = 0.0
        rng = self._services.random
        if self._stopping:
            will_retry = False
        elif message.decision is not None:
            budget = retry.attempts if retry is not None else DEFAULT_COMPENSATE_ATTEMPTS
            will_retry = attempt < budget
            if message.decision.after is not None:
                delay = message.decision.after
            elif retry is not None:
                delay = retry.delay_for(attempt, rng)
        elif step.compensate_fn is not None or retry is None:
            will_retry = False
        else:
            will_retry = retry.should_retry(error, attempt)
            if will_retry:
                delay = retry.delay_for(attempt, rng)
        if self._events:
            self._events.emit(
                StepFailed(
                    self._run_id,
                    self._wf,
                    name,
                    attempt,
                    message.end,
                    message.end - message.start,
                    error,
                    not will_retry,
                )
            )
        if will_retry:
            if self._events:
                self._events.emit(
                    StepRetried(self._run_id, self._wf, name, attempt + 1, message.end, delay)
                )
            self._wait_then_run(name, attempt + 1, delay)
            return
        self._final_failure(name, error)

    def _fail_at_dispatch(self, name: str, attempt: int, error: BaseException) -> None:
        now = trio.current_time()
        if self._events:
            self._events.emit(
                StepFailed(self._run_id, self._wf, name, attempt, now, 0.0, error, True)
            )
        self._final_failure(name, error)

    def _final_failure(self, name: str, error: BaseException) -> None:
        self._kwargs.pop(name, None)
        self._failed.append(name)
        if name in self._tolerant and name != self._returns and not self._stopping:
            self._resolved += 1
            if self._consumers[name] > 0:
                self._results[name] = outcome.Error(error)
            self._resolve(name, ok=False)
            return
        if self._failure is None and not self._stopping:
            self._failure = (name, error)
            self._cancel_everything()

    def _on_again(self, name: str, message: StepExit, again: Again) -> None:
        step = self._plan.step(name)
        count = self._again.get(name, 0) + 1
        self._again[name] = count
        if count > step.max_again:
            self._fail_at_dispatch(name, message.attempt, AgainLimitError(name, step.max_again))
            return
        if self._events:
            self._events.emit(
                StepAgain(self._run_id, self._wf, name, message.end, count, again.after)
            )
        self._wait_then_run(name, message.attempt, again.after)

    def _wait_then_run(self, name: str, attempt: int, delay: float) -> None:
        """Dispatch ``name`` again after ``delay`` seconds, holding no slot meanwhile."""
        if delay > 0:
            self._waits[name] = self.send_after(delay, _Redispatch(name, attempt))
        else:
            heapq.heappush(self._ready, (self._index[name], name, attempt))

    def _on_redispatch(self, message: _Redispatch) -> None:
        if message.name not in self._waits:
            return  # the run stopped meanwhile
        del self._waits[message.name]
        heapq.heappush(self._ready, (self._index[message.name], message.name, message.attempt))

    # -- resolution and skips ----------------------------------------------------------------

    def _resolve(self, name: str, *, ok: bool) -> None:
        """``name`` is resolved: count down its dependents; block them if it did not succeed."""
        plan = self._plan
        waiting = self._waiting
        blocked = self._blocked
        index = self._index
        work = [(name, ok)]
        while work:
            name, ok = work.pop()
            if self._stopping:
                return
            for dependent in plan.dependents[name]:
                if not ok and name not in plan.outcome_dependencies[dependent]:
                    blocked.setdefault(dependent, name)
                left = waiting[dependent] - 1
                waiting[dependent] = left
                if left == 0:
                    because = blocked.get(dependent)
                    if because is None:
                        heapq.heappush(self._ready, (index[dependent], dependent, 1))
                    else:
                        self._mark_skipped(dependent, because)
                        work.append((dependent, False))

    def _mark_skipped(self, name: str, because: str | None) -> None:
        self._skipped.append(name)
        self._resolved += 1
        now = trio.current_time()
        self._handle.records.append(StepRecord(name, 0, now, now, "skipped"))
        if because is not None:
            self._release_inputs_of(name)
        if self._consumers[name] > 0 or name == self._returns:
            self._results[name] = outcome.Error(StepSkippedError(name, because))
        if self._events:
            self._events.emit(
                StepSkipped(self._run_id, self._wf, name, trio.current_time(), because)
            )

    # -- stopping ----------------------------------------------------------------------------

    def _cancel_everything(self) -> None:
        """Fail fast: cancel steps in flight, drop pending waits and ready steps."""
        if self._stopping:
            return
        self._stopping = True
        self._ready.clear()
        for name, timer in list(self._waits.items()):
            if timer is not None:
                timer.cancel()
            self._cancelled.append(name)
        self._waits.clear()
        self._steps.cancel_scope.cancel()

    def _maybe_finish(self) -> None:
        if self._finished or self._running or self._rollback == 1:
            return
        if self._stopping:
            if self._undo_log and self._rollback == 0:
                self._rollback = 1
                self.nursery.start_soon(self._roll_back)
                return
            self._end(None, self._stop_error())
        elif self._halt is not None:
            self._end(None, WorkflowHaltedError(self._halted_state()))
        elif self._resolved == len(self._plan.steps):
            returns = self._returns
            value = None
            if returns is not None:
                value = self._results.get(returns)
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
        elif not self._ready and not self._waits:
            raise RuntimeError(
                f"run {self._run_id} of {self._wf!r} is stuck: nothing ready, running or waiting"
            )

    async def _roll_back(self) -> None:
        def undone(step: str, duration: float) -> None:
            self._undone.append(step)
            if self._events:
                self._events.emit(
                    StepUndone(self._run_id, self._wf, step, trio.current_time(), duration)
                )

        def failed(step: str, error: BaseException) -> None:
            self._undo_errors.append((step, error))
            if self._events:
                self._events.emit(
                    StepUndoFailed(self._run_id, self._wf, step, trio.current_time(), error)
                )

        await rollback(self._undo_log, self._services.thread_limiter, undone, failed)
        self.ref.tell(_RolledBack())

    def _stop_error(self) -> BaseException:
        if self._failure is not None:
            step, cause = self._failure
            return WorkflowFailedError(
                workflow=self._wf,
                run_id=self._run_id,
                step=step,
                cause=cause,
                completed=self._completed,
                failed=self._failed,
                cancelled=sorted(self._cancelled, key=self._index.__getitem__),
                skipped=self._skipped,
                undone=self._undone,
                undo_errors=self._undo_errors,
            )
        return WorkflowCancelledError(
            workflow=self._wf,
            run_id=self._run_id,
            completed=self._completed,
            cancelled=sorted(self._cancelled, key=self._index.__getitem__),
            undone=self._undone,
            undo_errors=self._undo_errors,
        )

    def _halted_state(self) -> HaltedRun:
        assert self._halt is not None
        step, reason = self._halt
        for timer in self._waits.values():
            if timer is not None:
                timer.cancel()
        resolved = (*self._completed, *self._skipped, *self._tolerated())
        return HaltedRun(
            workflow=self._plan.workflow,
            run_id=self._run_id,
            inputs=dict(self._inputs),
            completed=tuple(dict.fromkeys(resolved)),
            results=dict(self._results),
            pending={name: dict(kwargs) for name, kwargs in self._kwargs.items()},
            undo_log=tuple(self._undo_log),
            halted_by=step,
            reason=reason,
            options=dict(self._options),
        )

    def _tolerated(self) -> list[str]:
        return [name for name in self._failed if name in self._tolerant]

    def _end(self, value: Any, error: BaseException | None) -> None:
        self._finished = True
        if error is None:
            self._handle._undo_log = list(self._undo_log)
        self._results.clear()
        self._handle._set(value, error)
        self._emit_finished(error)
        self.stop()

    def _emit_finished(self, error: BaseException | None) -> None:
        if self._events:
            now = trio.current_time()
            self._events.emit(
                RunFinished(self._run_id, self._wf, now, now - self._started, error is None, error)
            )


async def _steps_nursery(task_status: trio.TaskStatus[trio.Nursery]) -> None:
    """The nursery step actors run in; cancelling its scope cancels every step in flight."""
    async with trio.open_nursery() as nursery:
        task_status.started(nursery)
        await trio.sleep_forever()

"""The coordinator: one actor per run that decides which steps run, when, and what then.

Each run is a coordinator actor that supervises its step actors. A step actor is a task actor
(like OTP's ``Task``): it receives its arguments when it starts, runs one attempt of the step
and reports its exit to the coordinator's mailbox. Its restart policy is the step's ``Retry``.
The algorithm, all of it inside the coordinator's single-threaded message loop:

1. On start, count each step's unmet dependencies; the steps with none are *ready*.
2. *Dispatch*: while a step is ready and the run is under its concurrency limit
   (``max_concurrency``; 1 with ``concurrent=False``), take the ready step that comes first in
   the plan's topological order, build its arguments from the inputs and the results so far,
   and start its step actor. Named pools are acquired inside the step actor, so a step waiting
   for a pool never blocks the coordinator. ``inline=True`` steps run inside the coordinator.
3. When every step that takes a result has started, the result is dropped (unless the run
   returns it): long runs keep only what is still needed.
4. A step that returns: record it, count down its dependents' unmet dependencies, dispatch the
   ones that became ready. When every step has completed, the run returns ``returns``' value.
5. A step that raises: if its ``Retry`` allows, it runs again after the backoff delay as a new
   attempt (a restart of its step actor) and holds no concurrency slot while it waits.
   Otherwise the run fails fast: every step in flight is cancelled, pending retries are
   dropped, and once nothing is in flight the run raises one ``WorkflowFailedError`` that
   names the step, chains its error, and lists the completed, failed and cancelled steps.
6. ``handle.cancel()`` (or the runtime shutting down) cancels the same way and ends with
   ``WorkflowCancelledError``. A crash of the coordinator itself ends only this run, with
   ``WorkflowCrashedError``.
"""

from __future__ import annotations

import functools
import heapq
from typing import TYPE_CHECKING, Any

import trio

from arborist.actors import Actor, ActorDeadError, Crashed, ExitReason, TimerHandle

from ._context import StepContext
from ._events import (
    RunFinished,
    RunStarted,
    StepCancelled,
    StepFailed,
    StepFinished,
    StepRetried,
    StepStarted,
)
from ._run import RunHandle, StepRecord
from ._run_errors import (
    StepTimeoutError,
    WorkflowCancelledError,
    WorkflowCrashedError,
    WorkflowFailedError,
)

if TYPE_CHECKING:
    from ._planner import Plan
    from ._pools import Pool
    from ._runtime import Runtime
    from ._workflow import Step

__all__ = ["CancelRun", "Coordinator"]


class CancelRun:
    """Message: cancel the run (sent by ``RunHandle.cancel``)."""

    __slots__ = ()


class _StepExit:
    """Message from a step actor to its coordinator: how one attempt ended."""

    __slots__ = ("attempt", "end", "error", "kind", "name", "start", "value")

    def __init__(
        self,
        kind: int,
        name: str,
        attempt: int,
        start: float,
        value: Any = None,
        error: BaseException | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.attempt = attempt
        self.start = start
        self.end = trio.current_time()
        self.value = value
        self.error = error


_DONE, _FAILED, _CANCELLED = 0, 1, 2


class _Redispatch:
    """Timer message: a step's backoff delay is over; run its next attempt."""

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


class Coordinator(Actor):
    """Drives one workflow run (see the module docstring for the algorithm)."""

    owns_nursery = True

    def __init__(
        self,
        runtime: Runtime,
        plan: Plan,
        inputs: dict[str, Any],
        handle: RunHandle,
        *,
        limit: float,
        run_pools: tuple[Pool, ...],
    ) -> None:
        self._runtime = runtime
        self._plan = plan
        self._inputs = inputs
        self._handle = handle
        self._limit = limit
        self._run_pools = run_pools
        self._events = runtime._events
        self._run_id = handle.run_id
        self._wf = plan.workflow.name
        self._index = {step.name: i for i, step in enumerate(plan.steps)}
        self._waiting = {name: len(deps) for name, deps in plan.dependencies.items()}
        self._consumers = dict(plan.consumers)
        self._results: dict[str, Any] = {}
        self._kwargs: dict[str, dict[str, Any]] = {}
        self._ready: list[tuple[int, str, int]] = []
        self._running: dict[str, tuple[int, trio.CancelScope | None, float]] = {}
        self._retrying: dict[str, TimerHandle | None] = {}
        self._completed: list[str] = []
        self._failed: list[str] = []
        self._cancelled: list[str] = []
        self._failure: tuple[str, BaseException] | None = None
        self._stopping = False
        self._finished = False

    # -- lifecycle ---------------------------------------------------------------------------

    def on_start(self) -> None:
        self._handle._coordinator = self.ref
        self._started = trio.current_time()
        if self._events:
            self._events.emit(RunStarted(self._run_id, self._wf, self._started))
        for step in self._plan.roots:
            heapq.heappush(self._ready, (self._index[step.name], step.name, 1))
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
                cancelled=[*self._cancelled, *self._running, *self._retrying],
            )
        self._handle._set(None, error)
        self._emit_finished(error)

    async def on_receive(self, message: Any) -> None:
        if type(message) is _StepExit:
            self._on_step_exit(message)
        elif type(message) is _Redispatch:
            self._on_redispatch(message)
        elif type(message) is _RunInline:
            await self._run_inline(message)
        elif type(message) is CancelRun:
            self._cancel_everything()
        else:
            raise TypeError(f"coordinator of run {self._run_id} got an unknown message {message!r}")
        self._dispatch()
        self._maybe_finish()

    # -- dispatch ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        ready = self._ready
        running = self._running
        limit = self._limit
        while ready and len(running) < limit and not self._stopping:
            _, name, attempt = heapq.heappop(ready)
            step = self._plan.step(name)
            kwargs = self._kwargs.get(name)
            if kwargs is None:
                try:
                    kwargs = self._plan.arguments_for(name, self._inputs, self._results)
                except LookupError as exc:
                    now = trio.current_time()
                    self._on_step_exit(_StepExit(_FAILED, name, attempt, now, error=exc))
                    continue
                self._kwargs[name] = kwargs
                self._release_inputs_of(name)
            now = trio.current_time()
            if self._events:
                self._events.emit(StepStarted(self._run_id, self._wf, name, attempt, now))
            if step.inline:
                running[name] = (attempt, None, now)
                self.ref.tell(_RunInline(name, attempt))
                continue
            scope = trio.CancelScope()
            running[name] = (attempt, scope, now)
            self.nursery.start_soon(self._step_actor, step, attempt, kwargs, scope, now)

    def _release_inputs_of(self, name: str) -> None:
        """Step ``name`` has its arguments: drop results no other step still needs."""
        plan = self._plan
        consumers = self._consumers
        for producer in plan.value_dependencies[name] | plan.outcome_dependencies[name]:
            left = consumers[producer] - 1
            consumers[producer] = left
            if left == 0 and producer != plan.returns:
                self._results.pop(producer, None)

    def _context_kwargs(
        self, step: Step, attempt: int, kwargs: dict[str, Any]
    ) -> StepContext | None:
        if step.context_param is None:
            return None
        ctx = StepContext(self._runtime, self._run_id, self._wf, step.name, attempt)
        kwargs[step.context_param] = ctx
        return ctx

    async def _step_actor(
        self,
        step: Step,
        attempt: int,
        kwargs: dict[str, Any],
        scope: trio.CancelScope,
        start: float,
    ) -> None:
        """The step actor: one attempt of ``step``; reports its exit to the coordinator."""
        exit_message: _StepExit | None = None
        with scope:
            try:
                value = await self._execute(step, attempt, kwargs)
            except Exception as exc:
                exit_message = _StepExit(_FAILED, step.name, attempt, start, error=exc)
            else:
                exit_message = _StepExit(_DONE, step.name, attempt, start, value=value)
        if exit_message is None:
            exit_message = _StepExit(_CANCELLED, step.name, attempt, start)
        try:
            self.ref.tell(exit_message)
        except ActorDeadError:
            pass  # the coordinator is gone: the run has already ended or crashed

    async def _execute(self, step: Step, attempt: int, kwargs: dict[str, Any]) -> Any:
        call_kwargs = kwargs
        if step.context_param is not None:
            call_kwargs = dict(kwargs)
            ctx = self._context_kwargs(step, attempt, call_kwargs)
        else:
            ctx = None
        pools = self._pools_of(step)
        if not pools:
            return await self._call(step, attempt, call_kwargs)
        borrower: object = ctx if ctx is not None else object()
        acquired: list[Pool] = []
        try:
            for pool in pools:
                await pool.acquire(borrower)
                acquired.append(pool)
            if ctx is not None:
                ctx._held = acquired
            return await self._call(step, attempt, call_kwargs)
        finally:
            for pool in reversed(ctx._held if ctx is not None else acquired):
                pool.release(borrower)

    def _pools_of(self, step: Step) -> tuple[Pool, ...]:
        if step.pool is None:
            return self._run_pools
        pool = self._runtime._pools[step.pool]
        if pool in self._run_pools:
            return self._run_pools
        return tuple(sorted((*self._run_pools, pool), key=lambda p: p.name))

    async def _call(self, step: Step, attempt: int, kwargs: dict[str, Any]) -> Any:
        timeout = step.timeout
        if timeout is None:
            return await self._invoke(step, kwargs)
        with trio.move_on_after(timeout):
            return await self._invoke(step, kwargs)
        raise StepTimeoutError(step.name, timeout, attempt)

    async def _invoke(self, step: Step, kwargs: dict[str, Any]) -> Any:
        if step.is_async:
            return await step.fn(**kwargs)
        return await trio.to_thread.run_sync(
            functools.partial(step.fn, **kwargs),
            limiter=self._runtime._thread_limiter,
            abandon_on_cancel=True,
        )

    async def _run_inline(self, message: _RunInline) -> None:
        name, attempt = message.name, message.attempt
        entry = self._running.get(name)
        if entry is None:  # cancelled before it ran
            return
        step = self._plan.step(name)
        kwargs = dict(self._kwargs[name])
        self._context_kwargs(step, attempt, kwargs)
        start = entry[2]
        try:
            result = step.fn(**kwargs)
            if step.is_async:
                result = await result
        except Exception as exc:
            self._on_step_exit(_StepExit(_FAILED, name, attempt, start, error=exc))
        else:
            self._on_step_exit(_StepExit(_DONE, name, attempt, start, value=result))

    # -- step exits --------------------------------------------------------------------------

    def _on_step_exit(self, message: _StepExit) -> None:
        name = message.name
        self._running.pop(name, None)
        kind = message.kind
        self._handle.records.append(
            StepRecord(
                name,
                message.attempt,
                message.start,
                message.end,
                ("ok", "failed", "cancelled")[kind],
            )
        )
        if kind == _DONE:
            self._on_step_done(name, message)
        elif kind == _FAILED:
            assert message.error is not None
            self._on_step_failed(name, message.attempt, message.error, message)
        else:
            self._cancelled.append(name)
            self._kwargs.pop(name, None)
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

    def _on_step_done(self, name: str, message: _StepExit) -> None:
        self._kwargs.pop(name, None)
        self._completed.append(name)
        if self._consumers[name] > 0 or name == self._plan.returns:
            self._results[name] = message.value
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
        if self._stopping:
            return
        waiting = self._waiting
        index = self._index
        for dependent in self._plan.dependents[name]:
            left = waiting[dependent] - 1
            waiting[dependent] = left
            if left == 0:
                heapq.heappush(self._ready, (index[dependent], dependent, 1))

    def _on_step_failed(
        self, name: str, attempt: int, error: BaseException, message: _StepExit
    ) -> None:
        retry = self._plan.step(name).retry
        will_retry = not self._stopping and retry is not None and retry.should_retry(error, attempt)
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
            assert retry is not None
            delay = retry.delay_for(attempt, self._runtime._random)
            if self._events:
                self._events.emit(
                    StepRetried(self._run_id, self._wf, name, attempt + 1, message.end, delay)
                )
            if delay > 0:
                self._retrying[name] = self.send_after(delay, _Redispatch(name, attempt + 1))
            else:
                heapq.heappush(self._ready, (self._index[name], name, attempt + 1))
            return
        self._failed.append(name)
        self._kwargs.pop(name, None)
        if self._failure is None and not self._stopping:
            self._failure = (name, error)
            self._cancel_everything()

    def _on_redispatch(self, message: _Redispatch) -> None:
        if self._retrying.pop(message.name, None) is None and self._stopping:
            return
        heapq.heappush(self._ready, (self._index[message.name], message.name, message.attempt))

    def _cancel_everything(self) -> None:
        """Fail fast: cancel steps in flight, drop pending retries and ready steps."""
        if self._stopping:
            return
        self._stopping = True
        self._ready.clear()
        for name, timer in list(self._retrying.items()):
            if timer is not None:
                timer.cancel()
            self._cancelled.append(name)
        self._retrying.clear()
        for _, scope, _ in self._running.values():
            if scope is not None:
                scope.cancel()

    # -- the end -----------------------------------------------------------------------------

    def _maybe_finish(self) -> None:
        if self._finished or self._running:
            return
        if self._stopping:
            if self._failure is not None:
                step, cause = self._failure
                error: BaseException = WorkflowFailedError(
                    workflow=self._wf,
                    run_id=self._run_id,
                    step=step,
                    cause=cause,
                    completed=self._completed,
                    failed=self._failed,
                    cancelled=self._cancelled,
                )
            else:
                error = WorkflowCancelledError(
                    workflow=self._wf,
                    run_id=self._run_id,
                    completed=self._completed,
                    cancelled=self._cancelled,
                )
            self._end(None, error)
        elif len(self._completed) == len(self._plan.steps):
            returns = self._plan.returns
            self._end(self._results.get(returns) if returns is not None else None, None)
        elif not self._ready and not self._retrying:
            raise RuntimeError(
                f"run {self._run_id} of {self._wf!r} is stuck: nothing ready, running or retrying"
            )

    def _end(self, value: Any, error: BaseException | None) -> None:
        self._finished = True
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

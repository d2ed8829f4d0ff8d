"""Step actors: one attempt of one step, run as a task actor that reports how it ended.

A step actor receives its arguments when it starts (it has no mailbox, like OTP's ``Task``),
takes the pools the step needs (in name order), runs the function under the per-attempt
timeout (``def`` functions on a worker thread), and on an exception consults the step's
``@compensate`` function. It then tells its coordinator one ``StepExit``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Final

import trio

from arborist.actors import ActorDeadError, ActorRef
from arborist.actors._escapes import sort_escape
from arborist.actors._logging import get_logger, log_context

from ..executors._errors import NotSendableError
from ..workflow._control import ContinueWith, RetryStep
from ..workflow._workflow import is_async_callable
from ._context import StepContext
from ._errors import StepTimeoutError
from ._events import StepCompensated
from ._map_run import run_composite
from ._pools import holding
from ._remote import run_remote_step, step_info
from ._threads import run_in_thread

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..workflow._workflow import Step
    from ._journal import Journal
    from ._pools import Pool
    from ._services import RunServices

logger = get_logger("arborist.runtime.engine")

__all__ = [
    "CANCELLED",
    "DEFAULT_COMPENSATE_ATTEMPTS",
    "DONE",
    "FAILED",
    "StepExit",
    "StepRunner",
    "guard_error",
    "retry_after",
]

DONE: Final = 0
FAILED: Final = 1
CANCELLED: Final = 2

DEFAULT_COMPENSATE_ATTEMPTS: Final = 3
"""Attempts in all when ``@compensate`` asks for retries and the step has no ``Retry``."""


class StepExit:
    """Message from a step actor to its coordinator: how one attempt ended.

    ``decision`` is the compensate function's ``RetryStep`` when it asked for a retry;
    ``end`` defaults to now.
    """

    __slots__ = (
        "attempt",
        "ctx",
        "decision",
        "end",
        "error",
        "kind",
        "name",
        "start",
        "value",
        "waited",
    )

    def __init__(
        self,
        kind: int,
        name: str,
        attempt: int,
        start: float,
        *,
        value: Any = None,
        error: BaseException | None = None,
        decision: RetryStep | None = None,
        ctx: StepContext | None = None,
        end: float | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.attempt = attempt
        self.start = start
        self.end = trio.current_time() if end is None else end
        self.value = value
        self.error = error
        self.decision = decision
        self.ctx = ctx
        self.waited = 0.0  # seconds the attempt waited for pool slots


class StepRunner:
    """Runs step attempts for one run: pools, timeouts, threads, compensation."""

    def __init__(
        self,
        services: RunServices,
        run_id: str,
        workflow: str,
        run_pools: tuple[Pool, ...],
        coordinator: ActorRef,
        nursery: trio.Nursery,
    ) -> None:
        self.services = services
        self.run_id = run_id
        self.workflow = workflow
        self.run_pools = run_pools
        self.coordinator = coordinator
        self.nursery = nursery
        self.waited: dict[str, float] = {}  # step -> seconds its attempt waited for pools
        self.journal: Journal | None = None
        """The run's journal writer (a durable run), given to each step's context."""
        self.now = trio.lowlevel.current_clock().current_time  # trio.current_time, one call
        self.handle_here: Callable[[StepExit], bool] | None = None
        """The coordinator's fast path: handle an exit now if it is idle (True: handled)."""
        self.completed_here: Callable[[str, int, float, Any], bool] | None = None
        """Its faster path for an attempt without a context that returned a value."""
        self.plain: frozenset[str] = frozenset()
        """Steps whose function is awaited directly (``PlanTables.plain``), without pools."""

    def context(self, step: Step, attempt: int) -> StepContext:
        """A fresh context for one attempt of ``step``."""
        return StepContext(
            self.services, self.run_id, self.workflow, step.name, attempt, nursery=self.nursery,
            journal=self.journal,
        )  # fmt: skip

    async def actor(self, step: Step, attempt: int, kwargs: dict[str, Any], start: float) -> None:
        """The step actor's task: run one attempt and report its exit to the coordinator.

        It runs in the run's steps nursery; fail-fast cancels that nursery's scope, and each
        step actor then reports ``CANCELLED`` on its way out (completed values stand). Every
        attempt reports exactly once, whatever the step does with nurseries, cancel scopes or
        exception groups (see ``escaped``).
        """
        ctx = self.context(step, attempt) if step.context_param is not None else None
        try:
            try:
                if step.name in self.plain and not self.run_pools:
                    value = await step.fn(**kwargs)  # what ``execute`` comes down to
                else:
                    value = await self.execute(step, attempt, kwargs, ctx)
            except Exception as exc:
                message = await self.compensate(step, attempt, start, exc, ctx)
            else:
                here = self.completed_here
                if ctx is None and here is not None and here(step.name, attempt, start, value):
                    return
                end = self.now()
                message = StepExit(DONE, step.name, attempt, start, value=value, ctx=ctx, end=end)
        except BaseException as exc:
            message, propagate = self.escaped(step, attempt, start, exc, ctx)
            self.report(message)
            if propagate is not None:
                raise propagate from None
            return
        self.report(message)

    def escaped(
        self,
        step: Step,
        attempt: int,
        start: float,
        exc: BaseException,
        ctx: StepContext | None,
    ) -> tuple[StepExit, BaseException | None]:
        """How an attempt ended that raised something other than an ``Exception``.

        Sorted as the actor kernel sorts what escapes an actor: ``KeyboardInterrupt`` and
        ``SystemExit`` propagate (they stop the whole runtime) and the attempt counts as
        cancelled; so does a real cancellation (an error a nursery child raised while the step
        was being cancelled is logged, the cancellation wins); anything else (``GeneratorExit``,
        a user's ``BaseException`` subclass, a ``trio.Cancelled`` raised when nothing was being
        cancelled) is a final failure of the step: never retried, never compensated.

        Returns:
            The attempt's exit, and what to re-raise (None: nothing).
        """
        escape = sort_escape(exc)
        if escape.interrupt is not None:
            return StepExit(CANCELLED, step.name, attempt, start, ctx=ctx), exc
        if escape.cancellation is not None:
            if escape.crash is not None:
                logger.warning(
                    "step %r raised while it was being cancelled",
                    step.name,
                    exc_info=escape.crash,
                    extra=log_context(run_id=self.run_id, step=step.name),
                )
            return StepExit(CANCELLED, step.name, attempt, start, ctx=ctx), escape.cancellation
        error = escape.crash if escape.crash is not None else exc
        return StepExit(FAILED, step.name, attempt, start, error=error, ctx=ctx), None

    def report(self, message: StepExit) -> None:
        """Tell the coordinator how an attempt ended (dropped if the run is already over)."""
        if self.waited:
            message.waited = self.waited.pop(message.name, 0.0)
        handle_here = self.handle_here
        if handle_here is not None and handle_here(message):
            return
        try:
            self.coordinator.tell(message)
        except ActorDeadError:
            pass  # the coordinator is gone: the run has already ended or crashed

    async def inline(
        self, step: Step, attempt: int, kwargs: dict[str, Any], start: float
    ) -> StepExit:
        """Run one attempt of an ``inline=True`` step right here, in the coordinator's task."""
        ctx = self.context(step, attempt) if step.context_param is not None else None
        if ctx is not None:
            kwargs = {**kwargs, step.context_param: ctx}  # type: ignore[dict-item]
        try:
            try:
                value = await self.call(step, attempt, kwargs)
            except Exception as exc:
                return await self.compensate(step, attempt, start, exc, ctx)
        except BaseException as exc:
            message, propagate = self.escaped(step, attempt, start, exc, ctx)
            if propagate is not None:
                raise  # the coordinator itself is being cancelled or the runtime interrupted
            return message
        return StepExit(DONE, step.name, attempt, start, value=value, ctx=ctx)

    async def compensate(
        self,
        step: Step,
        attempt: int,
        start: float,
        error: Exception,
        ctx: StepContext | None,
    ) -> StepExit:
        """Ask the step's compensate function what to do about ``error``."""
        fn = step.compensate_fn
        if fn is None:
            return StepExit(FAILED, step.name, attempt, start, error=error, ctx=ctx)
        asked = trio.current_time()
        try:
            decision = fn(error)
            if is_async_callable(fn):
                decision = await decision
        except Exception as exc:
            exc.__cause__ = exc.__cause__ or error
            self.compensated(step.name, attempt, asked, "fail", error)
            return StepExit(FAILED, step.name, attempt, start, error=exc, ctx=ctx)
        if isinstance(decision, ContinueWith):
            self.compensated(step.name, attempt, asked, "continue", error)
            return StepExit(DONE, step.name, attempt, start, value=decision.value, ctx=ctx)
        retry = decision if isinstance(decision, RetryStep) else None
        self.compensated(step.name, attempt, asked, "retry" if retry else "fail", error)
        return StepExit(FAILED, step.name, attempt, start, error=error, decision=retry, ctx=ctx)

    def compensated(
        self, step: str, attempt: int, asked: float, decision: str, error: BaseException
    ) -> None:
        """Report a compensate function's decision (``StepCompensated``) to subscribers."""
        events = self.services.events
        if events:
            now = trio.current_time()
            wf = self.workflow
            events.emit(
                StepCompensated(self.run_id, wf, step, attempt, now, now - asked, decision, error)
            )

    async def execute(
        self, step: Step, attempt: int, kwargs: dict[str, Any], ctx: StepContext | None
    ) -> Any:
        """Run the step's function once with its pools and timeout; return its value."""
        if ctx is not None:
            kwargs = dict(kwargs)
            kwargs[step.context_param] = ctx  # type: ignore[index]
        pools = self.pools_of(step)
        if not pools:
            return await self.call(step, attempt, kwargs)
        borrower: object = ctx if ctx is not None else object()
        held: list[Pool] = ctx._held if ctx is not None else []
        asked = trio.current_time()
        async with holding(pools, borrower, held, party=self.run_id):
            self.waited[step.name] = trio.current_time() - asked
            return await self.call(step, attempt, kwargs)

    def pools_of(self, step: Step) -> tuple[Pool, ...]:
        """The pools an attempt of ``step`` holds: the run's and the step's, in name order."""
        if step.pool is None or step.map_statistics is not None:
            return self.run_pools  # a map step's own pool bounds its elements, not the step
        pool = self.services.pools[step.pool]
        if pool in self.run_pools:
            return self.run_pools
        return tuple(sorted((*self.run_pools, pool), key=lambda p: p.name))

    async def call(self, step: Step, attempt: int, kwargs: dict[str, Any]) -> Any:
        """Call the function under the per-attempt timeout."""
        timeout = step.timeout
        if timeout is None:
            return await self.invoke(step, kwargs, attempt=attempt)
        with trio.move_on_after(timeout) as scope:
            return await self.invoke(step, kwargs, scope, attempt=attempt)
        raise StepTimeoutError(step.name, timeout, attempt)

    async def invoke(
        self,
        step: Step,
        kwargs: dict[str, Any],
        timeout: trio.CancelScope | None = None,
        *,
        attempt: int = 1,
    ) -> Any:
        """Call the function: await it, run it on a worker thread, inline, or on an executor.

        An async function is awaited; a plain one runs on a worker thread (inline: right
        here), or on the step's executor (``executor=``). A thread cannot be interrupted:
        see ``_threads`` for what cancelling one means, and ``_remote`` for a remote call. A
        parameter annotated ``RemoteStepInfo`` receives the attempt's info, wherever the
        function runs.
        """
        if step.info_param is not None:
            info = step_info(self.run_id, self.workflow, step.name, attempt)
            kwargs = {**kwargs, step.info_param: info}
        if step.executor is not None and step.composite is None:
            return await run_remote_step(
                self.services, self.run_id, self.workflow, step, attempt, kwargs
            )
        if step.is_async:
            if step.composite is not None:
                return await run_composite(step, kwargs)
            return await step.fn(**kwargs)
        if step.inline:
            return step.fn(**kwargs)
        services = self.services
        return await run_in_thread(
            step.fn,
            kwargs,
            limiter=services.thread_limiter,
            name=step.name,
            timeout=timeout,
            grace=services.shutdown_timeout,
        )


def retry_after(step: Step, failed: StepExit, rng: random.Random) -> tuple[bool, float]:
    """Whether a failed attempt of ``step`` runs again, and after how many seconds.

    A ``RetryStep`` from ``@compensate`` retries within the step's ``Retry`` attempts (or
    ``DEFAULT_COMPENSATE_ATTEMPTS``), after its own delay or the ``Retry`` backoff; a step with a
    compensate that did not ask, or with no ``Retry``, does not retry, nor does a remote step
    whose arguments cannot be sent (``NotSendableError``); otherwise ``Retry`` decides from
    the error and the attempt number.
    """
    retry = step.retry
    attempt = failed.attempt
    decision = failed.decision
    if isinstance(failed.error, NotSendableError):
        return False, 0.0  # a retry would send the same value: fail at once
    if decision is not None:
        budget = retry.attempts if retry is not None else DEFAULT_COMPENSATE_ATTEMPTS
        if decision.after is not None:
            return attempt < budget, decision.after
        return attempt < budget, retry.delay_for(attempt, rng) if retry is not None else 0.0
    if step.compensate_fn is not None or retry is None or failed.error is None:
        return False, 0.0
    if retry.should_retry(failed.error, attempt):
        return True, retry.delay_for(attempt, rng)
    return False, 0.0


def guard_error(exc: BaseException) -> BaseException:
    """What a raising ``when`` guard fails its step with; interrupts and cancellations go on.

    A guard runs inside the coordinator: a ``KeyboardInterrupt``, ``SystemExit`` or a real
    cancellation propagates (re-raised here); anything else, ``BaseException`` subclasses
    included, is the step's error.
    """
    escape = sort_escape(exc)
    if escape.interrupt is not None or escape.cancellation is not None:
        raise exc
    return escape.crash if escape.crash is not None else exc

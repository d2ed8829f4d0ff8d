"""Remote attempts: one attempt of a step (or map element) on an executor, awaited from trio.

A step declared with ``executor=name`` sends its function and arguments to that executor of
the runtime (``RunServices.executors``) and awaits the call with ``wait_remote``: the engine's
completion callback wakes trio through the trio token, so no thread is held per pending call.
The attempt returns the call's value, or raises the user's own exception, exactly where a
local attempt does (``StepRunner.invoke``), so everything around it is the step runner's as
for any step: the per-attempt timeout, retries and backoff, ``@compensate``, the pools and the
run's ``max_concurrency`` (held while the call is in flight), events, records, undo (which
runs here, with the result that came back). The value reaches the coordinator in the same
``StepExit`` as a local step's value: a journal that makes results durable before dependents
see them has one place to do it for both (``Coordinator._on_step_done``).

Cancelling an attempt (its timeout, fail fast, a cancelled run) cancels the call, and a
``RemoteCallCancelled`` event says what the engine really did:

1. A queued call is dropped (``NOT_STARTED``); Ray kills a running one (``KILLED``).
2. Dask, threads and processes cannot stop a running function (``ABANDONED``): it runs to its
   end and its result is discarded (so it is not undone either: key its effects on
   ``RemoteStepInfo.idempotency_key``). The attempt then waits, shielded, until the engine
   reports the function gone or the runtime's ``shutdown_timeout`` passes, keeping its pool
   slot and its place under ``max_concurrency``: they bound the work really running, and a
   retry starts only once the abandoned attempt has ended (or the wait gave up).
3. A call that had already returned a value (``ALREADY_DONE``) completes the attempt, as a
   ``def`` step that returns in time does: the run's rollback undoes it.

Before a run starts (``check_remote_steps``, called by the runtime at ``rt.start``): every
named executor exists, the executor accepts the step's options, and the function and its
constant (``value()``) arguments pickle. The arguments steps make are checked at each
submission: trio and arborist objects are refused before anything is sent, and an argument
the engine fails to serialise fails the step with ``NotSendableError`` naming it, whether
the executor raised it at submit or settled the call with it (Dask sends a trio batch's
calls together, after ``submit`` returned).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import trio

from ..executors._errors import ExecutorOptionError, NotSendableError
from ..executors._info import RemoteStepInfo
from ..executors._protocol import CancelResult
from ..executors._sendable import check_sendable, refuse_local_objects
from ..executors._wait import wait_remote
from ..workflow._compose import MapSpec
from ..workflow._errors import WorkflowDefinitionError
from ..workflow._wiring import ValueRef
from ._events import RemoteCallCancelled

if TYPE_CHECKING:
    from ..executors._protocol import Executor, RemoteCall
    from ..workflow._planner import Plan
    from ..workflow._step import Step
    from ._services import RunServices

__all__ = [
    "await_call",
    "cancel_reporter",
    "check_remote_steps",
    "explain",
    "run_remote_step",
    "step_info",
    "submit_call",
]

CancelReport = Callable[["RemoteCall", "bool | None", float], None]
"""``report(call, gone, waited)``: told once when an awaited call was cancelled."""


def check_remote_steps(plan: Plan, executors: Mapping[str, Executor]) -> None:
    """Check every step of ``plan`` that runs on an executor, before the run starts.

    Raises:
        WorkflowDefinitionError: an unknown executor (naming the step and the known ones), or
            options the executor refuses (the ``ExecutorOptionError`` is the cause).
        NotSendableError: the function or a ``value()`` argument cannot be pickled.
    """
    checked_options: set[tuple[str, int]] = set()  # steps without options share one mapping
    sent: set[int] = set()  # and many steps run one function
    for step in plan.steps:
        if step.executor is None:
            continue
        composite = step.composite
        if isinstance(composite, MapSpec):
            what = f"map step {step.name!r}"
            fn = composite.element
            options = composite.executor_options
        else:
            what = f"step {step.name!r}"
            fn = step.fn
            options = step.executor_options
        executor = executors.get(step.executor)
        if executor is None:
            known = ", ".join(repr(name) for name in sorted(executors)) or "none"
            raise WorkflowDefinitionError(
                f"{what} runs on executor {step.executor!r}, but the runtime has no such "
                f"executor (known: {known}); give it to the runtime: "
                f"Runtime(executors={{{step.executor!r}: DaskExecutor(...)}})",
                workflow=plan.workflow.name,
                step=step.name,
            )
        if (step.executor, id(options)) not in checked_options:
            try:
                executor.validate_options(options)
            except ExecutorOptionError as exc:
                raise WorkflowDefinitionError(
                    f"{what}: {exc}", workflow=plan.workflow.name, step=step.name
                ) from exc
            checked_options.add((step.executor, id(options)))
        constants = {
            param: source.value
            for param, source in plan.arguments[step.name].items()
            if isinstance(source, ValueRef)
        }
        check_sendable(what, None if id(fn) in sent else fn, (), constants)
        sent.add(id(fn))


def submit_call(
    executor: Executor,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    options: Mapping[str, Any],
    *,
    what: str,
    label: str,
) -> RemoteCall:
    """Submit one call; an argument the engine cannot serialise raises ``NotSendableError``.

    Never blocks. The engine's own error (at submit) is explained by pickling each value,
    which costs nothing on the way that works.

    Raises:
        NotSendableError: naming ``what`` and the value.
        Exception: what the executor raised otherwise (e.g. ``ExecutorClosedError``).
    """
    try:
        return executor.submit(fn, args, kwargs, options or None, label=label)
    except NotSendableError:
        raise
    except Exception as exc:
        explain(what, fn, args, kwargs, exc)
        raise


def explain(
    what: str,
    fn: Callable[..., Any] | None,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    error: Exception,
) -> None:
    """Raise ``NotSendableError`` if a value of this call does not pickle; else return."""
    try:
        check_sendable(what, fn, args, kwargs)
    except NotSendableError as found:
        found.__context__ = error  # what the engine said, kept for the traceback
        raise found from found.__cause__


async def await_call(call: RemoteCall, *, hold: float, report: CancelReport) -> Any:
    """Await ``call``; on cancellation, cancel it and hold until it is gone (see the module).

    Returns:
        The call's value (also when the attempt was cancelled just after it had returned).

    Raises:
        trio.Cancelled: the attempt was cancelled.
        Exception: the user's exception, as the remote function raised it.
    """
    try:
        return await wait_remote(call)
    except trio.Cancelled:
        result = call.cancel()  # idempotent: the first cancel (by wait_remote) answers
        gone: bool | None = None
        waited = 0.0
        if result is CancelResult.ABANDONED:
            started = trio.current_time()
            with trio.CancelScope(shield=True):
                gone = await _wait_gone(call, hold)
            waited = trio.current_time() - started
        report(call, gone, waited)
        if result is CancelResult.ALREADY_DONE:
            try:
                return call.result()  # it had returned: the attempt completed
            except Exception:
                pass  # it failed or was cancelled by the engine: the attempt is cancelled
        raise


def _waker(token: trio.lowlevel.TrioToken, event: trio.Event) -> Callable[[], None]:
    def wake() -> None:
        try:
            token.run_sync_soon(event.set)
        except trio.RunFinishedError:
            pass  # the trio run is over: nobody waits any more

    return wake


async def _wait_gone(call: RemoteCall, bound: float) -> bool | None:
    """Wait up to ``bound`` seconds until the engine reports ``call`` gone; None: it cannot."""
    event = trio.Event()
    if not call.add_gone_callback(_waker(trio.lowlevel.current_trio_token(), event)):
        return None
    with trio.move_on_after(bound):
        await event.wait()
    return event.is_set()


def cancel_reporter(
    services: RunServices,
    run_id: str,
    workflow: str,
    step: str,
    executor: str,
    attempt: int,
    element: int | None = None,
) -> CancelReport:
    """A ``report`` for ``await_call`` that emits ``RemoteCallCancelled`` (if anyone listens)."""

    def report(call: RemoteCall, gone: bool | None, waited: float) -> None:
        events = services.events
        if events:
            result = call.cancel_result or CancelResult.ALREADY_DONE
            events.emit(
                RemoteCallCancelled(
                    run_id,
                    workflow,
                    step,
                    attempt,
                    trio.current_time(),
                    executor,
                    call.label,
                    result,
                    gone,
                    waited,
                    element,
                )
            )

    return report


def step_info(
    run_id: str, workflow: str, step: str, attempt: int, element: int | None = None
) -> RemoteStepInfo:
    """The ``RemoteStepInfo`` of one attempt (of one element)."""
    return RemoteStepInfo.for_attempt(run_id, workflow, step, attempt, element=element)


async def run_remote_step(
    services: RunServices,
    run_id: str,
    workflow: str,
    step: Step,
    attempt: int,
    kwargs: dict[str, Any],
) -> Any:
    """One attempt of ``step`` on its executor: submit, await, report a cancel.

    ``kwargs`` are the step's arguments (its ``RemoteStepInfo`` included). The first attempt
    refuses trio and arborist objects among them before anything is sent (a retry sends the
    same arguments).
    """
    name = step.executor
    assert name is not None
    what = f"step {step.name!r}"
    if attempt == 1:
        refuse_local_objects(what, (), kwargs)
    call = submit_call(
        services.executors[name],
        step.fn,
        (),
        kwargs,
        step.executor_options,
        what=what,
        label=step.name,
    )
    report = cancel_reporter(services, run_id, workflow, step.name, name, attempt)
    try:
        return await await_call(call, hold=services.shutdown_timeout, report=report)
    except NotSendableError as exc:  # an executor that sends after submit returned (Dask)
        explain(what, step.fn, (), kwargs, exc)
        raise

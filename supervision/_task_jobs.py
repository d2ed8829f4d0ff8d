"""Jobs of a task supervisor: the ``Job`` and ``TaskHandle`` handles, their errors and events.

A ``Job`` is one fire-and-forget child (``start_child``); a ``TaskHandle`` is one awaitable task
(``start_task``). Both are runtime objects with identity and no public constructor. Events and
snapshots are frozen attrs values; every event carries ``time`` on trio's clock.
"""

from __future__ import annotations

import enum
import inspect
import math
import time as _time
import types
import weakref
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

import attrs
import trio

from arborist.actors._logging import get_logger

__all__ = [
    "Job",
    "JobState",
    "MaxChildrenError",
    "ShutdownReport",
    "TaskCancelled",
    "TaskCancelledError",
    "TaskEvent",
    "TaskFailed",
    "TaskFinished",
    "TaskHandle",
    "TaskStarted",
    "TaskSupervisorClosedError",
    "TaskSupervisorStatistics",
    "TaskTimeoutError",
]

T = TypeVar("T")

logger = get_logger("arborist.supervision")

# -- errors ------------------------------------------------------------------------------------


class TaskSupervisorClosedError(RuntimeError):
    """The task supervisor is not running (not started, stopping or stopped): job refused.

    Attributes:
        supervisor: a description of the supervisor.
    """

    def __init__(self, supervisor: str, state: str) -> None:
        self.supervisor = supervisor
        super().__init__(
            f"task supervisor {supervisor} is {state} and accepts no new jobs; "
            "start jobs only while it runs (inside `async with open_task_supervisor()`)"
        )


class MaxChildrenError(RuntimeError):
    """The task supervisor already runs ``max_children`` jobs: the new job was refused.

    Attributes:
        supervisor: a description of the supervisor.
        max_children: the limit.
    """

    def __init__(self, supervisor: str, max_children: int) -> None:
        self.supervisor = supervisor
        self.max_children = max_children
        super().__init__(
            f"task supervisor {supervisor} already runs {max_children} jobs "
            f"(max_children={max_children}); the job was not started: wait for running jobs "
            "to finish, or raise max_children"
        )


class TaskTimeoutError(TimeoutError):
    """A task did not finish within its ``timeout``; it was cancelled.

    Attributes:
        job: the task.
        timeout: the timeout in seconds.
    """

    def __init__(self, job: Job, timeout: float) -> None:
        self.job = job
        self.timeout = timeout
        super().__init__(
            f"task {job.name!r} (#{job.id}) did not finish within its timeout of {timeout:g} "
            "seconds and was cancelled"
        )


class TaskCancelledError(Exception):
    """Awaited a task that was cancelled (by ``handle.cancel()`` or its supervisor stopping).

    Attributes:
        job: the task.
        by: ``"handle.cancel()"`` or ``"supervisor shutdown"``.
    """

    def __init__(self, job: Job, by: str) -> None:
        self.job = job
        self.by = by
        super().__init__(f"task {job.name!r} (#{job.id}) was cancelled by {by}")


# -- jobs --------------------------------------------------------------------------------------


class JobState(enum.Enum):
    """Where a job is in its life: running, then exactly one final state."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


RUNNING = JobState.RUNNING
FINISHED = JobState.FINISHED
FAILED = JobState.FAILED
CANCELLED = JobState.CANCELLED
BY_HANDLE = "handle.cancel()"
BY_SUPERVISOR = "supervisor shutdown"


class Job:
    """One fire-and-forget job of a ``TaskSupervisor`` (returned by ``start_child``).

    A read-only view: its id (unique within its supervisor), name and state. Fire-and-forget
    jobs cannot be cancelled one by one (use ``start_task`` for that); they end with their
    supervisor. No public constructor.
    """

    __slots__ = ("_args", "_fn", "_is_async", "_name", "_started_at", "id", "state")

    id: int
    """Unique within its supervisor, in start order."""
    state: JobState
    """Running, then finished, failed or cancelled."""
    _fn: Callable[..., Any]
    _args: tuple[Any, ...]
    _name: str | None
    _is_async: bool
    _started_at: float

    def __init__(self) -> None:
        raise TypeError("jobs are created by TaskSupervisor.start_child / start_task")

    @classmethod
    def _create(
        cls,
        ident: int,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        name: str | None,
        now: float,
        asynchronous: bool,
    ) -> Any:  # Self, for TaskHandle too
        self = object.__new__(cls)
        self.id = ident
        self._fn = fn
        self._args = args
        self._name = name
        self._is_async = asynchronous
        self._started_at = now
        self.state = RUNNING
        return self

    @property
    def name(self) -> str:
        """The name given to ``start_child``/``start_task``, else the function's qualified name."""
        if self._name is None:
            fn = self._fn
            self._name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
            if self._name is None:
                self._name = repr(fn)
        return self._name

    @property
    def done(self) -> bool:
        """True once the job has finished, failed or been cancelled."""
        return self.state is not RUNNING

    def __repr__(self) -> str:
        return f"<{type(self).__name__} #{self.id} {self.name!r} {self.state.value}>"


class TaskHandle(Job, Generic[T]):
    """An awaitable task of a ``TaskSupervisor`` (returned by ``start_task``): fan-out/fan-in.

    ``await handle`` (or ``await handle.result()``) waits for the task and returns its value,
    or raises its exception. Any number of tasks may await one handle. Must be used from the
    supervisor's trio thread.

    Example:
        >>> handles = [tasks.start_task(fetch, url) for url in urls]  # doctest: +SKIP
        >>> pages = [await h for h in handles]  # doctest: +SKIP
    """

    __slots__ = (
        "__weakref__",
        "_by",
        "_cancel",
        "_deadline",
        "_event",
        "_exc",
        "_future",
        "_timeout",
        "_unobserved",
        "_value",
    )

    _value: T
    _timeout: float | None
    _deadline: float
    _cancel: trio.CancelScope | bool | None
    _event: trio.Event | None
    _exc: BaseException | None
    _by: str
    _future: Future[Any] | None
    _unobserved: weakref.WeakSet[TaskHandle[Any]] | None

    def _with_timeout(self, timeout: float | None) -> TaskHandle[T]:
        """Finish a handle made by ``_create``: its timeout (from its start) and task state."""
        self._timeout = timeout
        self._deadline = math.inf if timeout is None else self._started_at + timeout
        self._cancel = None
        self._event = None
        self._exc = None
        self._by = ""
        self._future = None
        self._unobserved = None
        return self

    def cancel(self) -> None:
        """Cancel the task (no-op once done); awaiting it then raises ``TaskCancelledError``.

        Takes effect at the task's next checkpoint; a task that has not begun never runs.
        """
        if self.state is not RUNNING:
            return
        self._by = BY_HANDLE
        scope = self._cancel
        if isinstance(scope, trio.CancelScope):
            scope.cancel()
        else:
            self._cancel = True  # not begun yet: it will not run

    @property
    def cancelled(self) -> bool:
        """True if the task ended cancelled (by ``cancel()`` or its supervisor stopping)."""
        return self.state is CANCELLED

    async def result(self) -> T:
        """Wait until the task is done; return its value or raise its exception.

        Cancelling the awaiter does not cancel the task.

        Raises:
            Exception: the task's own exception, re-raised (its cause chain is kept); the
                failure then counts as observed.
            TaskTimeoutError: the task ran past its timeout and was cancelled.
            TaskCancelledError: the task was cancelled.
            RuntimeError: the task raised a ``BaseException`` that is not an ``Exception``
                (``GeneratorExit``, a stale ``trio.Cancelled``, your own subclass, or a
                ``KeyboardInterrupt``/``SystemExit``, which also stops the actor system); the
                original is the ``__cause__``.
        """
        if self.state is RUNNING:
            if self._event is None:
                self._event = trio.Event()
            await self._event.wait()
        else:
            await trio.lowlevel.checkpoint()
        return self._unwrap()

    def __await__(self) -> Generator[Any, None, T]:
        return self.result().__await__()

    def _unwrap(self) -> T:
        if self.state is FINISHED:
            return self._value
        exc = self._exc  # set exactly when the task failed
        if exc is None:
            raise TaskCancelledError(self, self._by or BY_SUPERVISOR)
        unobserved, self._unobserved = self._unobserved, None
        if unobserved is not None:
            unobserved.discard(self)
        if isinstance(exc, Exception):
            raise exc.with_traceback(exc.__traceback__)
        raise awaited_error(self, exc)

    def __del__(self) -> None:
        # A failed task whose handle is dropped unawaited is reported now: its supervisor
        # holds it only weakly, so it could not report it at its own stop.
        if getattr(self, "_unobserved", None) is not None:
            logger.error(
                "task %r failed and its handle was never awaited (it was dropped)",
                self,
                exc_info=self._exc,
            )


def awaited_error(job: Job, exc: BaseException) -> Exception:
    """What awaiting a failed task raises: its own exception, or a ``RuntimeError`` from it.

    A ``BaseException`` that is not an ``Exception`` is never raised into an awaiter.
    """
    if isinstance(exc, Exception):
        return exc
    effect = (
        "it stopped the actor system"
        if isinstance(exc, KeyboardInterrupt | SystemExit)
        else "it failed this task only"
    )
    error = RuntimeError(
        f"task {job.name!r} (#{job.id}) raised {type(exc).__name__}({exc}), a BaseException "
        f"that is not an Exception; {effect}"
    )
    error.__cause__ = exc
    return error


def _plain_async_def(fn: Any) -> bool:
    """Whether ``fn`` is a plain ``async def`` function: one attribute read, no unwrapping (W5)."""
    return type(fn) is types.FunctionType and bool(fn.__code__.co_flags & inspect.CO_COROUTINE)


def is_async(fn: Callable[..., Any]) -> bool:
    if _plain_async_def(fn) or inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004  (an async __call__ on an instance)
    return call is not None and not inspect.isfunction(fn) and inspect.iscoroutinefunction(call)


def check_fn(fn: Any, what: str) -> None:
    if _plain_async_def(fn):
        return  # callable, not a coroutine, not a generator (an async one has another flag)
    if inspect.iscoroutine(fn):
        raise TypeError(f"{what} takes the async function and its arguments, not a coroutine")
    if not callable(fn):
        raise TypeError(f"{what} takes a callable (an async function, or a sync one); got {fn!r}")
    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
        raise TypeError(
            f"{what} got the generator function {fn!r}; pass a function that does the work "
            "(`async def` or `def`), not a generator"
        )


# -- events and snapshots ----------------------------------------------------------------------


@attrs.frozen
class TaskStarted:
    """A job was accepted and starts now (``time`` on trio's clock, ``wall_time`` the epoch's).

    Every task event carries ``wall_time`` (``time.time()`` when it was built; keyword-only,
    left out of equality) beside ``time``.
    """

    job: Job
    time: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class TaskFinished:
    """A job returned; ``duration`` seconds after it started."""

    job: Job
    time: float
    duration: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class TaskFailed:
    """A job raised ``exc`` (or timed out: ``TaskTimeoutError``)."""

    job: Job
    exc: BaseException
    time: float
    duration: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class TaskCancelled:
    """A job was cancelled, ``by`` its handle or by the supervisor stopping."""

    job: Job
    by: str
    time: float
    duration: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ShutdownReport:
    """What happened to the jobs after the supervisor began to stop (the last event).

    Attributes:
        completed: jobs that finished during the shutdown grace period.
        cancelled: jobs cancelled after the stop began (``cut`` plus handle cancels).
        failed: jobs that failed after the stop began.
        cut: the jobs the supervisor cancelled because they outlived the grace period.
        time: when the last job ended (trio's clock).
        wall_time: seconds since the epoch when the report was made.
    """

    completed: int
    cancelled: int
    failed: int
    cut: tuple[Job, ...]
    time: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


TaskEvent = TaskStarted | TaskFinished | TaskFailed | TaskCancelled | ShutdownReport
"""Any event a ``TaskSupervisor`` reports to its subscribers."""


@attrs.frozen
class TaskSupervisorStatistics:
    """A snapshot of a task supervisor's counters.

    ``started == running + finished + failed + cancelled`` always holds.
    """

    running: int
    started: int
    finished: int
    failed: int
    cancelled: int

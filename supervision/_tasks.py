"""TaskSupervisor: an actor that runs fire-and-forget jobs and awaitable tasks as trio tasks.

The OTP ``Task.Supervisor``, in trio terms. Semantics, in one place:

- Jobs are plain trio tasks in the supervisor's own nursery, not one actor per job, so
  starting one costs about as much as ``nursery.start_soon``. Every job is *temporary*: it is
  never restarted, and it is cancelled when the supervisor stops.
- ``start_child(fn, *args)`` fires and forgets: it returns a ``Job`` at once and never raises
  what the job raises. A failure is logged (logger ``arborist.supervision``) and reported as a
  ``TaskFailed`` event; it never reaches the caller.
- ``start_task(fn, *args, timeout=None)`` returns a ``TaskHandle``: ``await handle`` gives the
  value or raises the job's own exception (its ``__cause__`` intact), ``TaskTimeoutError``
  after ``timeout``, or ``TaskCancelledError``. A failed task nobody awaited is logged when
  the supervisor stops, so no failure goes unseen.
- ``fn`` is an async function, or a plain callable that runs on a worker thread through
  ``trio.to_thread.run_sync(..., abandon_on_cancel=True)``: a cancelled thread job is abandoned
  (Python cannot stop a thread); its result is discarded.
- Refusing is not dropping: starting a job on a closed supervisor, or past ``max_children``
  running jobs, raises at the call (``TaskSupervisorClosedError``, ``MaxChildrenError``).
- Stopping (``aclose()``, ``ref.shutdown()``, or its parent supervisor): new jobs are refused,
  running jobs get ``shutdown`` seconds to finish, the rest are cancelled, and a frozen
  ``ShutdownReport`` says how many completed, failed and were cancelled (and which were cut).
- Events (``subscribe``): ``TaskStarted`` when a job is accepted, then exactly one of
  ``TaskFinished``, ``TaskFailed``, ``TaskCancelled``; ``ShutdownReport`` last.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future, InvalidStateError
from contextlib import asynccontextmanager
from typing import Any, TypeVar, overload

import trio

from arborist.actors import Actor, ActorRef, ActorSystem, ExitReason, open_actor_system

from ._events import EventBus, Unsubscribe
from ._task_jobs import (
    BY_HANDLE,
    BY_SUPERVISOR,
    CANCELLED,
    FAILED,
    FINISHED,
    RUNNING,
    Job,
    JobState,
    MaxChildrenError,
    ShutdownReport,
    TaskCancelled,
    TaskEvent,
    TaskFailed,
    TaskFinished,
    TaskHandle,
    TaskStarted,
    TaskSupervisorClosedError,
    TaskSupervisorStatistics,
    TaskTimeoutError,
    check_fn,
)

__all__ = ["DEFAULT_TASK_SHUTDOWN", "TaskSupervisor", "open_task_supervisor"]

logger = logging.getLogger("arborist.supervision")

T = TypeVar("T")

DEFAULT_TASK_SHUTDOWN = 5.0
"""Seconds running jobs get to finish when their supervisor stops (as OTP's 5000 ms)."""


# -- the supervisor ----------------------------------------------------------------------------


def _check_options(shutdown: float, max_children: int | None) -> None:
    if isinstance(shutdown, bool) or not isinstance(shutdown, int | float) or not shutdown >= 0:
        raise ValueError(
            f"shutdown must be the seconds (>= 0, math.inf to wait forever) running jobs get "
            f"to finish when the task supervisor stops; got {shutdown!r}"
        )
    if max_children is not None and (
        not isinstance(max_children, int) or isinstance(max_children, bool) or max_children < 1
    ):
        raise ValueError(
            f"max_children must be a positive int, or None for no limit; got {max_children!r}"
        )


class TaskSupervisor(Actor):
    """An actor that supervises temporary jobs: fire-and-forget children and awaitable tasks.

    Start it like any actor, ``ref = await system.spawn(TaskSupervisor, shutdown=5.0,
    max_children=None)`` (or as a child of a ``Supervisor``), then get the object with
    ``TaskSupervisor.from_ref(ref)``; or use ``open_task_supervisor()``. Its methods are
    synchronous and must be called from the system's trio thread, except the ``*_threadsafe``
    ones. Messages sent to it are logged and ignored.

    Args:
        shutdown: seconds running jobs get to finish when it stops before they are cancelled
            (``math.inf``: wait forever). A parent supervisor should give this child a longer
            shutdown, or the jobs are cut when the parent's time runs out.
        max_children: refuse new jobs while this many run (None: no limit).

    Raises:
        ValueError: a bad ``shutdown`` or ``max_children``.
    """

    owns_nursery = True

    def __init__(
        self, *, shutdown: float = DEFAULT_TASK_SHUTDOWN, max_children: int | None = None
    ) -> None:
        _check_options(shutdown, max_children)
        self._shutdown = shutdown
        self._max_children = max_children
        self._state = "not started"
        self._jobs: trio.Nursery | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._thread = 0
        self._ids = itertools.count(1)
        self._running: dict[Job, None] = {}
        self._started = self._finished = self._failed = self._cancelled = 0
        self._events: EventBus[TaskEvent] = EventBus()
        self._idle: trio.Event | None = None
        self._grace: float | None = None
        self._at_stop: tuple[int, int, int] | None = None
        self._cut: list[Job] = []
        self._unobserved: dict[TaskHandle[Any], None] = {}
        self._report: ShutdownReport | None = None

    @classmethod
    def from_ref(cls, ref: ActorRef) -> TaskSupervisor:
        """Return the running ``TaskSupervisor`` behind ``ref`` (to call its methods).

        Raises:
            TypeError: ``ref`` is not the ref of a ``TaskSupervisor``.
        """
        actor = getattr(getattr(ref, "_cell", None), "actor", None)
        if not isinstance(actor, TaskSupervisor):
            raise TypeError(f"from_ref takes the ref of a TaskSupervisor; got {ref!r}")
        return actor

    def _describe(self) -> str:
        try:
            ref = self.ref
        except RuntimeError:
            return f"#{id(self):x}"
        return repr(ref.name) if ref.name is not None else f"#{ref.id}"

    def __repr__(self) -> str:
        return (
            f"<TaskSupervisor {self._describe()} {self._state}, {len(self._running)} jobs running>"
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Open the jobs' nursery; the supervisor accepts jobs from now on."""
        self._thread = threading.get_ident()
        self._token = self.system.token
        await self.nursery.start(self._host)

    async def _host(self, task_status: trio.TaskStatus[None]) -> None:
        try:
            async with trio.open_nursery() as jobs:
                self._jobs = jobs
                self._state = "running"
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._finish_stop()

    def on_receive(self, message: Any) -> None:
        """Log and ignore a message: jobs are started with methods, not messages."""
        logger.warning(
            "%r ignores the message %r; call start_child/start_task on "
            "TaskSupervisor.from_ref(ref), or through ref.proxy()",
            self,
            message,
        )

    async def on_stop(self, reason: ExitReason) -> None:
        """Refuse new jobs, give running ones the shutdown time, cancel the rest."""
        self._begin_stop()
        grace = self._shutdown if self._grace is None else self._grace
        if self._running:
            with trio.move_on_after(grace):
                await self._wait_idle()
        if self._running:
            assert self._jobs is not None
            self._jobs.cancel_scope.cancel()
            await self._wait_idle()

    async def aclose(self, *, shutdown: float | None = None) -> ShutdownReport:
        """Stop the supervisor gracefully and return what happened to the running jobs.

        Blocks for at most the shutdown time (plus however long cancelled jobs take to
        unwind). Idempotent: a stopped supervisor returns its report again.

        Args:
            shutdown: override the grace period for this stop (0: cancel at once).
        """
        if shutdown is not None:
            _check_options(shutdown, None)
            self._grace = shutdown
        await self.ref.shutdown(timeout=None)
        assert self._report is not None
        return self._report

    @property
    def report(self) -> ShutdownReport | None:
        """The ``ShutdownReport`` once the supervisor has stopped, else None."""
        return self._report

    def _begin_stop(self) -> None:
        if self._at_stop is None:
            self._state = "stopping"
            self._at_stop = (self._finished, self._failed, self._cancelled)

    async def _wait_idle(self) -> None:
        while self._running:
            self._idle = trio.Event()
            await self._idle.wait()

    def _finish_stop(self) -> None:
        self._begin_stop()
        self._state = "stopped"
        if self._report is not None:
            return
        assert self._at_stop is not None
        finished, failed, cancelled = self._at_stop
        self._report = report = ShutdownReport(
            completed=self._finished - finished,
            cancelled=self._cancelled - cancelled,
            failed=self._failed - failed,
            cut=tuple(sorted(self._cut, key=_by_id)),
            time=trio.current_time(),
        )
        if report.cut:
            logger.warning(
                "%r cut %d jobs still running after its shutdown time: %s",
                self,
                len(report.cut),
                ", ".join(repr(job) for job in report.cut[:20])
                + (" ..." if len(report.cut) > 20 else ""),
            )
        for handle in self._unobserved:
            handle._unobserved = None
            logger.error(
                "%r: task %r failed and its handle was never awaited",
                self,
                handle,
                exc_info=handle._exc,
            )
        self._unobserved.clear()
        if self._events:
            self._events.emit(report)

    # -- observing ----------------------------------------------------------------------------

    def subscribe(self, handler: Callable[[TaskEvent], Any]) -> Unsubscribe:
        """Call ``handler(event)`` synchronously for every later event; return an unsubscriber."""
        return self._events.subscribe(handler)

    def statistics(self) -> TaskSupervisorStatistics:
        """Return a frozen snapshot of the job counters."""
        return TaskSupervisorStatistics(
            running=len(self._running),
            started=self._started,
            finished=self._finished,
            failed=self._failed,
            cancelled=self._cancelled,
        )

    def running_jobs(self) -> list[Job]:
        """The jobs running now, oldest first."""
        return list(self._running)

    # -- starting jobs ------------------------------------------------------------------------

    def _accept(self) -> trio.Nursery:
        jobs = self._jobs
        if self._state != "running" or jobs is None:
            raise TaskSupervisorClosedError(self._describe(), self._state)
        if threading.get_ident() != self._thread:
            raise RuntimeError(
                f"{self!r}: start_child/start_task must be called from the trio thread that "
                "runs the supervisor; from other threads use start_child_threadsafe / "
                "start_task_threadsafe"
            )
        limit = self._max_children
        if limit is not None and len(self._running) >= limit:
            raise MaxChildrenError(self._describe(), limit)
        return jobs

    def _register(self, job: Job) -> None:
        self._running[job] = None
        self._started += 1
        if self._events:
            self._events.emit(TaskStarted(job, job._started_at))

    def start_child(self, fn: Callable[..., Any], *args: Any, name: str | None = None) -> Job:
        """Start ``fn(*args)`` as a fire-and-forget job and return at once.

        Never blocks and is not a checkpoint; the job begins at trio's next scheduling round.
        Whatever the job raises is logged and reported as ``TaskFailed``, never raised here.
        An async ``fn`` runs as a trio task; a sync one on a worker thread.

        Args:
            fn: an async function, or a sync callable (runs via ``trio.to_thread``).
            *args: its positional arguments (use ``functools.partial`` for keywords).
            name: a name for logs and events (default: ``fn``'s qualified name).

        Returns:
            The ``Job``.

        Raises:
            TaskSupervisorClosedError: the supervisor is not running.
            MaxChildrenError: ``max_children`` jobs already run.
            TypeError: ``fn`` is not a callable.
        """
        jobs = self._accept()
        check_fn(fn, "start_child")
        job: Job = Job._create(next(self._ids), fn, args, name, trio.current_time())
        self._register(job)
        jobs.start_soon(self._run_child, job, name=job._name or fn)
        return job

    @overload
    def start_task(
        self,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        timeout: float | None = None,
        name: str | None = None,
    ) -> TaskHandle[T]: ...

    @overload
    def start_task(
        self,
        fn: Callable[..., T],
        *args: Any,
        timeout: float | None = None,
        name: str | None = None,
    ) -> TaskHandle[T]: ...

    def start_task(
        self,
        fn: Callable[..., Any],
        *args: Any,
        timeout: float | None = None,
        name: str | None = None,
    ) -> TaskHandle[Any]:
        """Start ``fn(*args)`` as a task and return its awaitable handle at once.

        Never blocks and is not a checkpoint. Await the handle for the value; its failure is
        reported as ``TaskFailed`` and re-raised to whoever awaits it.

        Args:
            fn: an async function, or a sync callable (runs via ``trio.to_thread``).
            *args: its positional arguments.
            timeout: seconds from now after which the task is cancelled and fails with
                ``TaskTimeoutError`` (None: no limit).
            name: a name for logs and events (default: ``fn``'s qualified name).

        Returns:
            The ``TaskHandle``.

        Raises:
            TaskSupervisorClosedError: the supervisor is not running.
            MaxChildrenError: ``max_children`` jobs already run.
            TypeError: ``fn`` is not a callable.
            ValueError: ``timeout`` is negative or NaN.
        """
        jobs = self._accept()
        check_fn(fn, "start_task")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0
        ):
            raise ValueError(f"timeout must be seconds >= 0, or None for none; got {timeout!r}")
        handle = TaskHandle._create_task(
            next(self._ids), fn, args, name, trio.current_time(), timeout
        )
        self._register(handle)
        jobs.start_soon(self._run_task, handle, name=handle._name or fn)
        return handle

    # -- from other threads -------------------------------------------------------------------

    def _submit(self, callback: Callable[[], None], future: Future[Any]) -> None:
        token = self._token
        if token is None:
            raise TaskSupervisorClosedError(self._describe(), self._state)
        try:
            token.run_sync_soon(callback)
        except trio.RunFinishedError:
            future.set_exception(TaskSupervisorClosedError(self._describe(), "stopped"))

    def start_child_threadsafe(
        self, fn: Callable[..., Any], *args: Any, name: str | None = None
    ) -> Future[Job]:
        """``start_child`` from any thread; never blocks.

        Returns:
            A ``concurrent.futures.Future`` that resolves to the ``Job`` once the trio thread
            has started it, or fails with the refusal (closed, ``max_children``, bad ``fn``).
        """
        future: Future[Job] = Future()

        def submit() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(self.start_child(fn, *args, name=name))
            except Exception as exc:
                future.set_exception(exc)

        self._submit(submit, future)
        return future

    def start_task_threadsafe(
        self,
        fn: Callable[..., Any],
        *args: Any,
        timeout: float | None = None,
        name: str | None = None,
    ) -> Future[Any]:
        """``start_task`` from any thread; never blocks.

        Returns:
            A ``concurrent.futures.Future`` of the task's value: ``future.result()`` blocks the
            calling thread until the task is done, then returns or raises as ``await handle``
            would (a refusal too). ``future.cancel()`` cancels the task; the task being
            cancelled cancels the future.
        """
        future: Future[Any] = Future()
        token = self._token

        def submit() -> None:
            if future.cancelled():
                return
            try:
                handle = self.start_task(fn, *args, timeout=timeout, name=name)
            except Exception as exc:
                _settle_future(future, exc, None)
                return
            handle._future = future

            def on_done(f: Future[Any]) -> None:
                if f.cancelled() and token is not None:
                    try:
                        token.run_sync_soon(handle.cancel)
                    except trio.RunFinishedError:
                        pass

            future.add_done_callback(on_done)

        self._submit(submit, future)
        return future

    # -- running jobs -------------------------------------------------------------------------

    async def _call(self, job: Job) -> Any:
        fn = job._fn
        if job._is_async:
            return await fn(*job._args)
        # trio raises TypeError if a sync-looking callable returns a coroutine.
        return await trio.to_thread.run_sync(fn, *job._args, abandon_on_cancel=True)

    async def _run_child(self, job: Job) -> None:
        try:
            await self._call(job)
        except Exception as exc:
            self._settle(job, FAILED, exc)
            logger.error("%r: job %r failed", self, job, exc_info=exc)  # noqa: TRY400
        except BaseException:
            self._settle(job, CANCELLED, None)
            raise
        else:
            self._settle(job, FINISHED, None)

    async def _run_task(self, handle: TaskHandle[Any]) -> None:
        if handle._cancel is True:
            self._settle(handle, CANCELLED, None)
            return
        try:
            with trio.CancelScope(deadline=handle._deadline) as scope:
                handle._cancel = scope
                try:
                    value = await self._call(handle)
                except Exception as exc:
                    self._settle(handle, FAILED, exc)
                    return
            if not scope.cancelled_caught:
                handle._value = value
                self._settle(handle, FINISHED, None)
            elif handle._by == BY_HANDLE:
                self._settle(handle, CANCELLED, None)
            else:
                assert handle._timeout is not None
                self._settle(handle, FAILED, TaskTimeoutError(handle, handle._timeout))
        except BaseException:
            if handle.state is RUNNING:
                self._settle(handle, CANCELLED, None)
            raise

    def _settle(self, job: Job, state: JobState, exc: BaseException | None) -> None:
        job.state = state
        del self._running[job]
        if state is FINISHED:
            self._finished += 1
        elif state is FAILED:
            self._failed += 1
        else:
            self._cancelled += 1
        is_task = type(job) is TaskHandle
        if state is CANCELLED:
            by = job._by if is_task and job._by else BY_SUPERVISOR  # type: ignore[attr-defined]
            if by == BY_SUPERVISOR:
                self._begin_stop()
                self._cut.append(job)
        if self._events:
            now = trio.current_time()
            duration = now - job._started_at
            if state is FINISHED:
                self._events.emit(TaskFinished(job, now, duration))
            elif state is FAILED:
                assert exc is not None
                self._events.emit(TaskFailed(job, exc, now, duration))
            else:
                self._events.emit(TaskCancelled(job, by, now, duration))
        if is_task:
            self._settle_task(job, state, exc)  # type: ignore[arg-type]
        if not self._running and self._idle is not None:
            self._idle.set()

    def _settle_task(
        self, handle: TaskHandle[Any], state: JobState, exc: BaseException | None
    ) -> None:
        if state is CANCELLED and not handle._by:
            handle._by = BY_SUPERVISOR
        if state is FAILED:
            handle._exc = exc
            if handle._event is None and handle._future is None:
                self._unobserved[handle] = None
                handle._unobserved = self._unobserved
        if handle._event is not None:
            handle._event.set()
        future = handle._future
        if future is not None:
            if state is FINISHED:
                _settle_future(future, None, handle._value)
            elif state is FAILED:
                _settle_future(future, exc, None)
            else:
                future.cancel()


def _by_id(job: Job) -> int:
    return job.id


def _settle_future(future: Future[Any], exc: BaseException | None, value: Any) -> None:
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)
    except InvalidStateError:  # cancelled by its thread meanwhile
        pass


@asynccontextmanager
async def open_task_supervisor(
    system: ActorSystem | None = None,
    *,
    shutdown: float = DEFAULT_TASK_SHUTDOWN,
    max_children: int | None = None,
    name: str | None = None,
) -> AsyncIterator[TaskSupervisor]:
    """Run a ``TaskSupervisor`` for the duration of the block.

    It is spawned as an actor of ``system`` (or of an actor system opened for it). When the
    block ends normally, running jobs get ``shutdown`` seconds to finish and the rest are
    cancelled; when it ends with an exception (or is cancelled) they are cancelled at once,
    as a trio nursery does. ``supervisor.report`` then holds the ``ShutdownReport``.

    Args:
        system: the actor system to spawn in (default: a new one, closed with the block).
        shutdown: seconds running jobs get to finish when the block ends.
        max_children: refuse new jobs while this many run (None: no limit).
        name: register the supervisor's actor under this name.

    Raises:
        ValueError: a bad ``shutdown`` or ``max_children``.

    Example:
        >>> async with open_task_supervisor() as tasks:  # doctest: +SKIP
        ...     tasks.start_child(send_slack_notification, "Hey! We got an event!")
    """
    _check_options(shutdown, max_children)
    if system is None:
        # The actor system's nursery wraps what the block raises in a group: unwrap it, so the
        # caller sees its own exception, as with any other context manager.
        raised: BaseException | None = None
        try:
            async with (
                open_actor_system(shutdown_timeout=max(shutdown, 5.0)) as own,
                open_task_supervisor(
                    own, shutdown=shutdown, max_children=max_children, name=name
                ) as supervisor,
            ):
                try:
                    yield supervisor
                except BaseException as exc:
                    raised = exc
                    raise
        except BaseExceptionGroup as group:
            if raised is None or list(group.exceptions) != [raised]:
                raise
        else:
            return
        raise raised
    ref = await system.spawn(
        TaskSupervisor, name=name, shutdown=shutdown, max_children=max_children
    )
    supervisor = TaskSupervisor.from_ref(ref)
    failed = True
    try:
        yield supervisor
        failed = False
    finally:
        with trio.CancelScope(shield=True):
            await supervisor.aclose(shutdown=0 if failed else None)

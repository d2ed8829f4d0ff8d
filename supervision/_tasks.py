"""TaskSupervisor: an actor that runs fire-and-forget jobs and awaitable tasks as trio tasks.

The OTP ``Task.Supervisor``, in trio terms. Semantics, in one place:

- Jobs are plain trio tasks in the supervisor's own nursery, not one actor per job, so
  starting one costs about as much as ``nursery.start_soon``. Every job is *temporary*: it is
  never restarted, and it is cancelled when the supervisor stops.
- ``start_child(fn, *args)`` fires and forgets: it returns a ``Job`` at once and never raises
  what the job raises. A failure is logged (logger ``arborist.supervision``) and reported as a
  ``TaskFailed`` event; it never reaches the caller. A ``KeyboardInterrupt`` or ``SystemExit``
  in a job stops the whole actor system instead (see ``arborist.actors``).
- ``start_task(fn, *args, timeout=None)`` returns a ``TaskHandle``: ``await handle`` gives the
  value or raises the job's own exception (its ``__cause__`` intact), ``TaskTimeoutError``
  after ``timeout``, or ``TaskCancelledError``. A failed task nobody awaited is logged when
  the supervisor stops, or when its handle is dropped unawaited, so no failure goes unseen.
- Memory is flat in the number of jobs run: the supervisor keeps the running jobs and
  counters (``statistics()``), never the jobs that ended (see ``_task_ledger``).
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
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, TypeVar, overload

import trio

from arborist.actors import Actor, ActorRef, ExitReason
from arborist.actors._checks import check_timeout
from arborist.actors._escapes import sort_escape
from arborist.actors._logging import get_logger

from ._events import Unsubscribe
from ._task_checks import LastJobChecked, check_options
from ._task_jobs import (
    BY_HANDLE,
    RUNNING,
    Job,
    MaxChildrenError,
    ShutdownReport,
    TaskEvent,
    TaskHandle,
    TaskSupervisorClosedError,
    TaskSupervisorStatistics,
    TaskTimeoutError,
)
from ._task_ledger import JobLedger, log_job_failure, settle_future

__all__ = ["DEFAULT_TASK_SHUTDOWN", "TaskSupervisor"]

logger = get_logger("arborist.supervision")

T = TypeVar("T")

DEFAULT_TASK_SHUTDOWN = 5.0
"""Seconds running jobs get to finish when their supervisor stops (as OTP's 5000 ms)."""


# -- the supervisor ----------------------------------------------------------------------------


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
        check_options(shutdown, max_children)
        self._shutdown = shutdown
        self._max_children = max_children
        self._jobs: trio.Nursery | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._thread = 0
        self._ids = itertools.count(1)
        self._ledger = JobLedger()
        self._grace: float | None = None
        self._clock: Callable[[], float] = trio.current_time  # bound to the run's clock at start
        self._checks = LastJobChecked()

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

    @property
    def _state(self) -> str:
        ledger = self._ledger
        if ledger.report is not None:
            return "stopped"
        if ledger.stopping:
            return "stopping"
        return "not started" if self._jobs is None else "running"

    def __repr__(self) -> str:
        return (
            f"<TaskSupervisor {self._describe()} {self._state}, "
            f"{len(self._ledger.running)} jobs running>"
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Open the jobs' nursery; the supervisor accepts jobs from now on."""
        self._thread = threading.get_ident()
        self._token = self.system.token
        self._clock = trio.lowlevel.current_clock().current_time
        await self.nursery.start(self._host)

    async def _host(self, task_status: trio.TaskStatus[None]) -> None:
        try:
            async with trio.open_nursery() as jobs:
                self._jobs = jobs
                task_status.started()
                del task_status  # it keeps trio's start() nursery alive (see Cell.hand_over)
                await trio.sleep_forever()
        finally:
            self._ledger.close(self)

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
        ledger = self._ledger
        ledger.begin_stop()
        grace = self._shutdown if self._grace is None else self._grace
        if ledger.running:
            with trio.move_on_after(grace):
                await ledger.wait_idle()
        jobs = self._jobs
        if ledger.running and jobs is not None:
            jobs.cancel_scope.cancel()
            await ledger.wait_idle()

    def set_grace(self, seconds: float) -> None:
        """Give running jobs ``seconds``, not the shutdown time, at the next stop (rt.aclose).

        Raises:
            ValueError: ``seconds`` is negative or not a number.
        """
        check_options(seconds, None)
        self._grace = seconds

    async def aclose(self, *, shutdown: float | None = None) -> ShutdownReport:
        """Stop the supervisor gracefully and return what happened to the running jobs.

        Blocks for at most the shutdown time (plus however long cancelled jobs take to
        unwind). Idempotent: a stopped supervisor returns its report again.

        Args:
            shutdown: override the grace period for this stop (0: cancel at once).
        """
        if shutdown is not None:
            check_options(shutdown, None)
            self._grace = shutdown
        await self.ref.shutdown(timeout=None)
        # The jobs' host task closes the ledger when the actor's nursery ends; a supervisor
        # killed before it ever started jobs has an empty report.
        return self._ledger.close(self)

    @property
    def report(self) -> ShutdownReport | None:
        """The ``ShutdownReport`` once the supervisor has stopped, else None."""
        return self._ledger.report

    # -- observing ----------------------------------------------------------------------------

    def subscribe(self, handler: Callable[[TaskEvent], Any]) -> Unsubscribe:
        """Call ``handler(event)`` synchronously for every later event; return an unsubscriber."""
        return self._ledger.events.subscribe(handler)

    def statistics(self) -> TaskSupervisorStatistics:
        """Return a frozen snapshot of the job counters."""
        return self._ledger.statistics()

    def running_jobs(self) -> list[Job]:
        """The jobs running now, oldest first."""
        return list(self._ledger.running)

    # -- starting jobs ------------------------------------------------------------------------

    def _accept(self) -> trio.Nursery:
        jobs = self._jobs
        ledger = self._ledger
        if jobs is None or ledger.report is not None or ledger.stopping:  # not "running"
            raise TaskSupervisorClosedError(self._describe(), self._state)
        if threading.get_ident() != self._thread:
            raise RuntimeError(
                f"{self!r}: start_child/start_task must be called from the trio thread that "
                "runs the supervisor; from other threads use start_child_threadsafe / "
                "start_task_threadsafe"
            )
        limit = self._max_children
        if limit is not None and len(self._ledger.running) >= limit:
            raise MaxChildrenError(self._describe(), limit)
        return jobs

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
            TypeError: ``fn`` is not a callable, ``args`` do not fit its signature, or
                ``name`` is not a str.
        """
        jobs = self._accept()
        asynchronous = self._checks.check(fn, args, name, "start_child")
        job: Job = Job._create(next(self._ids), fn, args, name, self._clock(), asynchronous)
        self._ledger.register(job)
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
            TypeError: ``fn`` is not a callable, ``args`` do not fit its signature, ``name``
                is not a str, or ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
        """
        jobs = self._accept()
        asynchronous = self._checks.check(fn, args, name, "start_task")
        check_timeout(timeout, "start_task timeout", none="for no limit")
        handle: TaskHandle[Any] = TaskHandle._create(
            next(self._ids), fn, args, name, self._clock(), asynchronous
        )._with_timeout(timeout)
        self._ledger.register(handle)
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
                settle_future(future, exc, None)
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
        ledger = self._ledger
        try:
            await (job._fn(*job._args) if job._is_async else self._call(job))  # (W5)
        except Exception as exc:
            ledger.fail(job, exc)
            log_job_failure(self, job, exc)
        except BaseException as exc:
            cancellation = self._escaped(job, exc)
            if cancellation is exc:
                raise
            if cancellation is not None:
                raise cancellation from None
        else:
            ledger.finish(job)

    async def _run_task(self, handle: TaskHandle[Any]) -> None:
        ledger = self._ledger
        if handle._cancel is True:
            ledger.cancel(handle)
            return
        try:
            with trio.CancelScope(deadline=handle._deadline) as scope:
                handle._cancel = scope
                try:
                    value = await self._call(handle)
                except Exception as exc:
                    ledger.fail(handle, exc)
                    return
                except BaseException as exc:
                    cancellation = self._escaped(handle, exc)
                    if cancellation is exc:
                        raise
                    if cancellation is not None:
                        raise cancellation from None
                    return
            if handle.state is not RUNNING:
                return  # failed by a BaseException, its cancellation part caught by the scope
            if not scope.cancelled_caught:
                handle._value = value
                ledger.finish(handle)
            elif handle._by == BY_HANDLE or handle._timeout is None:
                ledger.cancel(handle)
            else:
                ledger.fail(handle, TaskTimeoutError(handle, handle._timeout))
        except BaseException:
            if handle.state is RUNNING:
                ledger.cancel(handle)
            raise

    def _escaped(self, job: Job, exc: BaseException) -> BaseException | None:
        """Settle a job a BaseException ended; return the part to re-raise (a cancellation).

        An interrupt fails the job and stops the actor system; any other BaseException that
        is not a real cancellation fails the job only (see ``arborist.actors``).
        """
        escape = sort_escape(exc)
        failure = escape.failure
        is_task = type(job) is TaskHandle
        if failure is None:
            if not is_task:
                self._ledger.cancel(job)  # a task's cancellation is settled by _run_task
            return escape.cancellation
        self._ledger.fail(job, failure)
        if escape.interrupt is not None:
            self.system._interrupt(escape.interrupt, job)
        elif not is_task:
            log_job_failure(self, job, failure)
        return escape.cancellation

"""BackgroundRuntime: a runtime on a thread of its own, for threaded programs (Flask, Django).

``with Runtime.background() as rt:`` (or ``rt = Runtime.background().open()`` ...
``rt.close()``) runs trio and the runtime on a thread of their own. It has the trio
``Runtime``'s verbs with the same meaning, each a thread-safe blocking call usable from many
threads at once (``start`` returns a ``ThreadRunHandle``, ``submit`` a
``concurrent.futures.Future``). Calling them from the runtime's own thread is an error (it would
deadlock). Leaving the block shuts the runtime down gracefully and keeps the report.

Closing races nothing: from the moment ``close()`` starts, new calls raise
``RuntimeClosedError``; every ``submit`` future resolves, with its run's result or a
``RuntimeClosedError`` (never a trio error); a call cut by the close raises
``RuntimeClosedError``; ``close()`` may be called any number of times, from any thread.
"""

from __future__ import annotations

import concurrent.futures
import functools
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import trio

from arborist.actors import ActorError
from arborist.actors._checks import check_callable, check_timeout

from ..engine._errors import RuntimeClosedError
from ._handles import ThreadRunHandle
from ._host import Host, RuntimeFactory, call_on_trio

if TYPE_CHECKING:
    from arborist.actors import Actor, ActorRef
    from arborist.supervision import Job, TreeSnapshot
    from arborist.supervision._events import Unsubscribe

    from .._recovery import RecoveryReport
    from .._root import RuntimeShutdownReport
    from ..engine._adaptive import Adaptive
    from ..engine._handle import RunHandle
    from ..engine._pools import Pool, PoolStatistics
    from ..schedules._handle import ScheduleHandle, ScheduleTable
    from ..store import JobRow, RunInfo
    from ..workflow._workflow import Workflow

__all__ = ["BackgroundRuntime"]


class BackgroundRuntime(Host):
    """A Runtime on its own thread, with a blocking, thread-safe API. See ``Runtime.background``.

    Example:
        >>> with Runtime.background() as rt:  # doctest: +SKIP
        ...     data = rt.run(wf, user_id=1)  # blocks this thread only
        ...     future = rt.submit(wf, user_id=2)  # concurrent.futures.Future
    """

    def __init__(self, factory: RuntimeFactory) -> None:
        super().__init__(factory)
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self._closing = False
        self._close_lock = threading.Lock()

    def open(self) -> BackgroundRuntime:
        """Start the runtime on its thread and return it, ready for calls (``with`` does this).

        Idempotent: opening an open runtime returns it. Pair it with ``close()``.

        Raises:
            RuntimeError: the runtime was closed (a BackgroundRuntime is started once).
            Whatever entering the runtime raised on its thread (e.g. a store that cannot open).
        """
        with self._close_lock:
            if self._closing:
                raise RuntimeError(
                    "this BackgroundRuntime was closed; a BackgroundRuntime is started once "
                    "(make a new one with Runtime.background())"
                )
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._main, name="arborist-runtime", daemon=True
                )
                self._thread.start()
        self._started.wait()
        if self._failure is not None:
            raise self._failure
        return self

    def __enter__(self) -> BackgroundRuntime:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _main(self) -> None:
        try:
            trio.run(self._serve, self._started.set)
        except BaseException as error:  # reported to whoever waits
            self._failure = error
        finally:
            self._started.set()

    def _trio(self) -> trio.lowlevel.TrioToken:
        if self._closing or (self._stop is not None and self._stop.is_set()):
            raise _closed()
        if self._token is None or self._thread is None or not self._thread.is_alive():
            raise RuntimeError(
                "the background runtime is not running; call rt.open() (or use `with rt:`) first"
            )
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "this blocking call was made on the runtime's own thread; from trio code, "
                "use the Runtime itself (bg.runtime) instead"
            )
        return self._token

    def _blocking(self, fn: Callable[[], Any], *, is_async: bool) -> Any:
        """Run ``fn`` on the runtime's thread and block for its outcome; a close is one error."""
        token = self._trio()
        try:
            if is_async:
                return trio.from_thread.run(fn, trio_token=token)
            return trio.from_thread.run_sync(fn, trio_token=token)
        except trio.RunFinishedError:
            raise _closed() from None
        except (trio.Cancelled, ActorError, RuntimeClosedError) as error:
            if self._closing or (self._stop is not None and self._stop.is_set()):
                raise _closed() from error
            raise

    def _sync(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call the trio side's plain function ``fn`` on the runtime's thread; block for it."""
        return self._blocking(functools.partial(fn, *args, **kwargs), is_async=False)

    def _async(self, fn: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any) -> Any:
        """Await the trio side's ``fn`` on the runtime's thread; block for its value."""
        return self._blocking(functools.partial(fn, *args, **kwargs), is_async=True)

    # -- runs --------------------------------------------------------------------------------

    def run(self, workflow: Workflow, /, **kwargs: Any) -> Any:
        """Run ``workflow`` and block this thread until its result (``Runtime.run`` options)."""
        return self._async(self.runtime.run, workflow, **kwargs)

    def start(self, workflow: Workflow, /, **kwargs: Any) -> ThreadRunHandle:
        """Start a run of ``workflow`` and return its handle once it has started.

        Blocks this thread only while the run is checked and started on the runtime's thread
        (``Runtime.start``, its options), so bad input raises here. ``handle.result()`` blocks
        for the result; ``handle.future`` is a ``concurrent.futures.Future`` of it.

        Raises:
            TypeError, ValueError, WorkflowInputError, WorkflowDefinitionError: what
                ``Runtime.start`` raises for this workflow, its inputs and options.
            RuntimeClosedError: the runtime is closed or closing.
        """
        runtime = self.runtime
        return self._follow(lambda: runtime.start(workflow, **kwargs))

    def submit(self, workflow: Workflow, /, **kwargs: Any) -> concurrent.futures.Future[Any]:
        """Start ``workflow`` and return a Future of its result once the run has started.

        ``start(...).future``: bad input raises here, not in the Future. The Future is then
        running: ``Future.cancel`` returns False, as with any ``concurrent.futures`` executor
        once a call has begun; if the runtime closes before the run finishes, the Future fails
        with ``RuntimeClosedError``.

        Raises:
            TypeError, ValueError, WorkflowInputError, WorkflowDefinitionError: what
                ``Runtime.start`` raises for this workflow, its inputs and options.
            RuntimeClosedError: the runtime is closed or closing.
        """
        return self.start(workflow, **kwargs).future

    def get_run(self, run_id: str, /) -> ThreadRunHandle:
        """The handle of run ``run_id`` (see ``Runtime.get_run``); ``result()`` blocks for it."""
        runtime = self.runtime
        return self._follow(lambda: runtime.get_run(run_id))

    def _follow(self, get: Callable[[], Awaitable[RunHandle]]) -> ThreadRunHandle:
        """Get a run's handle on the runtime's thread and resolve a Future when the run ends."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()

        async def bridge(handle: RunHandle) -> None:
            try:
                value = await handle.result()
            except trio.Cancelled:
                handle.cancel()  # the runtime is closing: the run is cancelled with it
                future.set_exception(_closed("before the run finished"))
                raise
            except BaseException as error:
                future.set_exception(error)
                if not isinstance(error, Exception):
                    raise
            else:
                future.set_result(value)

        async def follow() -> RunHandle:
            handle = await get()
            nursery = self._nursery
            if nursery is None or self._stop is None or self._stop.is_set():
                handle.cancel()
                raise _closed()
            try:
                nursery.start_soon(bridge, handle)
            except RuntimeError:  # the nursery is closed to new tasks: the runtime closed
                handle.cancel()
                raise _closed() from None
            return handle

        handle: RunHandle = self._blocking(follow, is_async=True)
        return ThreadRunHandle(handle, future, self._sync)

    def resume(self, state: Any, /, **kwargs: Any) -> Any:
        """Resume a halted run and block for its result (see ``Runtime.resume``)."""
        return self._async(self.runtime.resume, state, **kwargs)

    def cancel_run(self, run_id: str, /, **kwargs: Any) -> None:
        """Cancel run ``run_id`` and block until it is rolled back (``Runtime.cancel_run``)."""
        self._async(self.runtime.cancel_run, run_id, **kwargs)

    def runs(self, **filters: Any) -> list[RunInfo]:
        """The runs recorded in the store, newest first (see ``Runtime.runs``)."""
        found: list[RunInfo] = self._async(self.runtime.runs, **filters)
        return found

    def enqueue(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Record a durable job and block until it is committed (``Runtime.enqueue``)."""
        return self._async(self.runtime.enqueue, fn, *args, **kwargs)

    def recover_jobs(self) -> Any:
        """Run the unfinished durable jobs of dead owners here (``Runtime.recover_jobs``)."""
        return self._async(self.runtime.recover_jobs)

    def jobs(self, **filters: Any) -> list[JobRow]:
        """The durable jobs recorded in the store, oldest first (see ``Runtime.jobs``)."""
        found: list[JobRow] = self._async(self.runtime.jobs, **filters)
        return found

    @property
    def recovery_report(self) -> RecoveryReport | None:
        """What recovery did when the runtime was opened (``Runtime.recovery_report``)."""
        return self.runtime.recovery_report

    # -- schedules ---------------------------------------------------------------------------

    def schedule(self, *args: Any, **kwargs: Any) -> ScheduleHandle:
        """Add a schedule (see ``Runtime.schedule``); returns its handle."""
        handle: ScheduleHandle = self._sync(self.runtime.schedule, *args, **kwargs)
        return handle

    def unschedule(self, name: str) -> None:
        """Remove the schedule ``name`` and block until it is gone (``Runtime.unschedule``)."""
        self._async(self.runtime.unschedule, name)

    def schedules(self) -> ScheduleTable:
        """Every schedule with its next fire time, state and runs; prints as a table."""
        table: ScheduleTable = self._sync(self.runtime.schedules)
        return table

    def pause_schedule(self, name: str) -> None:
        """Pause ``name`` (see ``Runtime.pause_schedule``)."""
        self._sync(self.runtime.pause_schedule, name)

    def resume_schedule(self, name: str) -> None:
        """Resume a paused schedule from its next tick."""
        self._sync(self.runtime.resume_schedule, name)

    def run_schedule_now(self, name: str) -> None:
        """Tick ``name`` now (its overlap policy and max_runs apply)."""
        self._sync(self.runtime.run_schedule_now, name)

    # -- jobs, actors, pools, events ----------------------------------------------------------

    def fire_and_forget(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Job:
        """Start ``fn(*args)`` as a job of the runtime (see ``Runtime.fire_and_forget``)."""
        job: Job = self._sync(self.runtime.fire_and_forget, fn, *args, **kwargs)
        return job

    def spawn(self, actor_class: type[Actor], /, *args: Any, **kwargs: Any) -> ActorRef:
        """Start an actor under the runtime (see ``Runtime.spawn``) and return its ref.

        The ref belongs to the runtime's thread: reach the actor with
        ``rt.call(ref.ask, message)`` or ``rt.call(ref.tell, message)``.
        """
        ref: ActorRef = self._async(self.runtime.spawn, actor_class, *args, **kwargs)
        return ref

    def tree(self) -> TreeSnapshot:
        """A snapshot of the runtime's supervision tree."""
        snapshot: TreeSnapshot = self._async(self.runtime.tree)
        return snapshot

    def pool(self, name: str, limit: int | Adaptive) -> Pool:
        """Declare (or reconfigure) the named pool ``name`` (see ``Runtime.pool``)."""
        pool: Pool = self._sync(self.runtime.pool, name, limit)
        return pool

    def pool_statistics(self) -> list[PoolStatistics]:
        """A snapshot of every named pool, in name order."""
        stats: list[PoolStatistics] = self._sync(self.runtime.pool_statistics)
        return stats

    def subscribe(self, handler: Callable[[Any], Any], *, only: Any = None) -> Unsubscribe:
        """Call ``handler(event)`` for every event (see ``Runtime.subscribe``).

        The handler runs on the runtime's thread (keep it quick and thread-safe); the
        unsubscribe function returned may be called from any thread, and does nothing once
        the runtime has closed.
        """
        unsubscribe: Unsubscribe = self._sync(self.runtime.subscribe, handler, only=only)

        def off() -> None:
            try:
                self._sync(unsubscribe)
            except RuntimeClosedError:
                pass

        return off

    def call(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Call ``fn(*args)`` on the runtime's trio thread and block for its value.

        ``fn`` is an async function (awaited there, in a trio task) or a plain function
        (called there directly, so it may use trio's and the runtime's sync APIs such as
        ``ref.tell``; blocking work belongs in ``fire_and_forget`` or a ``def`` step, not
        here). An awaitable that a plain function returns is awaited too.

        Raises:
            TypeError: ``fn`` is not callable.
        """
        check_callable(fn, "bg.call fn", hint="; pass a function and its arguments")
        return self._blocking(functools.partial(call_on_trio, fn, *args), is_async=True)

    def close(self, timeout: float | None = None) -> RuntimeShutdownReport | None:
        """Shut the runtime down gracefully, wait for its thread, and return the report.

        Idempotent and thread-safe: from its start every other call raises
        ``RuntimeClosedError``. ``timeout`` caps the wait for the thread (None: wait).

        Raises:
            TypeError, ValueError: ``timeout`` is not None or a number of seconds >= 0 (the
                runtime is not closed then).
        """
        check_timeout(timeout, "close timeout")
        with self._close_lock:
            self._closing = True
            thread = self._thread
            if thread is None:
                return self.report
            if thread.is_alive() and self._token is not None and self._stop is not None:
                stop = self._stop
                try:
                    self._token.run_sync_soon(stop.set)
                except trio.RunFinishedError:
                    pass
            if threading.current_thread() is not thread:
                thread.join(timeout)
        if self._failure is not None:
            raise self._failure
        return self.report


def _closed(when: str = "") -> RuntimeClosedError:
    suffix = f" {when}" if when else ""
    return RuntimeClosedError(
        f"the background runtime is closed{suffix}; start work inside `with "
        "Runtime.background() as rt:` before close()"
    )

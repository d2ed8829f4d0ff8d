"""AsyncioRuntime: a runtime in trio *guest mode* on the running asyncio loop (FastAPI, aiohttp).

One thread, both event loops. We chose guest mode over a background thread for asyncio: no
thread hop per call, no GIL contention between two busy loops, and cancelling an asyncio task
that awaits ``rt.run`` cancels the run's waiting. A method is a coroutine to await from asyncio
code where the trio ``Runtime``'s is (``run``, ``start``, ``unschedule``, ``tree``, ...), and a
plain call where the trio ``Runtime``'s is (``schedule``, ``schedules``, ``fire_and_forget``,
``pool``, ``subscribe``, ...): in guest mode trio runs on the loop's thread, between asyncio's
callbacks, so those are called directly there (trio wakes for whatever they schedule).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import outcome
import trio

from arborist.actors._checks import check_callable

from ..engine._errors import RuntimeClosedError
from ._handles import AsyncioRunHandle
from ._host import Host, RuntimeFactory, call_on_trio

if TYPE_CHECKING:
    from arborist.actors import Actor, ActorRef
    from arborist.supervision import TreeSnapshot
    from arborist.supervision._events import Unsubscribe

    from .._recovery import RecoveryReport
    from .._root import RuntimeShutdownReport
    from .._runtime import Runtime
    from ..engine._adaptive import Adaptive
    from ..engine._handle import RunHandle
    from ..engine._pools import Pool, PoolStatistics
    from ..schedules._handle import ScheduleHandle, ScheduleTable
    from ..store import JobRow, RunInfo
    from ..workflow._workflow import Workflow

__all__ = ["AsyncioRuntime", "open_guest_runtime"]


class AsyncioRuntime(Host):
    """A Runtime in trio guest mode on an asyncio loop; methods are asyncio coroutines."""

    def __init__(self, loop: asyncio.AbstractEventLoop, factory: RuntimeFactory) -> None:
        super().__init__(factory)
        self._loop = loop
        self._thread = threading.get_ident()

    async def _in_trio(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        """Await ``fn()`` as a trio task; cancelling the asyncio caller cancels it."""
        token = self._token
        self._check_open()
        if token is None or self._nursery is None:
            raise RuntimeError("the asyncio runtime is not running")
        loop = self._loop
        result: asyncio.Future[Any] = loop.create_future()
        scope = trio.CancelScope()

        async def bridge() -> None:
            with scope:
                try:
                    value = await fn()
                except BaseException as error:
                    if not result.done():
                        loop.call_soon_threadsafe(_settle, result, outcome.Error(error))
                    if not isinstance(error, Exception):
                        raise
                else:
                    if not result.done():
                        loop.call_soon_threadsafe(_settle, result, outcome.Value(value))

        def start() -> None:
            assert self._nursery is not None
            self._nursery.start_soon(bridge)

        token.run_sync_soon(start)
        try:
            return await result
        except asyncio.CancelledError:
            token.run_sync_soon(scope.cancel)
            raise

    def _check_open(self) -> None:
        if self._ended:
            raise RuntimeClosedError(
                "the asyncio runtime is closed (its `async with open_asyncio_runtime()` block "
                "has ended); call it inside the block"
            )

    def _here(self) -> Runtime:
        """The runtime, for a plain call made on the loop's thread (trio's thread too)."""
        self._check_open()
        if self._token is None or self._nursery is None:
            raise RuntimeError("the asyncio runtime is not running")
        if threading.get_ident() != self._thread:
            raise RuntimeError(
                "this AsyncioRuntime call was made off the asyncio loop's thread; call it "
                "from the loop (e.g. loop.call_soon_threadsafe), or use Runtime.background() "
                "from threads"
            )
        return self.runtime

    # -- runs --------------------------------------------------------------------------------

    async def run(self, workflow: Workflow, /, **kwargs: Any) -> Any:
        """Run ``workflow`` to its result (``Runtime.run`` options)."""
        return await self._in_trio(functools.partial(self.runtime.run, workflow, **kwargs))

    async def start(self, workflow: Workflow, /, **kwargs: Any) -> AsyncioRunHandle:
        """Start a run of ``workflow`` and return its handle (``Runtime.start`` options).

        Every check happens before this returns; ``await handle.result()`` waits for the run.
        """
        start = functools.partial(self.runtime.start, workflow, **kwargs)
        handle: RunHandle = await self._in_trio(start)
        return AsyncioRunHandle(handle, self._in_trio)

    async def get_run(self, run_id: str, /) -> AsyncioRunHandle:
        """The handle of run ``run_id`` (see ``Runtime.get_run``)."""
        handle: RunHandle = await self._in_trio(functools.partial(self.runtime.get_run, run_id))
        return AsyncioRunHandle(handle, self._in_trio)

    async def resume(self, state: Any, /, **kwargs: Any) -> Any:
        """Resume a halted run and wait for its result (see ``Runtime.resume``)."""
        return await self._in_trio(functools.partial(self.runtime.resume, state, **kwargs))

    async def cancel_run(self, run_id: str, /, **kwargs: Any) -> None:
        """Cancel run ``run_id`` and wait until it is rolled back (``Runtime.cancel_run``)."""
        await self._in_trio(functools.partial(self.runtime.cancel_run, run_id, **kwargs))

    async def runs(self, **filters: Any) -> list[RunInfo]:
        """The runs recorded in the store, newest first (see ``Runtime.runs``)."""
        found: list[RunInfo] = await self._in_trio(functools.partial(self.runtime.runs, **filters))
        return found

    async def enqueue(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Record a durable job; return once it is committed (``Runtime.enqueue``)."""
        return await self._in_trio(functools.partial(self.runtime.enqueue, fn, *args, **kwargs))

    async def recover_jobs(self) -> Any:
        """Run the unfinished durable jobs of dead owners here (``Runtime.recover_jobs``)."""
        return await self._in_trio(self.runtime.recover_jobs)

    async def jobs(self, **filters: Any) -> list[JobRow]:
        """The durable jobs recorded in the store, oldest first (see ``Runtime.jobs``)."""
        found: list[JobRow] = await self._in_trio(functools.partial(self.runtime.jobs, **filters))
        return found

    @property
    def recovery_report(self) -> RecoveryReport | None:
        """What recovery did when the runtime was entered (``Runtime.recovery_report``)."""
        return self.runtime.recovery_report

    # -- schedules (plain calls, as on the trio Runtime) ------------------------------------

    def schedule(self, *args: Any, **kwargs: Any) -> ScheduleHandle:
        """Add a schedule (see ``Runtime.schedule``); never blocks, returns its handle."""
        return self._here().schedule(*args, **kwargs)

    async def unschedule(self, name: str) -> None:
        """Remove the schedule ``name`` (see ``Runtime.unschedule``)."""
        await self._in_trio(functools.partial(self.runtime.unschedule, name))

    def schedules(self) -> ScheduleTable:
        """Every schedule with its next fire time, state and runs; prints as a table."""
        return self._here().schedules()

    def pause_schedule(self, name: str) -> None:
        """Pause ``name`` (see ``Runtime.pause_schedule``)."""
        self._here().pause_schedule(name)

    def resume_schedule(self, name: str) -> None:
        """Resume a paused schedule from its next tick."""
        self._here().resume_schedule(name)

    def run_schedule_now(self, name: str) -> None:
        """Tick ``name`` now (its overlap policy and max_runs apply)."""
        self._here().run_schedule_now(name)

    # -- jobs, actors, pools, events --------------------------------------------------------

    def fire_and_forget(
        self, fn: Callable[..., Any], /, *args: Any, name: str | None = None, durable: bool = False
    ) -> Any:
        """Start ``fn(*args)`` as a job of the runtime (see ``Runtime.fire_and_forget``)."""
        return self._here().fire_and_forget(fn, *args, name=name, durable=durable)

    async def spawn(self, actor_class: type[Actor], /, *args: Any, **kwargs: Any) -> ActorRef:
        """Start an actor under the runtime (see ``Runtime.spawn``) and return its ref.

        ``ref.tell(message)`` is a plain call from asyncio; ``await rt.call(ref.ask, message)``
        awaits a reply.
        """
        spawn = functools.partial(self.runtime.spawn, actor_class, *args, **kwargs)
        ref: ActorRef = await self._in_trio(spawn)
        return ref

    async def tree(self) -> TreeSnapshot:
        """A snapshot of the runtime's supervision tree."""
        snapshot: TreeSnapshot = await self._in_trio(self.runtime.tree)
        return snapshot

    def pool(self, name: str, limit: int | Adaptive) -> Pool:
        """Declare (or reconfigure) the named pool ``name`` (see ``Runtime.pool``)."""
        return self._here().pool(name, limit)

    def pool_statistics(self) -> list[PoolStatistics]:
        """A snapshot of every named pool, in name order."""
        return self._here().pool_statistics()

    def subscribe(self, handler: Callable[[Any], Any], *, only: Any = None) -> Unsubscribe:
        """Call ``handler(event)`` for every event (see ``Runtime.subscribe``).

        In guest mode the handler runs on the asyncio thread, between trio's steps.
        """
        return self._here().subscribe(handler, only=only)

    async def aclose(self, *, timeout: float | None = None) -> RuntimeShutdownReport:
        """Shut the runtime down gracefully now and return the report; idempotent.

        As ``Runtime.aclose``: new work is refused from here on; leaving the ``async with``
        block afterwards only stops trio's guest run.
        """
        close = functools.partial(self.runtime.aclose, timeout=timeout)
        report: RuntimeShutdownReport = await self._in_trio(close)
        self.report = report
        return report

    async def call(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Call ``fn(*args)`` in a trio task and return its value (for anything trio-side).

        ``fn`` is an async function (awaited in trio) or a plain function (called in the
        trio task; blocking work belongs in ``fire_and_forget`` or a ``def`` step). An
        awaitable that a plain function returns is awaited too.

        Raises:
            TypeError: ``fn`` is not callable.
        """
        check_callable(fn, "aio.call fn", hint="; pass a function and its arguments")
        return await self._in_trio(functools.partial(call_on_trio, fn, *args))


def _settle(future: asyncio.Future[Any], result: outcome.Outcome[Any]) -> None:
    if future.done():
        return
    if isinstance(result, outcome.Error):
        future.set_exception(result.error)
    else:
        future.set_result(result.unwrap())


@asynccontextmanager
async def open_guest_runtime(factory: RuntimeFactory) -> AsyncIterator[AsyncioRuntime]:
    """Run the runtime ``factory`` makes inside the running asyncio loop (trio guest mode).

    Leaving the block shuts the runtime down gracefully (``host.report`` says what was cut).
    Users call ``open_asyncio_runtime(**options)``, which passes the ``Runtime`` class here.

    Raises:
        RuntimeError: no asyncio event loop is running (entered from trio, or outside any loop).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "open_asyncio_runtime() runs arborist inside the running asyncio event loop, but "
            "none is running here; enter it from asyncio code (asyncio.run(main())), or use "
            "`async with Runtime()` from trio and Runtime.background() from threads"
        ) from None
    host = AsyncioRuntime(loop, factory)
    ready: asyncio.Future[None] = loop.create_future()
    done: asyncio.Future[outcome.Outcome[Any]] = loop.create_future()

    def on_ready() -> None:
        loop.call_soon_threadsafe(_settle, ready, outcome.Value(None))

    def on_done(result: outcome.Outcome[Any]) -> None:
        if not ready.done():
            ready.set_exception(RuntimeError("the trio guest run ended before it was ready"))
        done.set_result(result)

    trio.lowlevel.start_guest_run(
        host._serve,
        on_ready,
        run_sync_soon_threadsafe=loop.call_soon_threadsafe,
        run_sync_soon_not_threadsafe=loop.call_soon,
        done_callback=on_done,
        host_uses_signal_set_wakeup_fd=True,
    )
    try:
        await ready
    except BaseException:
        (await done).unwrap()
        raise
    try:
        yield host
    finally:
        if host._token is not None and host._stop is not None:
            host._token.run_sync_soon(host._stop.set)
        (await asyncio.shield(done)).unwrap()

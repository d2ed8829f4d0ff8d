"""AsyncioRuntime: a runtime in trio *guest mode* on the running asyncio loop (FastAPI, aiohttp).

One thread, both event loops. We chose guest mode over a background thread for asyncio: no
thread hop per call, no GIL contention between two busy loops, and cancelling an asyncio task
that awaits ``rt.run`` cancels the run's waiting. Its methods are coroutines to await from
asyncio code.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import outcome
import trio

from ._host import Host, RuntimeFactory

if TYPE_CHECKING:
    from arborist.supervision import Job, TreeSnapshot

    from ..workflow._workflow import Workflow

__all__ = ["AsyncioRuntime", "open_guest_runtime"]


class AsyncioRuntime(Host):
    """A Runtime in trio guest mode on an asyncio loop; methods are asyncio coroutines."""

    def __init__(self, loop: asyncio.AbstractEventLoop, factory: RuntimeFactory) -> None:
        super().__init__(factory)
        self._loop = loop

    async def _in_trio(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        """Await ``fn()`` as a trio task; cancelling the asyncio caller cancels it."""
        token = self._token
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

    async def run(self, workflow: Workflow, /, **kwargs: Any) -> Any:
        """Run ``workflow`` to its result (``Runtime.run`` options)."""
        return await self._in_trio(functools.partial(self.runtime.run, workflow, **kwargs))

    async def fire_and_forget(self, fn: Callable[..., Any], /, *args: Any) -> Job:
        """Start ``fn(*args)`` as a job of the runtime; returns once it is accepted."""
        start = functools.partial(self.runtime.fire_and_forget, fn, *args)
        job: Job = await self._in_trio(_async(start))
        return job

    async def schedule(self, *args: Any, **kwargs: Any) -> Any:
        """Add a schedule (see ``Runtime.schedule``)."""
        add = functools.partial(self.runtime.schedule, *args, **kwargs)
        return await self._in_trio(_async(add))

    async def call(self, fn: Callable[..., Awaitable[Any]], /, *args: Any) -> Any:
        """Await ``fn(*args)`` in trio (for anything the runtime offers)."""
        return await self._in_trio(functools.partial(fn, *args))

    async def tree(self) -> TreeSnapshot:
        """A snapshot of the runtime's supervision tree."""
        snapshot: TreeSnapshot = await self._in_trio(self.runtime.tree)
        return snapshot


def _settle(future: asyncio.Future[Any], result: outcome.Outcome[Any]) -> None:
    if future.done():
        return
    if isinstance(result, outcome.Error):
        future.set_exception(result.error)
    else:
        future.set_result(result.unwrap())


def _async(fn: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def call() -> Any:
        return fn()

    return call


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

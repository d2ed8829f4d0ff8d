"""Embedding: the runtime inside threaded programs and asyncio programs.

- Threaded hosts (Flask, Django, plain threads): ``with Runtime.background() as rt:`` runs trio
  and the runtime on a thread of their own; every method is a thread-safe blocking call (or
  returns a ``concurrent.futures.Future``), usable from many threads at once. Calling them from
  the runtime's own thread is an error (it would deadlock).
- asyncio hosts (FastAPI, aiohttp): ``async with open_asyncio_runtime() as rt:`` runs trio in
  *guest mode* on the running asyncio loop: one thread, both event loops. We chose guest mode
  over a background thread for asyncio: no thread hop per call, no GIL contention between two
  busy loops, and cancelling an asyncio task that awaits ``rt.run`` cancels the run's waiting.
  Its methods are coroutines to await from asyncio code.

Both shut the runtime down gracefully on exit and keep the ``RuntimeShutdownReport``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import outcome
import trio

from arborist.supervision import Job, TreeSnapshot

from .._runtime import Runtime, RuntimeShutdownReport
from ..workflow._workflow import Workflow

__all__ = ["AsyncioRuntime", "BackgroundRuntime", "open_asyncio_runtime"]


class _Host:
    """What both embeddings share: a Runtime opened in a trio run and kept until told to stop."""

    def __init__(self, runtime_options: dict[str, Any]) -> None:
        self._options = runtime_options
        self._runtime: Runtime | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._nursery: trio.Nursery | None = None
        self._stop: trio.Event | None = None
        self.report: RuntimeShutdownReport | None = None
        """What the shutdown cut (set once the runtime has closed)."""

    async def _serve(self, ready: Callable[[], None]) -> None:
        async with Runtime(**self._options) as rt, trio.open_nursery() as nursery:
            self._runtime = rt
            self._token = trio.lowlevel.current_trio_token()
            self._nursery = nursery
            self._stop = trio.Event()
            ready()
            await self._stop.wait()
            self.report = await rt.aclose()
            nursery.cancel_scope.cancel()

    @property
    def runtime(self) -> Runtime:
        """The underlying Runtime; only for code running on the runtime's trio thread."""
        if self._runtime is None:
            raise RuntimeError("the runtime is not running")
        return self._runtime


class BackgroundRuntime(_Host):
    """A Runtime on its own thread, with a blocking, thread-safe API. See ``Runtime.background``.

    Example:
        >>> with Runtime.background() as rt:  # doctest: +SKIP
        ...     data = rt.run(wf, user_id=1)  # blocks this thread only
        ...     future = rt.submit(wf, user_id=2)  # concurrent.futures.Future
    """

    def __init__(self, **runtime_options: Any) -> None:
        super().__init__(runtime_options)
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None

    def __enter__(self) -> BackgroundRuntime:
        if self._thread is not None:
            raise RuntimeError("a BackgroundRuntime is started once")
        self._thread = threading.Thread(target=self._main, name="arborist-runtime", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            raise self._failure
        return self

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
        if self._token is None or self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the background runtime is not running; use `with` or restart it")
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "this blocking call was made on the runtime's own thread; from trio code, "
                "use the Runtime itself (bg.runtime) instead"
            )
        return self._token

    def run(self, workflow: Workflow, /, **kwargs: Any) -> Any:
        """Run ``workflow`` and block this thread until its result (``Runtime.run`` options)."""
        token = self._trio()
        return trio.from_thread.run(
            functools.partial(self.runtime.run, workflow, **kwargs), trio_token=token
        )

    def submit(self, workflow: Workflow, /, **kwargs: Any) -> concurrent.futures.Future[Any]:
        """Start ``workflow`` and return a Future of its result at once.

        Cancelling the Future before the run starts means it never starts; after, it is too
        late (``Future.cancel`` returns False), as with any ``concurrent.futures`` executor.
        """
        token = self._trio()
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        call = functools.partial(self.runtime.run, workflow, **kwargs)

        async def bridge() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                value = await call()
            except BaseException as error:
                future.set_exception(error)
                if not isinstance(error, Exception):
                    raise
            else:
                future.set_result(value)

        def start() -> None:
            assert self._nursery is not None
            self._nursery.start_soon(bridge)

        token.run_sync_soon(start)
        return future

    def fire_and_forget(self, fn: Callable[..., Any], /, *args: Any) -> Job:
        """Start ``fn(*args)`` as a job of the runtime (see ``Runtime.fire_and_forget``)."""
        token = self._trio()
        return trio.from_thread.run_sync(
            functools.partial(self.runtime.fire_and_forget, fn, *args), trio_token=token
        )

    def schedule(self, *args: Any, **kwargs: Any) -> Any:
        """Add a schedule (see ``Runtime.schedule``); returns its handle."""
        token = self._trio()
        return trio.from_thread.run_sync(
            functools.partial(self.runtime.schedule, *args, **kwargs), trio_token=token
        )

    def call(self, fn: Callable[..., Awaitable[Any]], /, *args: Any) -> Any:
        """Run ``await fn(*args)`` on the runtime's thread and block for its value."""
        return trio.from_thread.run(fn, *args, trio_token=self._trio())

    def tree(self) -> TreeSnapshot:
        """A snapshot of the runtime's supervision tree."""
        return trio.from_thread.run(self.runtime.tree, trio_token=self._trio())

    def close(self, timeout: float | None = None) -> RuntimeShutdownReport | None:
        """Shut the runtime down gracefully, wait for its thread, and return the report.

        Idempotent. ``timeout`` caps the wait for the thread (None: wait).
        """
        thread = self._thread
        if thread is None:
            return self.report
        if thread.is_alive() and self._token is not None and self._stop is not None:
            stop = self._stop
            try:
                self._token.run_sync_soon(stop.set)
            except trio.RunFinishedError:
                pass
            thread.join(timeout)
        if self._failure is not None:
            raise self._failure
        return self.report


class AsyncioRuntime(_Host):
    """A Runtime in trio guest mode on an asyncio loop; methods are asyncio coroutines."""

    def __init__(self, loop: asyncio.AbstractEventLoop, runtime_options: dict[str, Any]) -> None:
        super().__init__(runtime_options)
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
async def open_asyncio_runtime(**runtime_options: Any) -> AsyncIterator[AsyncioRuntime]:
    """Run a Runtime inside the running asyncio loop (trio guest mode) for the block.

    Leaving the block shuts the runtime down gracefully (``host.report`` says what was cut).

    Example:
        >>> async with open_asyncio_runtime() as rt:  # doctest: +SKIP
        ...     data = await rt.run(wf, user_id=1)
    """
    loop = asyncio.get_running_loop()
    host = AsyncioRuntime(loop, dict(runtime_options))
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

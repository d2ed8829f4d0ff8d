"""BackgroundRuntime: a runtime on a thread of its own, for threaded programs (Flask, Django).

``with Runtime.background() as rt:`` runs trio and the runtime on a thread of their own; every
method is a thread-safe blocking call (or returns a ``concurrent.futures.Future``), usable from
many threads at once. Calling them from the runtime's own thread is an error (it would
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
from ._host import Host, RuntimeFactory

if TYPE_CHECKING:
    from arborist.supervision import Job, TreeSnapshot

    from .._runtime import RuntimeShutdownReport
    from ..engine._handle import RunHandle
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
        if self._closing or (self._stop is not None and self._stop.is_set()):
            raise _closed()
        if self._token is None or self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the background runtime is not running; use `with` or restart it")
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

    def run(self, workflow: Workflow, /, **kwargs: Any) -> Any:
        """Run ``workflow`` and block this thread until its result (``Runtime.run`` options)."""
        return self._blocking(
            functools.partial(self.runtime.run, workflow, **kwargs), is_async=True
        )

    def submit(self, workflow: Workflow, /, **kwargs: Any) -> concurrent.futures.Future[Any]:
        """Start ``workflow`` and return a Future of its result once the run has started.

        Blocks this thread only while the run is checked and started on the runtime's thread
        (``Runtime.start``), so bad input raises here, not in the Future. The Future is then
        running: ``Future.cancel`` returns False, as with any ``concurrent.futures`` executor
        once a call has begun; if the runtime closes before the run finishes, the Future fails
        with ``RuntimeClosedError``.

        Raises:
            TypeError, ValueError, WorkflowInputError, WorkflowDefinitionError: what
                ``Runtime.start`` raises for this workflow, its inputs and options.
            RuntimeClosedError: the runtime is closed or closing.
        """
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

        async def start() -> None:
            handle = await self.runtime.start(workflow, **kwargs)
            nursery = self._nursery
            if nursery is None or self._stop is None or self._stop.is_set():
                handle.cancel()
                raise _closed()
            try:
                nursery.start_soon(bridge, handle)
            except RuntimeError:  # the nursery is closed to new tasks: the runtime closed
                handle.cancel()
                raise _closed() from None

        self._blocking(start, is_async=True)
        return future

    def fire_and_forget(self, fn: Callable[..., Any], /, *args: Any) -> Job:
        """Start ``fn(*args)`` as a job of the runtime (see ``Runtime.fire_and_forget``)."""
        job: Job = self._blocking(
            functools.partial(self.runtime.fire_and_forget, fn, *args), is_async=False
        )
        return job

    def schedule(self, *args: Any, **kwargs: Any) -> Any:
        """Add a schedule (see ``Runtime.schedule``); returns its handle."""
        return self._blocking(
            functools.partial(self.runtime.schedule, *args, **kwargs), is_async=False
        )

    def call(self, fn: Callable[..., Awaitable[Any]], /, *args: Any) -> Any:
        """Run ``await fn(*args)`` on the runtime's thread and block for its value.

        Raises:
            TypeError: ``fn`` is not callable.
        """
        check_callable(fn, "bg.call fn", hint="; pass an async function and its arguments")
        return self._blocking(functools.partial(fn, *args), is_async=True)

    def tree(self) -> TreeSnapshot:
        """A snapshot of the runtime's supervision tree."""
        snapshot: TreeSnapshot = self._blocking(self.runtime.tree, is_async=True)
        return snapshot

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

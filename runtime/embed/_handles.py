"""Run handles for the embeddings: ``rt.start`` / ``rt.get_run`` from threads and from asyncio.

The trio ``RunHandle`` is awaited with trio; these wrap it for the caller's world. A
``ThreadRunHandle``'s ``result()`` blocks the calling thread (its ``future`` is a
``concurrent.futures.Future``); an ``AsyncioRunHandle``'s ``result()`` is an asyncio coroutine.
Both keep the trio handle as ``handle`` for code on the runtime's trio side.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from arborist.actors._checks import check_timeout

if TYPE_CHECKING:
    from ..engine._handle import RunHandle

__all__ = ["AsyncioRunHandle", "ThreadRunHandle"]


class _Wrapped:
    """What both wrappers read straight off the trio handle: its id and workflow."""

    handle: RunHandle

    @property
    def run_id(self) -> str:
        """The run's id (a UUIDv7 string)."""
        return self.handle.run_id

    @property
    def workflow(self) -> str:
        """The workflow's name."""
        return self.handle.workflow


class ThreadRunHandle(_Wrapped):
    """A run started by ``BackgroundRuntime.start`` (or found by ``get_run``), for threads.

    Attributes:
        handle: the trio ``RunHandle`` (only for code on the runtime's thread).
        future: a ``concurrent.futures.Future`` of the run's result; it resolves when the run
            ends, or with ``RuntimeClosedError`` if the runtime closes first.
    """

    def __init__(
        self,
        handle: RunHandle,
        future: concurrent.futures.Future[Any],
        on_trio: Callable[[Callable[[], Any]], Any],
    ) -> None:
        self.handle = handle
        self.future = future
        self._on_trio = on_trio

    @property
    def done(self) -> bool:
        """Whether the run has ended (its result is ready)."""
        return self.future.done()

    def result(self, timeout: float | None = None) -> Any:
        """Block this thread until the run ends and return its result (as ``RunHandle.result``).

        Raises:
            TimeoutError: ``timeout`` seconds passed first (the run goes on).
            WorkflowFailedError, WorkflowCancelledError, WorkflowCrashedError: how it ended.
            RuntimeClosedError: the runtime closed before the run ended.
        """
        check_timeout(timeout, "result timeout")
        return self.future.result(timeout)

    def cancel(self) -> None:
        """Cancel the run (steps in flight are cancelled, completed ones undone); no-op if done."""
        if not self.future.done():
            self._on_trio(self.handle.cancel)

    def timeline(self, width: int = 60) -> str:
        """The run's timeline as text (``RunHandle.timeline``), read on the runtime's thread."""
        return str(self._read(lambda: self.handle.timeline(width)))

    def trace(self) -> dict[str, Any]:
        """The run's Chrome trace-event document (``RunHandle.trace``)."""
        document: dict[str, Any] = self._read(self.handle.trace)
        return document

    def _read(self, read: Callable[[], Any]) -> Any:
        # A run in flight is read where it is written; an ended run's records no longer change.
        return read() if self.future.done() else self._on_trio(read)

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<ThreadRunHandle {self.workflow} {self.run_id} {state}>"


class AsyncioRunHandle(_Wrapped):
    """A run started by ``AsyncioRuntime.start`` (or found by ``get_run``), for asyncio code.

    ``await handle.result()`` waits for it from asyncio. In guest mode trio runs on the asyncio
    thread, so ``cancel``, ``done``, ``timeline`` and ``trace`` are plain calls.

    Attributes:
        handle: the trio ``RunHandle``.
    """

    def __init__(
        self, handle: RunHandle, in_trio: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]
    ) -> None:
        self.handle = handle
        self._in_trio = in_trio

    @property
    def done(self) -> bool:
        """Whether the run has ended."""
        return self.handle.done

    async def result(self) -> Any:
        """Wait for the run to end and return its result (as ``RunHandle.result``).

        Cancelling the awaiting asyncio task does not cancel the run; ``cancel()`` does.
        """
        return await self._in_trio(self.handle.result)

    def cancel(self) -> None:
        """Cancel the run (steps in flight are cancelled, completed ones undone); no-op if done."""
        self.handle.cancel()

    def timeline(self, width: int = 60) -> str:
        """The run's timeline as text (``RunHandle.timeline``)."""
        return self.handle.timeline(width)

    def trace(self) -> dict[str, Any]:
        """The run's Chrome trace-event document (``RunHandle.trace``)."""
        return self.handle.trace()

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<AsyncioRunHandle {self.workflow} {self.run_id} {state}>"

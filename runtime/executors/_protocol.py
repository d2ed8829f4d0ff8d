"""The executor protocol: what the engine's step runner calls to run a function elsewhere.

An ``Executor`` runs plain functions on another thread, process or cluster; each submission
returns a ``RemoteCall``, a handle whose completion is reported through a callback (from any
thread) so trio can await it without a thread per pending call (``wait_remote``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

__all__ = ["CancelResult", "Executor", "RemoteCall", "SubmitItem"]

SubmitItem: TypeAlias = tuple[tuple[Any, ...], Mapping[str, Any]]
"""One call of a ``submit_many`` batch: its positional and its keyword arguments."""


class CancelResult(enum.Enum):
    """What ``RemoteCall.cancel()`` really did; engines differ, and the caller must know.

    Attributes:
        NOT_STARTED: the call had not started and never will (a queued thread/process call).
        KILLED: the engine stopped it wherever it was: Ray with ``force=True`` kills the
            worker process of a running task and drops a queued one.
        ABANDONED: the engine cannot stop a running function: if it had started it runs to its
            end on its worker, which stays busy, and its result is discarded (threads,
            processes, Dask; an element whose chunk still has live elements).
            ``RemoteCall.add_gone_callback`` reports when it has really ended.
        ALREADY_DONE: it had finished before ``cancel()``; ``result()`` still gives its result.
    """

    NOT_STARTED = "not started"
    KILLED = "killed"
    ABANDONED = "abandoned"
    ALREADY_DONE = "already done"


@runtime_checkable
class RemoteCall(Protocol):
    """A handle on one submitted call: completion callbacks, the result, a best-effort cancel.

    Every method is safe to call from any thread and never blocks on the engine.
    """

    @property
    def label(self) -> str:
        """The engine's name for the call (Dask key, Ray task name, or a local label)."""
        ...

    @property
    def cancel_result(self) -> CancelResult | None:
        """What the first ``cancel()`` did, or None if the call was never cancelled."""
        ...

    def done(self) -> bool:
        """Whether the call has finished (value, error, or cancelled)."""
        ...

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the call is done, on whatever thread finishes it.

        Runs it at once, on the calling thread, if the call is already done. The callback must
        not block and must not touch trio state directly (use ``TrioToken.run_sync_soon``).
        """
        ...

    def result(self) -> Any:
        """The call's value, or raise the user's own exception (engine wrappers removed).

        Never blocks.

        Raises:
            RemoteCallPendingError: the call is not done yet.
            RemoteCancelledError: the call was cancelled (by ``cancel()`` or by the engine).
        """
        ...

    def cancel(self) -> CancelResult:
        """Cancel the call, best effort; return what really happened (see ``CancelResult``).

        Never raises and never blocks on the engine (a cancel is sent, not awaited);
        idempotent: later calls return the first call's result. A cancelled call is done:
        its done callbacks run and ``result()`` raises ``RemoteCancelledError``.
        """
        ...

    def add_gone_callback(self, callback: Callable[[], None]) -> bool:
        """Call ``callback()`` (any thread) once the function no longer runs anywhere.

        A call that finished, or was dropped or killed, is gone at once; an abandoned one when
        its function returns on its worker.

        Returns:
            False if the engine cannot report it (the callback is then never called).
        """
        ...


@runtime_checkable
class Executor(Protocol):
    """Runs plain functions elsewhere: a thread or process pool, Dask distributed, Ray.

    Lifecycle: construct (cheap, checks the engine is installed), ``await open()`` once,
    submit any number of calls from the trio thread, ``await aclose()`` once. An executor runs
    each submission exactly once: retries, backoff, timeouts and compensation belong to the
    caller (engine-side retries are off unless the caller's options turn them on).
    """

    @property
    def name(self) -> str:
        """A short name for messages and events (``"dask"``, ``"ray"``, ``"thread"``)."""
        ...

    async def open(self) -> None:
        """Connect or start the engine; the blocking parts run on a worker thread."""
        ...

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check engine options early; return them normalised.

        Raises:
            ExecutorOptionError: an option the engine does not know or that arborist owns.
        """
        ...

    def submit(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        label: str | None = None,
    ) -> RemoteCall:
        """Submit ``fn(*args, **kwargs)`` once; never blocks the trio loop.

        ``label`` names the call in the engine (a unique suffix is added per submission).
        """
        ...

    def submit_many(
        self,
        fn: Callable[..., Any],
        items: Sequence[SubmitItem],
        options: Mapping[str, Any] | None = None,
        *,
        chunk_size: int = 1,
        label: str | None = None,
    ) -> list[RemoteCall]:
        """Submit one call of ``fn`` per item in as few engine messages as the engine allows.

        Items are grouped ``chunk_size`` to an engine task (run one after another there, each
        with its own result or error); the result is one ``RemoteCall`` per item, in order.
        """
        ...

    async def aclose(self) -> None:
        """Cancel queued calls and release the engine (what this executor started)."""
        ...

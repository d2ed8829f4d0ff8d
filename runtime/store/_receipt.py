"""Receipts of posted writes, and the refusal an operation raises to skip its record alone.

A ``Receipt`` is what a store's write method returns: awaiting it waits until the write's
transaction has committed (see ``Writer``); ``Refusal`` is how an operation, on the writer's
connection, refuses its own record before writing anything (a stale fence, a missing row).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ._errors import FencedOutError
from ._sql import Check, Tx

if TYPE_CHECKING:
    from ._writer import Writer
    from ._writer_config import Operation

__all__ = ["Receipt", "Refusal", "fence_check", "fenced_out"]


class Refusal(Exception):  # noqa: N818 - an internal signal, not an error a user sees
    """Raised by an operation, before it wrote anything, to refuse its record alone."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def fenced_out(tx: Tx, kind: str, table: str, key: str, fence: int) -> Refusal:
    """The refusal of a write to ``table``'s ``key`` row whose ``fence`` is stale.

    ``kind`` is ``"run"`` or ``"job"``, and the table's key column ``<kind>_id``.
    """
    current = tx.fence(table, f"{kind}_id", key)
    return Refusal(FencedOutError(kind, key, fence, current))


def fence_check(tx: Tx, kind: str, table: str, key: str, fence: int) -> Check:
    """Refuses a write fenced in its own WHERE clause that changed no row (``fenced_out``)."""

    def check(rows: int) -> None:
        if not rows:
            raise fenced_out(tx, kind, table, key, fence)

    return check


class Receipt:
    """The acknowledgement of one posted write; ``await receipt`` waits until it is durable.

    Awaiting returns the operation's value (None for most writes) once the transaction that
    holds the write has committed. It raises ``FencedOutError`` when the write was refused
    because another owner claimed its run, the operation's own refusal (for example
    ``ValueError`` for a tick that was never claimed), or ``StoreError`` when the store failed
    before committing it. Cancelling the await does not withdraw the write: it still commits.

    Instead of awaiting, an actor can register ``add_done_callback(fn)``: ``fn(receipt)`` runs
    on the trio thread once the write is settled, and reads the outcome with ``result()``, so
    one coordinator can keep many writes in flight (group commit) and release each step's
    dependents when its result is durable. Receipts have no public constructor; the store's
    write methods return them.
    """

    __slots__ = (
        "_args",
        "_callbacks",
        "_error",
        "_on_refused",
        "_op",
        "_seq",
        "_value",
        "_writer",
    )

    def __init__(
        self,
        writer: Writer,
        seq: int,
        op: Operation,
        args: tuple[Any, ...],
        on_refused: Callable[[BaseException], None] | None,
    ) -> None:
        self._writer = writer
        self._seq = seq
        self._op = op
        self._args = args
        self._on_refused = on_refused
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Receipt], None]] | None = None

    @property
    def committed(self) -> bool:
        """Whether the write's transaction has committed (or the write was refused)."""
        return self._writer.committed_seq >= self._seq

    @property
    def done(self) -> bool:
        """Whether the write is settled: committed, refused, or lost to a store failure."""
        return self.committed or self._writer.failure is not None

    def result(self) -> Any:
        """The outcome of a settled write: its value, or the error ``await`` would raise.

        Raises:
            RuntimeError: the write is not settled yet (see ``done``).
        """
        if self.committed:
            if self._error is not None:
                raise self._error.with_traceback(None)
            return self._value
        self._writer.raise_if_failed()
        raise RuntimeError(f"{self!r} is not settled yet: await it or add a done callback")

    def add_done_callback(self, fn: Callable[[Receipt], None]) -> None:
        """Call ``fn(self)`` on the trio thread once the write is settled (at once if it is).

        Callbacks run in commit order (a write's own in the order added), as do the
        wake-ups of tasks awaiting receipts; one that
        raises crashes the trio run (as any ``run_sync_soon`` callback), so keep them tiny:
        set an event, or ``tell`` an actor. A callback may run between two trio scheduling
        batches, in no task (a commit made as a batch ends): it must not call what needs a
        current task, such as ``trio.lowlevel.current_task()``.
        """
        if self.done:
            fn(self)
            return
        if self._callbacks is None:
            self._callbacks = [fn]
            self._writer.watch(self)
        else:
            self._callbacks.append(fn)

    def after_settled_together(self, fn: Callable[[], None]) -> None:
        """From a done callback: call ``fn()`` once every write of this commit is settled.

        So a callback that wakes an actor wakes it once per commit, not once per write (at
        once when called outside a settling).
        """
        self._writer.after_release(fn)

    def _settle(self) -> None:
        callbacks, self._callbacks = self._callbacks, None
        for fn in callbacks or ():
            fn(self)

    async def wait(self) -> Any:
        """Wait until the write is durable; return its value (see the class docstring)."""
        writer = self._writer
        if writer.committed_seq < self._seq:
            await writer.committed(self._seq)
        if self._error is not None:
            raise self._error.with_traceback(None)
        return self._value

    def __await__(self) -> Generator[Any, None, Any]:
        return self.wait().__await__()

    def __repr__(self) -> str:
        if not self.committed:
            state = "pending"
        elif self._error is not None:
            state = f"refused: {type(self._error).__name__}"
        else:
            state = "committed"
        return f"<Receipt #{self._seq} {getattr(self._op, '__name__', 'write')} {state}>"

"""A queue of items released as their writes commit, in posting order, with one wake-up per commit.

``Receipt.add_done_callback`` costs, for each write, a callback, an entry in the writer's heap
and a settle call. An actor with many writes in flight (a coordinator whose wide fan-out
finished together: hundreds of step results in one commit) only needs to learn, once per
commit, which of its writes are now settled. A ``CommitQueue`` keeps its receipts in posting
order, each with its items (rows that share one record, ``Writer.post_row``, share one
receipt: items added for it one after another join its entry), and has the writer call it
back once, for the oldest write; each call hands ``on_release`` every item whose write has
settled since, as ``(item, error)`` pairs, oldest first, then asks to be called again for the
oldest write still pending.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ._receipt import Receipt
    from ._writer import Writer

__all__ = ["CommitQueue"]

T = TypeVar("T")

Released = Callable[[list[tuple[T, BaseException | None]]], None]
"""``on_release(items)``: the items whose writes settled, each with its write's error (None)."""


def _seq(entry: tuple[Receipt, list[Any]]) -> int:
    return entry[0]._seq


class CommitQueue(Generic[T]):
    """Items waiting for their writes to settle, released in posting order (module docstring).

    Args:
        on_release: called on the trio thread with ``[(item, error), ...]`` once those items'
            writes settled: ``error`` is None for a committed write, else what awaiting its
            receipt would raise (a refusal such as ``FencedOutError``, or the store's
            ``StoreError``). Like a done callback it may run between two scheduling batches,
            in no task, and must be quick.
    """

    __slots__ = ("_armed", "_items", "_on_release", "_writer")

    def __init__(self, on_release: Released[T]) -> None:
        self._on_release = on_release
        self._items: deque[tuple[Receipt, list[T]]] = deque()  # each receipt with its items
        self._writer: Writer | None = None
        self._armed = 0  # the seq the writer was last asked to call back at

    def __len__(self) -> int:
        """Items not released yet."""
        return sum(len(group) for _, group in self._items)

    def add(self, receipt: Receipt, item: T) -> None:
        """Release ``item`` once ``receipt``'s write has settled (at once if it has)."""
        items = self._items
        if items:
            newest = items[-1]
            if newest[0] is receipt:  # another row of the newest record: released with it
                newest[1].append(item)
                return
            if receipt._seq < newest[0]._seq:  # posted before the newest: keep the order
                bisect.insort(items, (receipt, [item]), key=_seq)
            else:
                items.append((receipt, [item]))
        else:
            items.append((receipt, [item]))
        self._writer = receipt._writer
        if receipt.done:
            self._release()
        elif items[0][0] is receipt and self._armed != receipt._seq:
            self._armed = receipt._seq
            receipt._writer._when_committed(receipt._seq, self._release)

    def after_release(self, fn: Callable[[], None]) -> None:
        """From ``on_release``: call ``fn()`` once every write of this commit is settled.

        ``Receipt.after_settled_together`` for the queue's writes (at once outside a settling).
        """
        if self._writer is None:
            fn()
        else:
            self._writer.after_release(fn)

    def _release(self) -> None:
        items, writer = self._items, self._writer
        assert writer is not None  # called back only for an item added
        committed, failure = writer.committed_seq, writer.failure
        released: list[tuple[T, BaseException | None]] = []
        while items:
            receipt, group = items[0]
            seq = receipt._seq
            if seq <= committed:
                error = receipt._error
            elif failure is not None:
                error = failure
            else:
                if self._armed != seq:
                    self._armed = seq
                    writer._when_committed(seq, self._release)
                break
            released.extend([(item, error) for item in group])
            items.popleft()
        if released:
            self._on_release(released)

"""Inline commits: the trio side of ``Writer`` committing on the trio thread itself.

Two ways (SQLite ``durability="normal"`` only, whose commit does not wait for the disk): a
small batch when trio goes idle with the thread idle too (``_commit_here``), and the boxes
handed to the thread that it has not taken yet when trio goes idle (``steal``). Both hold
the write connection's lock, as the thread does when it takes boxes, so commits stay in
posting order.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Any

from ._receipt import Receipt
from ._writer_thread import WriterThread

__all__ = ["InlineSide"]


class InlineSide(WriterThread):
    """The inline commits of ``Writer`` (a base of it, which sets these attributes)."""

    _outbox: list[Receipt]
    _extra: int
    _open_key: object
    _inline_max: int
    _begin_now: Any
    _contended: bool
    _busy: threading.Lock
    committed_seq: int

    def hand_off(self) -> None:
        raise NotImplementedError

    def _queue_stop(self) -> None:
        raise NotImplementedError

    def _commit_here(self) -> None:
        """Commit the posted records on the trio thread, or hand them to the thread.

        Here when the batch is small and the thread idle (everything it took has committed,
        and what it has not taken trio commits first: commits stay in posting order); the
        waiters are woken at once.
        """
        if self._boxes:
            self.steal()
        box, tx, extra = self._outbox, self._tx, self._extra
        rows = len(box) + extra
        if (
            rows > self._inline_max
            or tx is None
            or self._boxes
            or self.committed_seq < self._taken
            or self._failure is not None
            or not self._busy.acquire(blocking=False)
        ):
            self.hand_off()
            return
        self._outbox, self._extra, self._open_key = [], 0, None
        try:
            if self._begin_now is not None and not self._begin_now(tx):
                self._outbox, self._extra = box, extra  # another process holds the write lock
                self._contended = True  # until a commit: trio steals nothing meanwhile
                self.hand_off()  # the thread waits for it
                return
            begun = self._begin_now is not None
            self._on_batch(*self._commit_retrying(tx, box, rows, begun=begun), rows)
        except BaseException as exc:  # the batch rolled back: fail as the thread would
            self._on_failure(exc)
            self._queue_stop()  # the thread ends and closes the connection
        finally:
            self._busy.release()

    def steal(self) -> None:
        """Commit on the trio thread the boxes the thread has not taken yet (up to a batch).

        Called as trio goes idle (no task runnable) on a store that commits inline: a box
        handed over while trio was busy is mostly still waiting, since the thread hardly gets
        the GIL from a busy trio (a wide fan-out's 500 results, committed in one go once trio
        idles), and waking it would cost about 1 ms more on this kind of machine. Only while
        the thread holds nothing: its own commits have all been reported, and it takes boxes
        holding ``_busy`` too, so commits stay in posting order.
        """
        tx = self._tx
        if (
            tx is None
            or self._contended
            or self._failure is not None
            or self.committed_seq < self._taken
            or not self._busy.acquire(blocking=False)
        ):
            return
        try:
            box, rows, _ = self._take(self._max_batch, thread=False)
            if not box:
                return
            if self._begin_now is not None and not self._begin_now(tx):
                self._boxes.appendleft((box, rows))  # another process holds the write lock:
                self._contended = True  # the thread, woken for these already, waits for it
                return
            begun = self._begin_now is not None
            done = self._commit_retrying(tx, box, rows, begun=begun)
            if not self._boxes and not self._checkpoint_due:
                with contextlib.suppress(queue.Empty):  # nothing left to wake the thread for
                    while True:
                        self._queue.get_nowait()
            self._on_batch(*done, rows)
        except BaseException as exc:  # the batch rolled back: fail as the thread would
            self._on_failure(exc)
            self._queue_stop()
        finally:
            self._busy.release()


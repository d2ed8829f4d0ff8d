"""The writer thread's side of ``Writer``: it takes the queued boxes and commits them.

Everything here runs on the writer thread except ``_take`` and ``_commit_retrying`` and what
it calls, which the trio side also runs for an inline commit (holding the connection's lock).

The boxes wait in a deque; a wake-up token per box (or per checkpoint request) goes to a
``SimpleQueue`` the thread blocks on. The thread takes boxes only holding the write
connection's lock, so trio may commit the boxes the thread has not taken yet (``Writer``'s
idle steal) and commits stay in posting order either way.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import operator
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from ._receipt import Receipt, Refusal
from ._sql import Tx

if TYPE_CHECKING:
    from ._errors import StoreError

__all__ = ["PIPELINE_MAX", "RETRIES", "WriterThread"]

STOP = object()
"""Queued last: the thread commits what is queued before it, then ends."""

_op_of = operator.attrgetter("_op")
"""A record's operation (``_apply`` groups consecutive records by it)."""

RETRIES = 3
"""How many times a batch aborted by a deadlock or serialization failure is run again."""

PIPELINE_MAX = 16
"""Batches up to this many records (a row record counts each row) are pipelined on PostgreSQL
(one round trip instead of three for a lone record: chain 460 against 640 us measured);
larger ones are not, since psycopg's per-statement pipeline cost (about 95 against 75 us a
record) then outweighs the round trips it saves."""


class WriterThread:
    """The thread side of the writer (a base of ``Writer``, which sets these attributes)."""

    _token: trio.lowlevel.TrioToken | None
    _setup: Callable[[], Tx]
    _teardown: Callable[[], None]
    _tx: Tx | None
    _queue: queue.SimpleQueue[None]
    _boxes: collections.deque[Any]
    _taken: int
    _checkpoint_due: bool
    _max_batch: int
    _busy: threading.Lock
    _begin: str
    _retryable: Callable[[BaseException], bool]
    _checkpoint: Callable[[], None] | None
    _begin_waiting: Callable[[Tx], None]
    _failure: StoreError | None

    def _on_ready(self, error: BaseException | None) -> None:
        raise NotImplementedError

    def _on_batch(self, seq: int, refused: list[Receipt], rows: int) -> None:
        raise NotImplementedError

    def _on_failure(self, exc: BaseException) -> None:
        raise NotImplementedError

    def _on_exit(self) -> None:
        raise NotImplementedError

    def _report(self, fn: Callable[..., None], *args: Any) -> None:
        assert self._token is not None
        try:
            self._token.run_sync_soon(fn, *args)
        except trio.RunFinishedError:  # the trio run ended first: nobody is waiting
            pass

    def _main(self) -> None:
        try:
            try:
                tx = self._setup()
            except BaseException as exc:
                self._report(self._on_ready, exc)
                return
            self._tx = tx
            self._report(self._on_ready, None)
            try:
                self._loop(tx)
            except BaseException as exc:
                self._report(self._on_failure, exc)
        finally:
            try:
                self._teardown()
            finally:
                self._report(self._on_exit)

    def _loop(self, tx: Tx) -> None:
        get, get_nowait, boxes, limit = (
            self._queue.get, self._queue.get_nowait, self._boxes, self._max_batch
        )
        while True:
            get()  # a wake-up: a box was queued (trio may have committed it since) or a
            with contextlib.suppress(queue.Empty):  # checkpoint asked for; the deque and the
                while True:  # flag are read below, so the wake-ups queued meanwhile go too
                    get_nowait()
            put_off = False
            while True:
                if boxes:  # else trio took them: holding the lock for nothing blocks trio
                    with self._busy:
                        taken, rows, stop = self._take(limit, thread=True)
                        if taken:
                            done = self._commit_retrying(tx, taken, rows)
                            self._report(self._on_batch, *done, rows)
                    if stop:
                        return
                if self._checkpoint_due and (put_off or not boxes):
                    # First while trio may commit (the bulk of the copy), then again holding
                    # the write connection's lock, so that it catches up with the whole WAL
                    # and the next commit starts the WAL file over: a WAL written to while
                    # every checkpoint runs is never restarted (it grew by ~60 MB/s under a
                    # chain). Boxes waiting go first, once: a checkpoint takes about 1 ms.
                    self._checkpoint_due = False
                    assert self._checkpoint is not None
                    self._checkpoint()
                    with self._busy:
                        self._checkpoint()
                elif self._checkpoint_due:
                    put_off = True
                if not boxes and not self._checkpoint_due:
                    break

    def _take(self, limit: int, *, thread: bool) -> tuple[list[Receipt], int, bool]:
        """Pop the queued boxes up to ``limit`` rows (at least one box); hold ``_busy``.

        Returns:
            Their records, their rows, and whether ``STOP`` came next: the thread pops it
            (``thread``), trio leaves it queued.
        """
        boxes, size = self._boxes, 0
        records: list[Receipt] = []
        while boxes:
            item = boxes[0]
            if item is STOP:
                if thread:
                    boxes.popleft()
                return records, size, True
            box, rows = item
            if records and size + rows > limit:
                break
            boxes.popleft()
            records.extend(box)
            size += rows
        if thread and records:
            self._taken = records[-1]._seq
        return records, size, False

    def _commit_retrying(
        self, tx: Tx, batch: list[Receipt], rows: int, *, begun: bool = False
    ) -> tuple[int, list[Receipt]]:
        """Commit ``batch`` (of ``rows`` rows); return the last seq and the refused records.

        ``begun``: the transaction is already open (for the first attempt).
        """
        for attempt in range(RETRIES + 1):
            try:
                return self._commit(tx, batch, rows, begun=begun and attempt == 0)
            except Exception as exc:
                if attempt == RETRIES or not self._retryable(exc):
                    raise
                for record in batch:  # the transaction rolled back: start the batch afresh
                    record._error = None
                    record._value = None
        raise AssertionError("unreachable")  # pragma: no cover

    def _begin_plain(self, tx: Tx) -> None:
        """A write transaction's opening when the store has no ``begin_waiting`` of its own."""
        tx.begin(self._begin)

    def _apply(self, tx: Tx, batch: list[Receipt], refused: list[Receipt], begun: bool) -> None:
        """One transaction: every record's operation, then COMMIT (refusals noted)."""
        if not begun:
            self._begin_waiting(tx)
        for op, records in itertools.groupby(batch, key=_op_of):
            group = list(records)
            many = getattr(op, "many", None)
            if many is not None and len(group) > 1 and not tx.pipelining:
                refusals = many(tx, [record._args for record in group])  # one call for them all
                for record, refusal in zip(group, refusals, strict=True):
                    if refusal is not None:
                        record._error = refusal.error
                        refused.append(record)
                continue
            for record in group:
                tx.record = record
                try:
                    record._value = op(tx, *record._args)
                except Refusal as refusal:
                    record._error = refusal.error
                    refused.append(record)
        tx.end("COMMIT")

    def _commit(
        self, tx: Tx, batch: list[Receipt], rows: int, *, begun: bool = False
    ) -> tuple[int, list[Receipt]]:
        refused: list[Receipt] = []
        try:
            if tx.can_pipeline and rows <= PIPELINE_MAX:
                with tx.pipelined():
                    self._apply(tx, batch, refused, begun)
            else:
                self._apply(tx, batch, refused, begun)
        except BaseException:
            try:
                tx.end("ROLLBACK")
            except Exception:  # the connection may be gone; the original error matters
                pass
            raise
        finally:
            tx.record = None
        if tx.deferred:
            for record, check, changed in tx.checked():  # pipelined, checked after commit
                try:
                    check(changed)
                except Refusal as refusal:
                    record._error = refusal.error
                    refused.append(record)
        return batch[-1]._seq, refused

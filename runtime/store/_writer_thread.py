"""The writer thread's side of ``Writer``: it takes the queued records and commits them.

Everything here runs on the writer thread except ``_commit_retrying`` and what it calls,
which the trio side also runs for an inline commit (holding the connection's lock).
"""

from __future__ import annotations

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

CHECKPOINT = object()
"""Queued to ask the thread for a checkpoint (see ``Writer``'s ``checkpoint``)."""

_op_of = operator.attrgetter("_op")
"""A record's operation (``_apply`` groups consecutive records by it)."""

RETRIES = 3
"""How many times a batch aborted by a deadlock or serialization failure is run again."""

PIPELINE_MAX = 16
"""Batches up to this many records (a row record counts each row) are pipelined on PostgreSQL
(one round trip instead of three for a lone record: chain 460 against 640 us measured);
larger ones are not, since psycopg's per-statement pipeline cost (about 95 against 75 us a
record) then outweighs the round trips it saves."""


def _transactions(
    boxes: list[tuple[list[Receipt], int]], limit: int
) -> list[tuple[list[Receipt], int]]:
    """Consecutive boxes joined into transactions of at most ``limit`` rows: (records, rows)."""
    out: list[tuple[list[Receipt], int]] = []
    records: list[Receipt] = []
    size = 0
    for box, rows in boxes:
        if records and size + rows > limit:
            out.append((records, size))
            records, size = [], 0
        records.extend(box)
        size += rows
    if records:
        out.append((records, size))
    return out


class WriterThread:
    """The thread side of the writer (a base of ``Writer``, which sets these attributes)."""

    _token: trio.lowlevel.TrioToken | None
    _setup: Callable[[], Tx]
    _teardown: Callable[[], None]
    _tx: Tx | None
    _queue: queue.SimpleQueue[Any]
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
        get, get_nowait, limit = self._queue.get, self._queue.get_nowait, self._max_batch
        stop = False
        while not stop:
            # Each box is ``(records, rows)`` with at most ``limit`` rows (the trio side hands
            # a box over before it holds more), or a signal (STOP, CHECKPOINT).
            items = [get()]
            size = items[0][1] if type(items[0]) is tuple else 0
            while size < limit and items[-1] is not STOP:
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
                items.append(item)
                size += item[1] if type(item) is tuple else 0
            stop = items[-1] is STOP
            boxes = [item for item in items if type(item) is tuple]
            if boxes:
                with self._busy:
                    for batch, rows in _transactions(boxes, limit):
                        self._report(self._on_batch, *self._commit_retrying(tx, batch, rows), rows)
            if self._checkpoint is not None and any(item is CHECKPOINT for item in items):
                # First while trio may commit (the bulk of the copy), then again holding the
                # write connection's lock, so that it catches up with the whole WAL and the
                # next commit starts the WAL file over: a WAL written to while every
                # checkpoint runs is never restarted (it grew by ~60 MB/s under a chain).
                self._checkpoint()
                with self._busy:
                    self._checkpoint()

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

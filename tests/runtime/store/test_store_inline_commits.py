"""Inline commits: on SQLite ``durability="normal"`` an idle trio commits a small batch itself.

The writer thread stays the rule for a busy trio, a large batch, a store whose commit waits for
the disk (``"power"``) and while the thread has work; commits stay in posting order, and a
failure there fails the store as one on the thread does.
"""

from __future__ import annotations

import threading
import time

import pytest
import trio
import trio.testing

from arborist.runtime.store import SQLiteStore, StoreError, open_store
from arborist.runtime.store._writer_config import (
    CHECKPOINT_COMMITS,
    HAND_OFF_AT,
    IDLE_CHANCES,
    INLINE_MAX,
)


def where(seen):
    """A write that records which thread ran it."""

    def op(tx):
        seen.append(threading.current_thread() is threading.main_thread())

    return op


class Deaf:
    """Stands in for the writer's wake-up queue: puts are dropped, so the thread hears nothing.

    Reads go to the real queue, so a thread that bound its reads to this stand-in (a thread
    entering its loop only after the swap) is still woken by ``hear``.
    """

    def __init__(self, writer):
        self._writer = writer
        self._real = writer._queue
        writer._queue = self

    def put(self, item):
        pass

    def get(self, *args, **kwargs):
        return self._real.get(*args, **kwargs)

    def get_nowait(self):
        return self._real.get_nowait()

    def hear(self):
        """Put the real queue back and wake the thread."""
        self._writer._queue = self._real
        self._real.put(None)


async def test_an_idle_trio_commits_a_small_batch_itself(tmp_path):
    seen = []
    async with open_store(SQLiteStore(tmp_path / "s.db")) as store:
        await store._post(where(seen))

    assert seen == [True]


async def test_a_batch_posted_as_trio_goes_idle_commits_as_that_batch_ends(tmp_path):
    # Not in a batch of its own (the pump woken for it): between two batches, in no task.
    tasks = []

    def op(tx):
        try:
            tasks.append(trio.lowlevel.current_task().name)
        except RuntimeError:  # "must be called from async context": between two batches
            tasks.append(None)

    async with open_store(SQLiteStore(tmp_path / "s.db")) as store:
        await trio.testing.wait_all_tasks_blocked()  # the pump waits for trio to go idle
        for _ in range(3):
            await store._post(op)

    assert tasks == [None, None, None]


async def test_an_error_a_callback_raises_in_a_batch_end_commit_is_raised_not_lost(tmp_path):
    class Boom(Exception):
        pass

    def boom(receipt):
        raise Boom(receipt)

    async def crash():
        async with open_store(SQLiteStore(tmp_path / "s.db")) as store:
            await trio.testing.wait_all_tasks_blocked()
            for _ in range(2):  # the first fails the writer, the second raises from there
                store._post(lambda tx: None).add_done_callback(boom)
            await trio.sleep_forever()

    with pytest.RaisesGroup(Boom, flatten_subgroups=True):
        await crash()


async def test_a_batch_posted_while_trio_stays_busy_goes_to_the_thread(tmp_path):
    seen = []
    async with open_store(SQLiteStore(tmp_path / "s.db")) as store:
        receipt = store._post(where(seen))
        while not receipt.committed:  # trio never goes idle: runnable at every batch end
            await trio.lowlevel.checkpoint()

    assert seen == [False]


async def test_a_batch_larger_than_the_inline_limit_is_handed_to_the_thread(tmp_path):
    async with open_store(SQLiteStore(tmp_path / "s.db")) as store:
        writer = store._writer
        deaf = Deaf(writer)  # the thread hears nothing
        receipts = [store._post(lambda tx: None) for _ in range(INLINE_MAX + 1)]
        writer._idle_wait = True  # as the pump waits for trio to go idle
        writer.end_of_batch(0.0)
        handed = [len(box) for box, rows in writer._boxes]
        deaf.hear()
        await receipts[-1]

    assert handed == [INLINE_MAX + 1]


async def test_an_idle_trio_commits_the_boxes_the_thread_has_not_taken(tmp_path):
    # The thread hardly gets the GIL from a busy trio: what it was handed mostly waits until
    # trio idles, and trio then commits it itself instead of waking the thread.
    seen = []
    async with open_store(SQLiteStore(tmp_path / "s.db")) as store:
        writer = store._writer
        deaf = Deaf(writer)  # the thread hears nothing
        receipts = [store._post(where(seen)) for _ in range(HAND_OFF_AT + INLINE_MAX + 1)]
        handed_at_once = len(writer._boxes)  # a full box goes without waiting for idle
        await receipts[-1]  # trio goes idle with both boxes waiting
        deaf.hear()

    assert handed_at_once == 1
    assert seen == [True] * (HAND_OFF_AT + INLINE_MAX + 1)
    assert [receipt.committed for receipt in receipts] == [True] * len(receipts)


async def test_a_box_an_idle_trio_commits_wakes_its_waiter_at_once_not_at_the_next_deadline(
    tmp_path,
):
    # One record a transaction: each is handed over as it is posted, so the pump is not waiting
    # for trio to go idle, and trio's wait for I/O would last until its next deadline (the guard
    # here; the store's lease renewal, 10 s, otherwise) after the commit that woke the waiter.
    seen = []
    async with open_store(SQLiteStore(tmp_path / "s.db", max_batch=1)) as store:
        writer = store._writer
        deaf = Deaf(writer)  # the thread hears nothing
        try:
            with trio.move_on_after(5):  # a deadline trio would otherwise sleep until
                started = time.perf_counter()
                await store._post(where(seen))
                waited = time.perf_counter() - started
        finally:
            deaf.hear()

    assert seen == [True]
    assert waited < 2.5  # a commit takes milliseconds; missing the wake-up, 5 s


async def test_a_checkpoint_asked_for_runs_after_the_boxes_queued_before_it(tmp_path):
    order = []
    gate = threading.Event()
    store = SQLiteStore(tmp_path / "s.db")
    checkpoint = store._checkpoint

    def watched():
        order.append("checkpoint")
        checkpoint()

    store._writer._checkpoint = watched
    async with open_store(store):
        writer = store._writer
        writer._inline_max = 0  # only the thread commits: the order is its own
        first = store._post(lambda tx: gate.wait())
        await trio.lowlevel.checkpoint()  # the batch ends: the first box goes to the thread
        while writer._taken < first._seq:
            await trio.to_thread.run_sync(lambda: None)
        writer._checkpoint_due = True  # what a commit past CHECKPOINT_COMMITS asks
        writer._queue.put(None)
        later = [store._post(lambda tx: order.append("write")) for _ in range(3)]
        writer.hand_off()
        await trio.to_thread.run_sync(gate.set)
        await later[-1]
        while "checkpoint" not in order:
            await trio.to_thread.run_sync(lambda: None)

    assert order == ["write", "write", "write", "checkpoint", "checkpoint"]


async def test_a_store_whose_commit_waits_for_the_disk_always_uses_the_thread(tmp_path):
    seen = []
    async with open_store(SQLiteStore(tmp_path / "s.db", "power")) as store:
        await store._post(where(seen))
        await trio.lowlevel.cancel_shielded_checkpoint()  # the batch ends: handed over
        handed = store._post(where(seen))
        await trio.lowlevel.cancel_shielded_checkpoint()
        outbox_after_the_batch = list(store._writer._outbox)
        await handed

    assert seen == [False, False]
    assert outbox_after_the_batch == []


async def test_while_the_thread_has_work_later_batches_follow_it_in_posting_order(tmp_path):
    order = []
    gate = threading.Event()

    def slow(tx):
        gate.wait()
        order.append("first")

    def quick(tx):
        order.append("second")

    async with open_store(SQLiteStore(tmp_path / "s.db")) as store:
        first = store._post(slow)
        while store._writer._outbox:  # keep trio busy until the first goes to the thread
            await trio.lowlevel.checkpoint()
        second = store._post(quick)  # trio may go idle now, but the thread is not
        await trio.lowlevel.checkpoint()
        await trio.to_thread.run_sync(gate.set)
        await second

    assert first.committed
    assert order == ["first", "second"]  # committed after the thread's work, by either side


async def test_an_inline_commit_that_fails_fails_the_store_like_the_thread(tmp_path):
    def broken(tx):
        tx.execute("INSERT INTO no_such_table VALUES (1)")

    seen = {}

    async def fail_inline():
        async with open_store(SQLiteStore(tmp_path / "s.db")) as store:
            seen["store"] = store
            with pytest.raises(StoreError, match="no_such_table") as first:
                await store._post(broken)
            seen["first"] = first.value
            with pytest.raises(StoreError):
                store._post(where([]))

    with pytest.raises(StoreError, match="no_such_table"):
        await fail_inline()

    assert seen["first"].__cause__ is not None
    assert not seen["store"].is_open


async def test_wal_checkpoints_run_on_the_writer_thread_never_in_an_inline_commit(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    ran_on_main = []
    checkpoint = store._checkpoint

    def watched():
        ran_on_main.append(threading.current_thread() is threading.main_thread())
        checkpoint()

    store._writer._checkpoint = watched
    async with open_store(store):
        for _ in range(2 * CHECKPOINT_COMMITS):
            await store._post(where([]))  # one inline commit each
        autocheckpoint = store._write_conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        await trio.to_thread.run_sync(lambda: None)  # let the thread take its queue

    assert autocheckpoint == 0
    assert len(ran_on_main) >= 1
    assert not any(ran_on_main)


async def test_another_process_holding_the_write_lock_never_stalls_trio(tmp_path):
    import sqlite3

    seen = []
    async with open_store(SQLiteStore(tmp_path / "s.db")) as store:
        await store._post(where(seen))  # inline: the write connection stops busy-waiting
        other = sqlite3.connect(tmp_path / "s.db", isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # as another process's long write transaction
        receipt = store._post(where(seen))
        for _ in range(5):  # trio keeps running while the write waits for the lock
            await trio.to_thread.run_sync(lambda: None)
        waited = not receipt.committed
        other.execute("COMMIT")
        await receipt
        other.close()

    assert waited
    assert seen == [True, False]  # the thread, which waits for the lock again, committed it


def padded(tx):
    """A write of about one page, as a step's result row is."""
    tx.execute("CREATE TABLE IF NOT EXISTS pad (value BLOB)")
    tx.execute("INSERT INTO pad (value) VALUES (?)", (b"x" * 3000,))


async def test_the_wal_file_starts_over_under_a_steady_stream_of_inline_commits(tmp_path):
    wal = tmp_path / "s.db-wal"
    async with open_store(SQLiteStore(tmp_path / "s.db")) as store:
        for _ in range(2 * CHECKPOINT_COMMITS):
            await store._post(padded)  # one inline commit each, a page or more
        early = wal.stat().st_size
        for _ in range(6 * CHECKPOINT_COMMITS):
            await store._post(padded)
        late = wal.stat().st_size

    # never restarted, the WAL would hold every commit's frames: four times as many by now
    assert late < 1.5 * early


async def test_records_posted_after_a_batch_end_commit_get_their_own_idle_chances(tmp_path):
    # The pump still waits for trio to go idle since the first record, which a batch end
    # committed after some busy batch ends; the next record, posted while trio is busy
    # again, gets IDLE_CHANCES batch ends of its own, not what the first one left.
    seen = []
    async with open_store(SQLiteStore(tmp_path / "s.db")) as store:
        await trio.testing.wait_all_tasks_blocked()
        for _ in range(2):
            receipt = store._post(where(seen))
            for _ in range(IDLE_CHANCES - 1):  # busy at fewer batch ends than it may wait
                await trio.lowlevel.checkpoint()
            await receipt  # trio goes idle: the batch end commits it

    assert seen == [True, True]


async def test_a_checkpoint_is_due_after_checkpoint_rows_rows_even_in_few_commits(
    tmp_path, monkeypatch
):
    from arborist.runtime.store import _writer

    monkeypatch.setattr(_writer, "CHECKPOINT_ROWS", 40)
    store = SQLiteStore(tmp_path / "s.db")
    checkpoint = store._checkpoint
    ran = []

    def watched():
        ran.append(True)
        checkpoint()

    store._writer._checkpoint = watched
    async with open_store(store):
        receipts = [store._post(lambda tx: None) for _ in range(40)]  # one batch, one commit
        await receipts[-1]
        commits = store._writer.batches
        with trio.fail_after(10):  # without the rows' rule: none due before 500 commits
            while not ran:
                await trio.to_thread.run_sync(lambda: None)

    assert commits < CHECKPOINT_COMMITS
    assert ran == [True, True]  # both halves: without and holding the write lock

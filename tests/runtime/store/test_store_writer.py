"""The write path: group commit, durability on await, loud failures, closed stores."""

from __future__ import annotations

import threading

import pytest
import trio
import trio.testing

from arborist.runtime.store import (
    FencedOutError,
    RunStatus,
    StoreClosedError,
    StoreError,
    open_store,
)
from arborist.runtime.store._writer_config import HAND_OFF_AT


async def new_recorder(store):
    created = await store.create_run("w", plan_hash="p", inputs=None)
    return created.run, store.recorder(created.run)


async def test_records_posted_together_commit_in_few_transactions(store):
    run, rec = await new_recorder(store)
    before = store.statistics()

    receipts = [rec.step_ok(f"s{i}", 1, i) for i in range(200)]
    await receipts[-1]
    after = store.statistics()

    assert all(r.committed for r in receipts)
    assert after.committed - before.committed == 200
    assert after.batches - before.batches <= 5
    assert len((await store.load_journal(run.run_id)).attempts) == 200


async def test_an_awaited_receipt_is_committed_and_says_so(store):
    _, rec = await new_recorder(store)

    receipt = rec.step_ok("a", 1, 1)
    await receipt

    assert receipt.committed
    assert repr(receipt).endswith("_upsert_ok_rows committed>")


async def test_writes_of_one_recorder_commit_in_the_order_posted(store):
    run, rec = await new_recorder(store)

    rec.step_started("a", 1)
    rec.step_failed("a", 1, "boom")
    await rec.step_ok("a", 1, "finally")
    (attempt,) = (await store.load_journal(run.run_id)).attempts

    assert (attempt.status, attempt.result, attempt.error) == (
        attempt.status.OK,
        "finally",
        None,
    )


async def test_a_writer_failure_is_raised_by_every_later_write_and_by_the_block(fresh_backend):
    seen = {}

    async def fail_the_writer():
        async with open_store(fresh_backend.make()) as store:
            seen["store"] = store
            _, rec = await new_recorder(store)
            fresh_backend.sql("DROP TABLE step_attempts")
            with pytest.raises(StoreError, match="step_attempts") as first:
                await rec.step_ok("a", 1, 1)
            seen["first"] = first.value
            with pytest.raises(StoreError):
                rec.set_status(RunStatus.FAILED)
            with pytest.raises(StoreError):
                await store.flush()

    with pytest.raises(StoreError, match="failed") as raised:
        await fail_the_writer()

    assert seen["first"].__cause__ is not None
    assert raised.value.__cause__ is seen["first"].__cause__
    assert "failed" in repr(seen["store"])


async def test_a_closed_store_refuses_writes_and_reads(backend):
    async with open_store(backend.make()) as store:
        _, rec = await new_recorder(store)

    with pytest.raises(StoreClosedError):
        rec.step_ok("a", 1, 1)
    with pytest.raises(StoreClosedError, match="inside `async with open_store"):
        await store.list_runs()


async def test_a_store_object_opens_once(backend):
    made = backend.make()
    async with open_store(made):
        pass

    with pytest.raises(StoreClosedError, match="opens once"):
        async with open_store(made):
            pass


async def test_writes_posted_before_the_block_ends_are_committed_by_its_end(backend):
    async with open_store(backend.make()) as store:
        run, rec = await new_recorder(store)
        for i in range(50):
            rec.step_ok(f"s{i}", 1, i)

    async with open_store(backend.make()) as later:
        journal = await later.load_journal(run.run_id)
    assert len(journal.attempts) == 50


async def test_cancelling_an_await_does_not_withdraw_the_write(store):
    run, rec = await new_recorder(store)

    with trio.CancelScope() as scope:
        scope.cancel()
        await rec.step_ok("a", 1, "kept")
    journal = await store.load_journal(run.run_id)

    assert journal.results() == {"a": "kept"}


def test_a_store_shows_its_location_owner_and_state(tmp_path):
    from arborist.runtime.store import SQLiteStore

    made = SQLiteStore(tmp_path / "x.db")

    assert repr(made) == f"<SQLiteStore sqlite:///{tmp_path / 'x.db'} owner {made.owner_id} new>"


class Deadlock(Exception):
    sqlstate = "40P01"


async def test_a_batch_aborted_by_a_retryable_error_is_run_again_whole(tmp_path):
    from arborist.runtime.store import SQLiteStore

    class RetryingStore(SQLiteStore):
        def _retryable(self, exc):
            return isinstance(exc, Deadlock)

    tries = []

    def flaky(tx):
        tries.append(1)
        tx.execute("INSERT INTO owners (owner_id, host, pid, started_at, lease_until)"
                   " VALUES ('x', 'h', 1, 0, 0)")  # fmt: skip
        if len(tries) == 1:
            raise Deadlock("deadlock detected")
        return "done"

    async with open_store(RetryingStore(tmp_path / "s.db")) as store:
        value = await store._post(flaky)
        owners = await store.list_owners(include_closed=True)

    assert (value, len(tries)) == ("done", 2)
    assert [o.owner_id for o in owners].count("x") == 1


async def test_a_store_that_cannot_be_opened_says_where_and_why(tmp_path):
    from arborist.runtime.store import SQLiteStore

    with pytest.raises(StoreError, match=r"cannot open the store at sqlite:///.*missing.*unable"):
        async with open_store(SQLiteStore(tmp_path / "missing" / "s.db")):
            pass


async def test_a_done_callback_runs_once_the_write_is_durable(store):
    run, rec = await new_recorder(store)
    settled = trio.Event()
    seen = []

    def on_done(receipt):
        seen.append((receipt.done, receipt.result()))
        settled.set()

    receipt = rec.step_ok("a", 1, "r")
    receipt.add_done_callback(on_done)
    await settled.wait()
    journal = await store.load_journal(run.run_id)

    assert seen == [(True, None)]
    assert journal.results() == {"a": "r"}


async def test_writes_posted_in_one_scheduling_batch_are_held_and_commit_together(store):
    _, rec = await new_recorder(store)
    writer = store._writer
    before = store.statistics()

    first = rec.step_started("a", 1)
    first.add_done_callback(lambda _: None)
    second = rec.step_ok("b", 1, "r")
    held_until_the_batch_ends = list(writer._outbox)
    await second

    assert held_until_the_batch_ends == [first, second]
    assert store.statistics().batches - before.batches == 1


async def test_ok_rows_posted_one_after_another_share_one_record_and_receipt(store):
    run, rec = await new_recorder(store)
    writer = store._writer

    receipts = [rec.step_ok(name, 1, name) for name in "abc"]
    held = list(writer._outbox)
    await receipts[-1]

    assert receipts[0] is receipts[1] is receipts[2]
    assert held == [receipts[0]]
    journal = await store.load_journal(run.run_id)
    assert [(a.step, a.result) for a in journal.attempts] == [("a", "a"), ("b", "b"), ("c", "c")]


async def test_another_write_between_two_ok_rows_starts_a_new_record(store):
    run, rec = await new_recorder(store)

    first = rec.step_ok("a", 1, 1)
    between = rec.step_started("b", 1)
    second = rec.step_ok("c", 1, 3)
    await second

    assert len({id(first), id(between), id(second)}) == 3
    assert {a.step for a in (await store.load_journal(run.run_id)).attempts} == {"a", "b", "c"}


async def test_ok_rows_of_two_runs_do_not_share_a_record(store):
    run_a, rec_a = await new_recorder(store)
    run_b, rec_b = await new_recorder(store)

    first = rec_a.step_ok("a", 1, 1)
    second = rec_b.step_ok("a", 1, 2)
    await second

    assert first is not second
    assert (await store.load_journal(run_a.run_id)).attempts[0].result == 1
    assert (await store.load_journal(run_b.run_id)).attempts[0].result == 2


async def test_a_shared_record_counts_each_row_in_the_statistics(store):
    _, rec = await new_recorder(store)
    before = store.statistics()

    receipts = [rec.step_ok(f"s{i}", 1, i) for i in range(10)]
    await receipts[-1]
    after = store.statistics()

    assert (after.posted - before.posted, after.committed - before.committed) == (10, 10)


class Reschedules(trio.abc.Instrument):
    """Counts how often each task was scheduled to run again."""

    def __init__(self) -> None:
        self.counts: dict[trio.lowlevel.Task, int] = {}

    def task_scheduled(self, task: trio.lowlevel.Task) -> None:
        self.counts[task] = self.counts.get(task, 0) + 1


def gated(tx, gate):
    """A write that waits on the writer thread until the test opens its gate."""
    gate.wait()


async def test_a_task_awaiting_a_receipt_is_woken_once_by_its_own_commit(backend):
    waiters = 20
    async with open_store(backend.make(max_batch=1)) as store:  # one commit per record
        store._writer._inline_max = 0  # the thread commits them all (a gate blocks its commit)
        gates = [threading.Event() for _ in range(waiters)]
        receipts = [store._post(gated, gate) for gate in gates]
        tasks = []

        async def wait(receipt):
            tasks.append(trio.lowlevel.current_task())
            await receipt

        instrument = Reschedules()
        async with trio.open_nursery() as nursery:
            for receipt in receipts:
                nursery.start_soon(wait, receipt)
            await trio.testing.wait_all_tasks_blocked()
            trio.lowlevel.add_instrument(instrument)
            for gate, receipt in zip(gates, receipts, strict=True):
                gate.set()  # commit the records one batch at a time
                await receipt
                await trio.testing.wait_all_tasks_blocked()
        trio.lowlevel.remove_instrument(instrument)

    assert [instrument.counts.get(task, 0) for task in tasks] == [1] * waiters


async def test_every_waiter_wakes_with_the_store_error_when_the_writer_fails(fresh_backend):
    errors = []

    async def wait(receipt):
        try:
            await receipt
        except StoreError as exc:
            errors.append(exc)

    async def fail_under_waiters():
        async with open_store(fresh_backend.make(max_batch=1)) as store:
            _, rec = await new_recorder(store)
            fresh_backend.sql("DROP TABLE step_attempts")
            receipts = [rec.step_ok(f"s{i}", 1, i) for i in range(5)]
            async with trio.open_nursery() as nursery:
                for receipt in receipts:
                    nursery.start_soon(wait, receipt)

    with pytest.raises(StoreError):
        await fail_under_waiters()

    assert len(errors) == 5


async def test_a_done_callback_added_to_a_settled_write_runs_at_once(store):
    _, rec = await new_recorder(store)
    receipt = rec.step_ok("a", 1, "r")
    await receipt
    seen = []

    receipt.add_done_callback(seen.append)

    assert seen == [receipt]


async def test_a_callback_reads_a_refused_write_as_its_error(backend):
    async with open_store(backend.make()) as old, open_store(backend.make()) as new:
        created = await old.create_run("w", plan_hash="p", inputs=None)
        stale = old.recorder(created.run)
        await new.claim_run(created.run.run_id, force=True)
        settled = trio.Event()
        receipt = stale.step_ok("a", 1, "late")
        receipt.add_done_callback(lambda _: settled.set())
        await settled.wait()

        with pytest.raises(FencedOutError):
            receipt.result()


async def test_a_pending_write_has_no_result_yet(store):
    _, rec = await new_recorder(store)
    receipt = rec.step_ok("a", 1, "r")

    with pytest.raises(RuntimeError, match="not settled yet"):
        receipt.result()
    await receipt


async def test_a_callback_reads_a_write_lost_to_a_store_failure_as_store_error(fresh_backend):
    seen = {}

    async def lose_a_write():
        async with open_store(fresh_backend.make()) as store:
            _, rec = await new_recorder(store)
            fresh_backend.sql("DROP TABLE step_attempts")
            settled = trio.Event()
            receipt = rec.step_ok("a", 1, "r")
            receipt.add_done_callback(lambda _: settled.set())
            await settled.wait()
            with pytest.raises(StoreError, match="step_attempts"):
                receipt.result()
            seen["done"] = receipt.done

    with pytest.raises(StoreError):
        await lose_a_write()
    assert seen == {"done": True}


async def test_a_full_box_goes_to_the_thread_without_waiting_for_the_batch_end(store):
    _, rec = await new_recorder(store)

    receipts = [rec.step_ok(f"s{i}", 1, i) for i in range(HAND_OFF_AT + 1)]
    held = list(store._writer._outbox)
    await receipts[-1]

    assert held == receipts[HAND_OFF_AT:]  # the first HAND_OFF_AT left in the batch


async def test_after_settled_together_runs_once_every_write_of_the_commit_is_settled(store):
    _, rec = await new_recorder(store)
    log = []

    def on_done(receipt, name):
        log.append(name)
        receipt.after_settled_together(lambda: log.append(f"after {name}"))

    receipts = [rec.step_ok(name, 1, 1) for name in ("a", "b", "c")]  # one batch, one commit
    for receipt, name in zip(receipts, "abc", strict=True):
        receipt.add_done_callback(lambda r, name=name: on_done(r, name))
    await receipts[-1]
    receipts[0].after_settled_together(lambda: log.append("outside"))  # nothing settling: now

    assert log == ["a", "b", "c", "after a", "after b", "after c", "outside"]


async def test_an_ok_row_after_the_writer_failed_raises_and_joins_no_record(backend):
    store = backend.make()
    failed = []

    async def post_after_the_failure() -> None:
        async with open_store(store):
            _, rec = await new_recorder(store)
            held = rec.step_ok("a", 1, 1)  # waiting in the outbox: a later row would join it
            store._writer.fail(StoreError("the lease was lost"))
            for post in (lambda: rec.step_ok("b", 1, 2), held.result):
                try:
                    post()
                except StoreError as exc:
                    failed.append(str(exc))

    with pytest.raises(StoreError, match="the lease was lost"):  # closing says it failed
        await post_after_the_failure()
    assert failed == ["the lease was lost"] * 2


async def test_max_batch_counts_each_row_of_a_shared_record(backend):
    async with open_store(backend.make(max_batch=8)) as store:
        _, rec = await new_recorder(store)
        before = store.statistics()

        receipts = [rec.step_ok(f"s{i}", 1, i) for i in range(40)]  # boxes of 8 rows
        await receipts[-1]
        after = store.statistics()

    assert after.committed - before.committed == 40
    assert after.batches - before.batches >= 5  # never more than 8 rows a transaction

"""CommitQueue: items released in posting order once their writes settle, one call per commit."""

from __future__ import annotations

import pytest
import trio

from arborist.runtime.store import CommitQueue, FencedOutError, StoreError, open_store


async def new_recorder(store):
    created = await store.create_run("w", plan_hash="p", inputs=None)
    return created.run, store.recorder(created.run)


class Released:
    """What a queue released, call by call, and an event set at each call."""

    def __init__(self) -> None:
        self.calls: list[list[tuple[object, BaseException | None]]] = []
        self.event = trio.Event()

    def __call__(self, items):
        self.calls.append(list(items))
        self.event.set()

    @property
    def items(self):
        return [item for call in self.calls for item, _ in call]

    async def wait_for(self, count):
        while len(self.items) < count:
            self.event = trio.Event()
            await self.event.wait()


async def test_items_are_released_once_their_writes_commit_and_not_before(store):
    _, rec = await new_recorder(store)
    released = Released()
    queue = CommitQueue(released)
    receipt = rec.step_ok("a", 1, "r")

    queue.add(receipt, "a")

    assert released.calls == []
    assert len(queue) == 1
    await receipt
    assert released.calls == [[("a", None)]]
    assert len(queue) == 0


async def test_items_of_one_commit_are_released_in_one_call_in_posting_order(store):
    _, rec = await new_recorder(store)
    released = Released()
    queue = CommitQueue(released)
    receipts = [rec.step_ok(f"s{i}", 1, i) for i in range(50)]

    for i, receipt in enumerate(receipts):
        queue.add(receipt, i)
    await receipts[-1]

    assert released.items == list(range(50))
    assert len(released.calls) <= store.statistics().batches


async def test_an_item_added_out_of_posting_order_is_released_in_posting_order(store):
    _, rec = await new_recorder(store)
    released = Released()
    queue = CommitQueue(released)
    first, second, third = (rec.step_started(name, 1) for name in "abc")  # three records

    queue.add(third, "c")
    queue.add(first, "a")
    queue.add(second, "b")
    await third

    assert released.items == ["a", "b", "c"]


async def test_an_item_of_a_write_already_committed_is_released_at_once(store):
    _, rec = await new_recorder(store)
    released = Released()
    queue = CommitQueue(released)
    receipt = rec.step_ok("a", 1, "r")
    await receipt

    queue.add(receipt, "a")

    assert released.calls == [[("a", None)]]


async def test_an_item_of_a_refused_write_is_released_with_the_refusal(backend):
    async with open_store(backend.make()) as old, open_store(backend.make()) as new:
        created = await old.create_run("w", plan_hash="p", inputs=None)
        stale = old.recorder(created.run)
        await new.claim_run(created.run.run_id, force=True)
        released = Released()
        queue = CommitQueue(released)

        queue.add(stale.step_ok("a", 1, "late"), "a")
        await released.wait_for(1)

    [[(item, error)]] = released.calls
    assert item == "a"
    assert isinstance(error, FencedOutError)


async def test_items_pending_when_the_writer_fails_are_released_with_its_error(fresh_backend):
    released = Released()

    async def fail_with_items_queued():
        async with open_store(fresh_backend.make(max_batch=1)) as store:
            _, rec = await new_recorder(store)
            fresh_backend.sql("DROP TABLE step_attempts")
            queue = CommitQueue(released)
            for i in range(5):
                queue.add(rec.step_ok(f"s{i}", 1, i), i)
            await released.wait_for(5)

    with pytest.raises(StoreError):
        await fail_with_items_queued()

    assert released.items == [0, 1, 2, 3, 4]
    assert all(isinstance(error, StoreError) for call in released.calls for _, error in call)


async def test_after_release_runs_once_every_write_of_the_commit_is_settled(store):
    _, rec = await new_recorder(store)
    order: list[str] = []
    done = trio.Event()

    def on_release(items):
        order.extend(str(item) for item, _ in items)
        queue.after_release(lambda: (order.append("after"), done.set()))

    queue = CommitQueue(on_release)
    mine = rec.step_ok("a", 1, "a")
    other = rec.step_ok("x", 1, "x")  # posted after, in the same commit
    queue.add(mine, "a")
    other.add_done_callback(lambda _: order.append("other"))
    await done.wait()

    assert order.index("after") > order.index("a")
    assert order.index("after") > order.index("other")


async def test_items_of_rows_that_share_one_record_are_released_together_in_order_added(store):
    _, rec = await new_recorder(store)
    released = Released()
    queue = CommitQueue(released)
    receipts = [rec.step_ok(name, 1, name) for name in "abc"]  # one record, one receipt

    for receipt, name in zip(receipts, "abc", strict=True):
        queue.add(receipt, name)
    assert len(queue) == 3
    await receipts[-1]

    assert released.calls == [[("a", None), ("b", None), ("c", None)]]
    assert len(queue) == 0

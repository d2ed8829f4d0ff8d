"""Owners, leases and fencing: who drives a run, how a dead owner's runs are taken over, and
how the old owner learns it lost them."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from arborist.runtime.store import (
    FencedOutError,
    LeaseLostError,
    NotClaimableError,
    NotFoundError,
    RunStatus,
    SQLiteStore,
    StoreError,
    open_store,
)


def expire_lease(backend, owner_id):
    backend.sql("UPDATE owners SET lease_until = 0 WHERE owner_id = ?", (owner_id,))


async def orphan(backend, *, workflow="checkout", status=None):
    """A run left unfinished by an owner that has since closed."""
    async with open_store(backend.make()) as gone:
        created = await gone.create_run(workflow, plan_hash="p", inputs=None)
        if status is not None:
            await gone.recorder(created.run).set_status(status)
    return created.run


async def test_an_open_store_is_an_owner_and_a_closed_one_is_marked_closed(backend):
    async with open_store(backend.make(label="web-1")) as store:
        (owner,) = await store.list_owners()
    async with open_store(backend.make()) as later:
        (closed,) = [o for o in await later.list_owners(include_closed=True) if o == owner or
                     o.owner_id == owner.owner_id]  # fmt: skip

    assert (owner.owner_id, owner.label, owner.closed_at) == (store.owner_id, "web-1", None)
    assert owner.lease_until > owner.started_at
    assert (closed.closed_reason, closed.closed_by) == ("closed", store.owner_id)


async def test_a_live_owner_is_not_reaped_while_its_lease_runs(backend):
    async with open_store(backend.make()) as a, open_store(backend.make()) as b:
        assert await a.reap_dead_owners() == []
        assert await b.reap_dead_owners() == []


async def test_an_owner_whose_lease_expired_is_reaped_even_if_its_lock_is_held(backend):
    async with open_store(backend.make()) as a, open_store(backend.make()) as b:
        expire_lease(backend, b.owner_id)

        (reaped,) = await a.reap_dead_owners()

    assert (reaped.owner_id, reaped.closed_reason, reaped.closed_by) == (
        b.owner_id,
        "lease expired",
        a.owner_id,
    )


async def test_the_runs_of_a_closed_owner_are_claimed_with_a_bumped_fence(backend):
    run = await orphan(backend)
    async with open_store(backend.make()) as store:
        (claimed,) = await store.claim_orphaned_runs()
        again = await store.claim_orphaned_runs()

    assert claimed.run_id == run.run_id
    assert (claimed.owner_id, claimed.fence, claimed.recovery_attempts) == (store.owner_id, 1, 1)
    assert again == []


async def test_finished_halted_and_unregistered_runs_are_not_claimed_as_orphans(backend):
    await orphan(backend, status=RunStatus.SUCCEEDED)
    await orphan(backend, status=RunStatus.HALTED)
    await orphan(backend, workflow="etl")
    rolling = await orphan(backend, status=RunStatus.ROLLING_BACK)
    async with open_store(backend.make()) as store:
        claimed = await store.claim_orphaned_runs(workflows=["checkout"])

    assert [run.run_id for run in claimed] == [rolling.run_id]


async def test_two_stores_claiming_at_once_split_the_orphans_never_share_one(backend):
    for _ in range(20):
        await orphan(backend)
    async with open_store(backend.make()) as a, open_store(backend.make()) as b:
        results: dict[str, list] = {}

        async def claim(name, store):
            results[name] = await store.claim_orphaned_runs()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(claim, "a", a)
            nursery.start_soon(claim, "b", b)

    ids_a = {r.run_id for r in results["a"]}
    ids_b = {r.run_id for r in results["b"]}
    assert ids_a.isdisjoint(ids_b)
    assert len(ids_a | ids_b) == 20


async def test_a_write_with_a_stale_fence_is_refused_and_the_recorder_is_lost(backend):
    async with open_store(backend.make()) as old, open_store(backend.make()) as new:
        created = await old.create_run("checkout", plan_hash="p", inputs=None)
        stale = old.recorder(created.run)
        await stale.step_ok("a", 1, "first")
        expire_lease(backend, old.owner_id)
        await new.reap_dead_owners()
        (claimed,) = await new.claim_orphaned_runs()

        with pytest.raises(FencedOutError, match="carried fence 0, the store holds fence 1"):
            await stale.step_ok("b", 1, "late")
        with pytest.raises(FencedOutError):
            stale.step_started("c", 1)
        await new.recorder(claimed).step_ok("b", 1, "mine")
        journal = await new.load_journal(created.run.run_id)

    assert stale.lost is not None
    assert repr(stale).endswith("lost>")
    assert journal.results() == {"a": "first", "b": "mine"}


async def test_a_posted_write_refused_by_its_fence_marks_the_recorder_lost(backend):
    async with open_store(backend.make()) as old, open_store(backend.make()) as new:
        created = await old.create_run("checkout", plan_hash="p", inputs=None)
        stale = old.recorder(created.run)
        await new.claim_run(created.run.run_id, force=True)

        stale.step_started("a", 1)
        await old.flush()

    assert isinstance(stale.lost, FencedOutError)


async def test_a_halted_run_can_be_claimed_to_resume_it(backend):
    run = await orphan(backend, status=RunStatus.HALTED)
    async with open_store(backend.make()) as store:
        claimed = await store.claim_run(run.run_id)

    assert (claimed.owner_id, claimed.fence) == (store.owner_id, 1)


async def test_claiming_a_run_of_a_live_owner_is_refused_unless_forced(backend):
    async with open_store(backend.make()) as a, open_store(backend.make()) as b:
        created = await a.create_run("checkout", plan_hash="p", inputs=None)

        with pytest.raises(NotClaimableError, match="driven by live owner"):
            await b.claim_run(created.run.run_id)
        forced = await b.claim_run(created.run.run_id, force=True)
        with pytest.raises(NotFoundError, match="run 'nope' does not exist"):
            await b.claim_run("nope")

    assert forced.owner_id == b.owner_id


@pytest.fixture
def thread_patient_clock():
    """A MockClock that jumps only after 50 ms of real idleness: a store call on a worker thread
    (a few ms) does not let trio's clock skip past it to the next timer."""
    return trio.testing.MockClock(autojump_threshold=0.05)


async def test_the_lease_is_renewed_every_third_of_it_on_trios_clock(backend, thread_patient_clock):
    async with open_store(backend.make(lease=30.0)) as store:
        (before,) = await store.list_owners()
        await trio.sleep(10.5)
        (after,) = await store.list_owners()

    assert after.lease_until > before.lease_until


async def test_a_renewal_that_finds_the_owner_reaped_fails_the_store_with_lease_lost(backend):
    seen = {}

    async def reaped_while_open():
        async with open_store(backend.make()) as store, open_store(backend.make()) as other:
            expire_lease(backend, store.owner_id)
            await other.reap_dead_owners()
            with pytest.raises(LeaseLostError):
                await store.renew_lease()
            with pytest.raises(StoreError):
                await store.create_run("w", plan_hash="p", inputs=None)
            seen["open"] = store.is_open

    with pytest.raises(LeaseLostError, match="declared dead by another process"):
        await reaped_while_open()
    assert seen == {"open": False}


async def test_several_stores_opening_one_new_sqlite_file_at_once_all_open(tmp_path):
    # The first open switches the new file to WAL, which SQLite's busy handler does not wait
    # for: without a retry about one round in three had an open fail "database is locked".
    for round_ in range(20):
        path = tmp_path / f"new-{round_}.db"
        opened: list[str] = []

        async def open_one(path=path, opened=opened) -> None:
            async with open_store(SQLiteStore(path)) as store:
                opened.append(store.owner_id)

        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(open_one)
        assert len(set(opened)) == 4


async def test_ok_rows_written_together_are_refused_only_for_the_run_whose_fence_is_stale(backend):
    async with open_store(backend.make()) as old, open_store(backend.make()) as new:
        created = await old.create_run("checkout", plan_hash="p", inputs=None)
        expire_lease(backend, old.owner_id)
        await new.reap_dead_owners()
        (claimed,) = await new.claim_orphaned_runs()
        other = (await new.create_run("ship", plan_hash="p", inputs=None)).run
        stale, mine, theirs = (new.recorder(r) for r in (created.run, claimed, other))

        # posted without a wait between them: one batch, consecutive ok rows written together
        receipts = [
            stale.step_ok("a", 1, "late"),
            mine.step_ok("b", 1, "mine"),
            theirs.step_ok("c", 1, "c"),
            stale.step_ok("d", 1, "late"),
            mine.step_ok("e", 1, "mine"),
        ]
        outcomes = []
        for receipt in receipts:
            try:
                await receipt
                outcomes.append("committed")
            except FencedOutError:
                outcomes.append("fenced out")
        claimed_journal = await new.load_journal(created.run.run_id)
        other_journal = await new.load_journal(other.run_id)

    assert outcomes == ["fenced out", "committed", "committed", "fenced out", "committed"]
    assert stale.lost is not None
    assert claimed_journal.results() == {"b": "mine", "e": "mine"}
    assert other_journal.results() == {"c": "c"}


@pytest.mark.parametrize("rows", [3, 40])  # PostgreSQL: 3 rows pipelined, 40 not
async def test_ok_rows_sharing_one_record_are_all_refused_when_their_fence_is_stale(backend, rows):
    async with open_store(backend.make()) as old, open_store(backend.make()) as new:
        created = await old.create_run("checkout", plan_hash="p", inputs=None)
        stale = old.recorder(created.run)
        await new.claim_run(created.run.run_id, force=True)

        receipts = [stale.step_ok(f"s{i}", 1, i) for i in range(rows)]  # one record
        assert len(set(map(id, receipts))) == 1
        with pytest.raises(FencedOutError):
            await receipts[0]
        journal = await new.load_journal(created.run.run_id)

    assert isinstance(stale.lost, FencedOutError)
    assert not journal.attempts


@pytest.mark.parametrize("rows", [3, 40])
async def test_ok_rows_sharing_one_record_all_commit_when_their_fence_holds(backend, rows):
    async with open_store(backend.make()) as store:
        created = await store.create_run("checkout", plan_hash="p", inputs=None)
        recorder = store.recorder(created.run)

        receipts = [recorder.step_ok(f"s{i}", 1, i) for i in range(rows)]
        await receipts[-1]
        journal = await store.load_journal(created.run.run_id)

    assert journal.results() == {f"s{i}": i for i in range(rows)}

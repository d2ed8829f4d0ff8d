"""The engine's two sequences, end to end through the store: a durable step's journal, and a
recovery (reap, claim, load the journal, go on) after its owner died mid-step."""

from __future__ import annotations

import pytest

from arborist.runtime.store import (
    AttemptStatus,
    FencedOutError,
    RunStatus,
    open_store,
)


async def test_a_step_journal_sequence_from_creation_to_success(store):
    created = await store.create_run(
        "checkout", plan_hash="p1", inputs={"order": 42}, start_key="order-42"
    )
    journal = store.recorder(created.run)

    journal.step_started("charge", 1)  # posted: not waited for
    await journal.step_ok("charge", 1, {"receipt": "r-1"})  # durable before dependents see it
    await journal.set_status(RunStatus.SUCCEEDED, result={"receipt": "r-1"})
    loaded = await store.load_journal(created.run.run_id)

    assert loaded.run.status is RunStatus.SUCCEEDED
    assert loaded.results() == {"charge": {"receipt": "r-1"}}
    assert loaded.result == {"receipt": "r-1"}


async def test_recovery_reaps_the_dead_owner_claims_its_run_and_resumes_from_the_journal(backend):
    async with open_store(backend.make()) as dying, open_store(backend.make()) as survivor:
        created = await dying.create_run("checkout", plan_hash="p1", inputs={"order": 42})
        old = dying.recorder(created.run)
        await old.step_ok("reserve", 1, "seat 12")
        old.step_started("charge", 1)
        await dying.flush()
        # the owner dies: here its lease runs out (a SIGKILL frees its lock; see test_store_crashes)
        backend.sql("UPDATE owners SET lease_until = 0 WHERE owner_id = ?", (dying.owner_id,))

        reaped = await survivor.reap_dead_owners()
        (claimed,) = await survivor.claim_orphaned_runs(workflows=["checkout"])
        journal = await survivor.load_journal(claimed.run_id)
        new = survivor.recorder(claimed)
        (interrupted,) = journal.interrupted()
        new.step_interrupted(interrupted.step, interrupted.attempt)
        retry = journal.next_attempt("charge")
        new.step_started("charge", retry)
        await new.step_ok("charge", retry, "paid")
        await new.set_status(RunStatus.SUCCEEDED)
        with pytest.raises(FencedOutError) as lost:
            await old.step_ok("charge", 1, "paid twice?")
        final = await survivor.load_journal(claimed.run_id)

    assert [owner.owner_id for owner in reaped] == [dying.owner_id]
    assert (claimed.fence, claimed.recovery_attempts) == (1, 1)
    assert journal.results() == {"reserve": "seat 12"}
    assert (interrupted.step, retry) == ("charge", 2)
    assert lost.value.current == 1
    assert [(a.attempt, a.status) for a in final.attempts if a.step == "charge"] == [
        (1, AttemptStatus.INTERRUPTED),
        (2, AttemptStatus.OK),
    ]
    assert final.run.status is RunStatus.SUCCEEDED

"""Tick claims beyond the single fire: overlap across owners, retaken claims, resumed fires.

``claim_due`` says what a claim recorded; ``alone`` makes a claim of an overlap-"skip"
schedule skipped while another open owner holds a claimed tick of it; ``retake`` wins back
this owner's own claim that its scheduler never acted on; ``interrupt_tick(run_key=...)``
ties a dead owner's workflow fire to its run, whose end then becomes the tick's outcome.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arborist.runtime.store import RunStatus, TickOutcome, open_store

T0 = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
KEY = f"sched:nightly:{T0.isoformat()}"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def outcome_of(store, name: str, due: datetime) -> tuple[TickOutcome, str | None]:
    (tick,) = [t for t in await store.list_ticks(name) if t.due == due]
    return tick.outcome, tick.reason


async def test_claim_due_returns_the_outcome_won_or_none_when_lost(store):
    await store.upsert_schedule("s", trigger="every 1s", job="j")

    first = await store.claim_due("s", T0)
    again = await store.claim_due("s", T0)
    missed = await store.claim_due("s", at(1), outcome=TickOutcome.MISSED, reason="late")

    assert (first, again, missed) == (TickOutcome.CLAIMED, None, TickOutcome.MISSED)


async def test_a_claim_alone_is_skipped_while_another_open_owner_runs_the_schedule(backend):
    async with open_store(backend.make()) as a, open_store(backend.make()) as b:
        await a.upsert_schedule("s", trigger="every 1s", job="j")
        running = await a.claim_due("s", T0, alone=True)
        skipped = await b.claim_due("s", at(1), alone=True)
        reason = (await outcome_of(b, "s", at(1)))[1]
        info = await b.get_schedule("s")

    assert (running, skipped) == (TickOutcome.CLAIMED, TickOutcome.SKIPPED)
    assert reason == (
        f"overlap: the run of 2026-03-29T08:00:00.000000Z is still going in owner {a.owner_id}"
    )
    assert info.runs == 1  # the skipped instant is consumed, not counted as a run


async def test_a_claim_alone_runs_once_the_other_owners_tick_has_ended(backend):
    async with open_store(backend.make()) as a, open_store(backend.make()) as b:
        await a.upsert_schedule("s", trigger="every 1s", job="j")
        await a.claim_due("s", T0, alone=True)
        await a.finish_tick("s", T0, TickOutcome.OK)
        won = await b.claim_due("s", at(1), alone=True)

    assert won is TickOutcome.CLAIMED


async def test_a_claim_alone_ignores_a_claim_of_a_closed_owner(backend):
    async with open_store(backend.make()) as dead:
        await dead.upsert_schedule("s", trigger="every 1s", job="j")
        await dead.claim_due("s", T0)  # then its process is gone, the tick still claimed
    async with open_store(backend.make()) as b:
        won = await b.claim_due("s", at(1), alone=True)

    assert won is TickOutcome.CLAIMED


async def test_a_claim_alone_ignores_this_owners_own_running_ticks(store):
    await store.upsert_schedule("s", trigger="every 1s", job="j")
    await store.claim_due("s", T0, alone=True)

    won = await store.claim_due("s", at(1), alone=True)

    assert won is TickOutcome.CLAIMED  # this process's overlap policy decides on its own runs


async def test_retake_wins_back_this_owners_unacted_claim_and_counts_it_once(store):
    await store.upsert_schedule("s", trigger="every 1s", job="j")
    await store.claim_due("s", T0)

    retaken = await store.claim_due("s", T0, retake=True)
    info = await store.get_schedule("s")

    assert retaken is TickOutcome.CLAIMED
    assert info.runs == 1


async def test_retake_never_wins_a_tick_that_ended_or_another_owner_claimed(backend):
    async with open_store(backend.make()) as a, open_store(backend.make()) as b:
        await a.upsert_schedule("s", trigger="every 1s", job="j")
        await a.claim_due("s", T0)
        await a.finish_tick("s", T0, TickOutcome.OK)
        await b.claim_due("s", at(1))
        ended = await a.claim_due("s", T0, retake=True)
        foreign = await a.claim_due("s", at(1), retake=True)

    assert (ended, foreign) == (None, None)


async def test_a_retaken_claim_recorded_skipped_is_no_longer_counted_as_a_run(store):
    await store.upsert_schedule("s", trigger="every 1s", job="j")
    await store.claim_due("s", T0)

    retaken = await store.claim_due(
        "s", T0, outcome=TickOutcome.SKIPPED, reason="paused", retake=True
    )
    info = await store.get_schedule("s")

    assert retaken is TickOutcome.SKIPPED
    assert info.runs == 0
    assert await outcome_of(store, "s", T0) == (TickOutcome.SKIPPED, "paused")


async def dead_owners_fire(backend) -> str:
    """A closed owner claimed nightly's T0 and created its workflow run; return the run id."""
    async with open_store(backend.make()) as dead:
        await dead.upsert_schedule("nightly", trigger="every 10s", job="workflow:wf")
        await dead.claim_due("nightly", T0)
        created = await dead.create_run(
            "wf", plan_hash="p", inputs={}, start_key=KEY, schedule_name="nightly",
            schedule_due=T0,
        )  # fmt: skip
    return created.run.run_id


async def test_interrupting_a_fire_whose_run_is_unfinished_ties_the_tick_to_the_run(backend):
    run_id = await dead_owners_fire(backend)
    async with open_store(backend.make()) as store:
        recorded = await store.interrupt_tick("nightly", T0, "owner died", run_key=KEY)
        outcome, reason = await outcome_of(store, "nightly", T0)
        (tick,) = await store.list_ticks("nightly")

    assert recorded is outcome is TickOutcome.INTERRUPTED
    assert reason == f"owner died; its run {run_id} is resumed by run recovery"
    assert tick.run_id == run_id


async def test_the_end_of_a_resumed_fires_run_becomes_its_ticks_outcome(backend):
    run_id = await dead_owners_fire(backend)
    async with open_store(backend.make()) as store:
        await store.interrupt_tick("nightly", T0, "owner died", run_key=KEY)
        claimed = await store.claim_run(run_id)
        await store.recorder(claimed).set_status(RunStatus.SUCCEEDED, result=1)
        outcome, reason = await outcome_of(store, "nightly", T0)

    assert outcome is TickOutcome.OK
    assert reason == f"owner died; its run {run_id} is resumed by run recovery; it ended succeeded"


async def test_interrupting_a_fire_whose_run_already_ended_records_the_runs_outcome(backend):
    run_id = await dead_owners_fire(backend)
    async with open_store(backend.make()) as store:
        claimed = await store.claim_run(run_id)
        await store.recorder(claimed).set_status(RunStatus.FAILED, error="boom")
        recorded = await store.interrupt_tick("nightly", T0, "owner died", run_key=KEY)
        outcome, reason = await outcome_of(store, "nightly", T0)

    assert recorded is outcome is TickOutcome.FAILED
    assert reason == f"owner died; its run {run_id} was resumed and ended failed"


async def test_the_end_of_a_run_no_schedule_fired_touches_no_tick(store):
    await store.upsert_schedule("nightly", trigger="every 10s", job="workflow:wf")
    await store.claim_due("nightly", T0)
    await store.interrupt_tick("nightly", T0, "owner died")
    created = await store.create_run("wf", plan_hash="p", inputs={})

    await store.recorder(created.run).set_status(RunStatus.SUCCEEDED, result=1)

    assert (await outcome_of(store, "nightly", T0))[0] is TickOutcome.INTERRUPTED

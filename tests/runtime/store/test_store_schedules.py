"""Schedules: code is the source of truth, a due instant is claimed once, misses are recorded."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from arborist.runtime.store import NotFoundError, SQLiteStore, TickOutcome, open_store

T0 = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)


async def test_a_changed_definition_replaces_the_row_but_keeps_what_was_consumed(store):
    await store.upsert_schedule("report", trigger="cron 0 8 * * *", job="workflow:report")
    await store.claim_tick("report", T0)

    changed = await store.upsert_schedule(
        "report", trigger="cron 0 9 * * *", job="workflow:report2", options={"overlap": "skip"}
    )

    assert (changed.trigger, changed.job, changed.options) == (
        "cron 0 9 * * *",
        "workflow:report2",
        {"overlap": "skip"},
    )
    assert (changed.last_due, changed.runs) == (T0, 1)


async def test_the_interval_anchor_survives_a_restart_and_moves_with_a_new_trigger(store):
    first = await store.upsert_schedule("poll", trigger="every 30s", job="j", anchor_utc=T0)

    same = await store.upsert_schedule(
        "poll", trigger="every 30s", job="j", anchor_utc=T0 + timedelta(hours=5)
    )
    other = await store.upsert_schedule(
        "poll", trigger="every 60s", job="j", anchor_utc=T0 + timedelta(hours=5)
    )

    assert first.anchor_utc == same.anchor_utc == T0
    assert other.anchor_utc == T0 + timedelta(hours=5)


async def test_a_due_instant_is_won_by_the_first_claim_only(store):
    await store.upsert_schedule("s", trigger="every 1s", job="j")

    claims = [await store.claim_tick("s", T0) for _ in range(3)]

    assert claims == [True, False, False]


async def test_concurrent_claims_from_two_stores_let_exactly_one_win_each_due(backend):
    wins: dict[str, list[int]] = {"a": [], "b": []}
    async with open_store(backend.make()) as a, open_store(backend.make()) as b:
        await a.upsert_schedule("s", trigger="every 1s", job="j")

        async def claim_all(name, store):
            for i in range(50):
                if await store.claim_tick("s", T0 + timedelta(seconds=i)):
                    wins[name].append(i)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(claim_all, "a", a)
            nursery.start_soon(claim_all, "b", b)

    assert sorted(wins["a"] + wins["b"]) == list(range(50))


async def test_last_due_only_moves_forward_when_an_older_due_is_claimed_later(store):
    await store.upsert_schedule("s", trigger="every 1s", job="j")

    await store.claim_tick("s", T0 + timedelta(minutes=5))
    await store.claim_tick("s", T0)
    info = await store.get_schedule("s")

    assert info.last_due == T0 + timedelta(minutes=5)
    assert info.runs == 2


async def test_a_missed_due_is_consumed_and_recorded_with_its_reason_not_counted_as_a_run(store):
    await store.upsert_schedule("s", trigger="every 1s", job="j")

    recorded = await store.claim_tick(
        "s", T0, outcome=TickOutcome.MISSED, reason="past misfire_grace"
    )
    refire = await store.claim_tick("s", T0)
    info = await store.get_schedule("s")

    assert (recorded, refire) == (True, False)
    assert (info.last_due, info.runs) == (T0, 0)
    assert [(t.outcome, t.reason) for t in info.recent_ticks] == [
        (TickOutcome.MISSED, "past misfire_grace")
    ]


async def test_a_finished_tick_records_its_outcome_and_run(store):
    await store.upsert_schedule("s", trigger="every 1s", job="j")
    await store.claim_tick("s", T0)

    await store.finish_tick("s", T0, TickOutcome.TIMED_OUT, reason="after 5s", run_id="r-1")
    (tick,) = await store.list_ticks("s")

    assert (tick.outcome, tick.reason, tick.run_id) == (TickOutcome.TIMED_OUT, "after 5s", "r-1")
    assert tick.finished_at is not None
    assert tick.owner_id == store.owner_id


async def test_finishing_a_tick_never_claimed_is_refused_and_the_store_goes_on(store):
    await store.upsert_schedule("s", trigger="every 1s", job="j")

    with pytest.raises(NotFoundError, match="claim_tick"):
        await store.finish_tick("s", T0, TickOutcome.OK)
    assert await store.claim_tick("s", T0)


async def test_claiming_for_an_unknown_schedule_is_refused_naming_it(store):
    with pytest.raises(NotFoundError, match="schedule 'ghost' does not exist"):
        await store.claim_tick("ghost", T0)


async def test_tick_outcomes_outside_their_step_are_refused_at_the_call(store):
    with pytest.raises(ValueError, match="outcome must be one of claimed, missed, skipped"):
        await store.claim_tick("s", T0, outcome=TickOutcome.OK)
    with pytest.raises(ValueError, match="outcome must be one of cancelled, failed, ok"):
        await store.finish_tick("s", T0, TickOutcome.MISSED)
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.claim_tick("s", datetime(2026, 1, 1))


async def test_schedules_list_by_name_with_their_newest_ticks_first(store):
    for name in ("b", "a"):
        await store.upsert_schedule(name, trigger="every 1s", job="j")
    for i in range(3):
        await store.claim_tick("a", T0 + timedelta(seconds=i))

    listed = await store.list_schedules(ticks=2)
    since = await store.list_ticks("a", since=T0 + timedelta(seconds=1))

    await store.finish_tick("a", T0, TickOutcome.OK)
    unfinished = await store.list_ticks("a", outcome=TickOutcome.CLAIMED)

    assert [t.due for t in unfinished] == [T0 + timedelta(seconds=2), T0 + timedelta(seconds=1)]
    assert [s.name for s in listed] == ["a", "b"]
    assert [t.due for t in listed[0].recent_ticks] == [T0 + timedelta(seconds=2),
                                                        T0 + timedelta(seconds=1)]  # fmt: skip
    assert len(since) == 2


async def test_a_paused_or_deleted_schedule_says_so(store):
    await store.upsert_schedule("s", trigger="every 1s", job="j")

    await store.pause_schedule("s")
    paused = (await store.get_schedule("s")).paused
    deleted = await store.delete_schedule("s")

    assert paused
    assert deleted
    assert await store.get_schedule("s") is None
    with pytest.raises(NotFoundError):
        await store.pause_schedule("s")


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=12))
def test_any_order_of_claims_wins_each_due_once_and_last_due_is_the_newest(offsets):
    dues = [T0 + timedelta(minutes=m) for m in offsets]

    async def claim_all():
        with tempfile.TemporaryDirectory() as folder:
            async with open_store(SQLiteStore(Path(folder) / "s.db")) as store:
                await store.upsert_schedule("s", trigger="every 1m", job="j")
                wins = [await store.claim_tick("s", due) for due in dues]
                return wins, await store.get_schedule("s")

    wins, info = trio.run(claim_all)

    assert wins == [due not in dues[:i] for i, due in enumerate(dues)]
    assert info.last_due == max(dues)
    assert info.runs == len(set(dues))

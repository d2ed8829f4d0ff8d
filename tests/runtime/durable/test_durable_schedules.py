"""Durable schedules in one process: claims before runs, single fires, catch-up after downtime.

Each test runs on SQLite and PostgreSQL (``store_url``). The wall clock is a
``ManualWallClock`` the test moves by hand; trio's clock is the autojump ``MockClock``, so
schedulers re-read the wall clock without real waiting. Store calls run on threads, during
which the autojump clock may jump: the tests wait for events (``until``), never for a time.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import trio
import trio.testing
from schedule_helpers import T0, at, count, nothing, outcomes, registered, settled, started, until

from arborist.runtime import (
    Runtime,
    ScheduleMissed,
    ScheduleRunFinished,
    ScheduleRunInterrupted,
    ScheduleSkipped,
    Workflow,
    every,
)
from arborist.runtime.schedules import ManualWallClock, MissReason
from arborist.runtime.store import TickOutcome, open_store


async def test_each_due_instant_is_claimed_in_the_store_before_its_job_runs(
    store_url, autojump_clock
):
    clock = ManualWallClock(T0)
    seen: list[list[tuple[datetime, TickOutcome]]] = []
    events: list[object] = []
    async with Runtime(store=store_url, wall_clock=clock) as rt:

        async def job() -> None:
            assert rt.store is not None
            seen.append([(t.due, t.outcome) for t in await rt.store.list_ticks("s")])

        rt.subscribe(events.append)
        rt.schedule("s", every(seconds=10), job)
        await registered(rt, "s")
        clock.advance(10)
        await until(lambda: count(events, ScheduleRunFinished)() == 1)
        final = await outcomes(rt, "s")

    assert seen == [[(at(10), TickOutcome.CLAIMED)]]
    assert final == {at(10): TickOutcome.OK}


async def test_two_runtimes_on_one_store_fire_each_due_instant_once_between_them(
    store_url, autojump_clock
):
    clock = ManualWallClock(T0)
    first: list[object] = []
    second: list[object] = []
    async with (
        Runtime(store=store_url, wall_clock=clock) as a,
        Runtime(store=store_url, wall_clock=clock) as b,
    ):
        a.subscribe(first.append)
        b.subscribe(second.append)
        a.schedule("s", every(seconds=10), nothing)
        b.schedule("s", every(seconds=10), nothing)
        await registered(a, "s")
        await until(lambda: b.schedules()[0].next_fire == at(10))  # b read the row too
        for k in range(1, 7):
            clock.advance(10)
            await until(lambda k=k: count(first + second, ScheduleRunFinished)() == k)
            # Its end recorded (a worker thread writes it): until then the other runtime sees
            # the run as still going and its default overlap="skip" would skip the next due.
            await until(lambda: settled(a, "s"))
        await trio.sleep(10)  # a claim lost by the other runtime would not change a thing
        await until(lambda: settled(a, "s"))  # outcomes are written on a worker thread
        final = await outcomes(a, "s")

    fired = started(first) + started(second)
    assert sorted(fired) == [at(10 * k) for k in range(1, 7)]
    assert final == {at(10 * k): TickOutcome.OK for k in range(1, 7)}


async def test_instants_due_while_nothing_ran_are_run_or_recorded_missed_per_misfire_grace(
    store_url, autojump_clock
):
    clock = ManualWallClock(T0)
    events: list[object] = []
    options = {"misfire_grace": 15, "catch_up": "all", "overlap": "allow"}
    async with Runtime(store=store_url, wall_clock=clock) as rt:
        rt.subscribe(events.append)
        rt.schedule("s", every(seconds=10), nothing, **options)
        await registered(rt, "s")
        clock.advance(10)  # the 10 s instant runs; then the process is down
        await until(lambda: count(events, ScheduleRunFinished)() == 1)
    events.clear()
    clock.advance(90)  # 20 s ... 100 s came due while nothing ran
    async with Runtime(store=store_url, wall_clock=clock) as rt:
        rt.subscribe(events.append)
        rt.schedule("s", every(seconds=10), nothing, **options)
        await until(lambda: count(events, ScheduleRunFinished)() == 2)
        final = await outcomes(rt, "s")

    late = [at(s) for s in range(20, 90, 10)]  # more than 15 s late at 100 s
    missed = [(e.due, e.reason) for e in events if isinstance(e, ScheduleMissed)]
    assert missed == [(due, MissReason.LATE) for due in late]
    assert started(events) == [at(90), at(100)]
    assert final == {
        at(10): TickOutcome.OK,
        **dict.fromkeys(late, TickOutcome.MISSED),
        at(90): TickOutcome.OK,
        at(100): TickOutcome.OK,
    }


async def test_catch_up_once_after_downtime_runs_the_newest_and_records_the_rest_coalesced(
    store_url, autojump_clock
):
    clock = ManualWallClock(T0)
    events: list[object] = []
    async with Runtime(store=store_url, wall_clock=clock) as rt:
        rt.schedule("s", every(seconds=10), nothing)
        await registered(rt, "s")
    clock.advance(35)
    async with Runtime(store=store_url, wall_clock=clock) as rt:
        rt.subscribe(events.append)
        rt.schedule("s", every(seconds=10), nothing)
        await until(lambda: count(events, ScheduleRunFinished)() == 1)
        final = await outcomes(rt, "s")

    missed = [(e.due, e.reason) for e in events if isinstance(e, ScheduleMissed)]
    assert missed == [(at(10), MissReason.COALESCED), (at(20), MissReason.COALESCED)]
    assert started(events) == [at(30)]
    assert final == {
        at(10): TickOutcome.MISSED,
        at(20): TickOutcome.MISSED,
        at(30): TickOutcome.OK,
    }


async def test_a_durable_every_keeps_its_wall_clock_grid_across_a_restart(
    store_url, autojump_clock
):
    clock = ManualWallClock(at(3.25))
    events: list[object] = []
    finished = count(events, ScheduleRunFinished)
    async with Runtime(store=store_url, wall_clock=clock) as rt:
        rt.subscribe(events.append)
        rt.schedule("s", every(seconds=10), nothing)
        await registered(rt, "s")
        clock.advance(10)
        await until(lambda: finished() == 1)
        clock.advance(10)
        await until(lambda: finished() == 2)
    clock.set(at(35))  # a restart later: trio's clock starts again, the grid does not move
    async with Runtime(store=store_url, wall_clock=clock) as rt:
        rt.subscribe(events.append)
        rt.schedule("s", every(seconds=10), nothing)
        await until(lambda: finished() == 3)
        assert rt.store is not None
        row = await rt.store.get_schedule("s")

    assert started(events) == [at(13.25), at(23.25), at(33.25)]  # the 3.25 s grid, kept
    assert row is not None
    assert (row.anchor_utc, row.last_due, row.runs) == (at(3.25), at(33.25), 3)


async def test_a_paused_durable_schedule_records_each_due_instant_skipped(
    store_url, autojump_clock
):
    clock = ManualWallClock(T0)
    events: list[object] = []
    async with Runtime(store=store_url, wall_clock=clock) as rt:
        rt.subscribe(events.append)
        handle = rt.schedule("s", every(seconds=10), nothing)
        handle.pause()
        await registered(rt, "s")
        clock.advance(10)
        await until(lambda: count(events, ScheduleSkipped)() == 1)
        final = await outcomes(rt, "s")

    assert [(e.due, e.reason) for e in events if isinstance(e, ScheduleSkipped)] == [
        (at(10), "paused")
    ]
    assert final == {at(10): TickOutcome.SKIPPED}


nightly = Workflow("nightly")


@nightly.step
async def report() -> str:
    return "sent"


async def fire_nightly_once(store_url: str) -> tuple[object, object]:
    """Run the workflow schedule "nightly" for its first due instant: (its tick, its run row)."""
    clock = ManualWallClock(T0)
    events: list[object] = []
    async with Runtime(store=store_url, wall_clock=clock) as rt:
        rt.subscribe(events.append)
        rt.schedule("nightly", every(seconds=10), nightly)
        await registered(rt, "nightly")
        clock.advance(10)
        await until(lambda: count(events, ScheduleRunFinished)() == 1)
        assert rt.store is not None
        (tick,) = await rt.store.list_ticks("nightly")
        assert tick.run_id is not None
        return tick, await rt.store.get_run(tick.run_id)


async def test_a_durable_workflow_fire_is_a_run_keyed_by_its_due_instant(store_url, autojump_clock):
    tick, run = await fire_nightly_once(store_url)

    assert tick.outcome is TickOutcome.OK  # type: ignore[attr-defined]
    assert run is not None
    assert run.start_key == f"sched:nightly:{at(10).isoformat()}"  # type: ignore[attr-defined]


async def test_a_durable_workflow_fire_records_the_schedule_and_due_instant_with_its_run(
    store_url, autojump_clock
):
    _, run = await fire_nightly_once(store_url)

    assert run is not None
    assert (run.schedule_name, run.schedule_due) == ("nightly", at(10))  # type: ignore[attr-defined]


async def test_run_now_on_a_durable_schedule_is_claimed_and_recorded_like_any_tick(
    store_url, autojump_clock
):
    clock = ManualWallClock(at(4))
    events: list[object] = []
    async with Runtime(store=store_url, wall_clock=clock) as rt:
        rt.subscribe(events.append)
        handle = rt.schedule("s", every(seconds=10), nothing)
        await registered(rt, "s")
        handle.run_now()
        await until(lambda: count(events, ScheduleRunFinished)() == 1)
        final = await outcomes(rt, "s")

    assert final == {at(4): TickOutcome.OK}


async def test_durable_true_without_a_store_is_refused_at_the_call():
    async with Runtime() as rt:
        with pytest.raises(ValueError, match="durable=True needs a store"):
            rt.schedule("s", every(seconds=10), nothing, durable=True)


async def test_durable_false_keeps_a_schedule_in_memory_even_with_a_store(
    store_url, autojump_clock
):
    async with Runtime(store=store_url) as rt:
        rt.schedule("s", every(seconds=10), nothing, durable=False)
        await until(lambda: rt.schedules()[0].runs >= 2)
        assert rt.store is not None
        assert await rt.store.list_schedules() == []


async def test_a_tick_claimed_by_an_owner_that_dies_while_this_runtime_runs_is_reported_interrupted(
    store_url, thread_patient_clock
):
    clock = ManualWallClock(T0)
    events: list[object] = []
    async with Runtime(store=store_url, wall_clock=clock) as rt:
        rt.subscribe(events.append)
        rt.schedule("s", every(seconds=10), nothing)
        await registered(rt, "s")
        async with open_store(store_url) as other:  # another process: claims, then is gone
            assert await other.claim_tick("s", at(10))
        with trio.fail_after(5 * 30):  # the sweep looks every lease period (30 s)
            await until(count(events, ScheduleRunInterrupted))
        final = await outcomes(rt, "s")

    (interrupted,) = [e for e in events if isinstance(e, ScheduleRunInterrupted)]
    assert interrupted.due == at(10)
    assert final[at(10)] is TickOutcome.INTERRUPTED

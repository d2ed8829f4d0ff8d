"""Durable schedules beyond one scheduler's life: overlap across processes, a restart mid-batch.

- With ``overlap="skip"`` (the default), a due instant that comes while a run of the same
  schedule is still going in another runtime on the store is recorded skipped, decided in
  the claim's transaction.
- A scheduler killed while it claims a batch of due instants leaves no claim unacted on: its
  next incarnation wins back the claims it made and fires them; nothing is left ``claimed``.

Each test runs on SQLite and PostgreSQL (``store_url``), on the autojump clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trio.lowlevel
from schedule_helpers import at, count, outcomes, registered, settled, started, until

from arborist.runtime import (
    Runtime,
    ScheduleRunFinished,
    ScheduleRunStarted,
    ScheduleSkipped,
    every,
)
from arborist.runtime.schedules import ManualWallClock
from arborist.runtime.store import TickOutcome


@asynccontextmanager
async def two_runtimes_running(
    store_url: str, events: list[object], **options: object
) -> AsyncIterator[tuple[Runtime, ManualWallClock, trio.Event]]:
    """Two runtimes on one store scheduling ``s`` every 10 s; its job waits for the event.

    Yields once both have read the schedule's row and the run of at(10) has started in one.
    """
    clock = ManualWallClock(at(0))
    release = trio.Event()

    async def long_job() -> None:
        await release.wait()

    async with (
        Runtime(store=store_url, wall_clock=clock) as a,
        Runtime(store=store_url, wall_clock=clock) as b,
    ):
        for rt in (a, b):
            rt.subscribe(events.append)
            rt.schedule("s", every(seconds=10), long_job, **options)
        await registered(a, "s")
        await until(lambda: b.schedules()[0].next_fire == at(10))
        clock.advance(10)
        await until(count(events, ScheduleRunStarted))
        yield a, clock, release


async def test_a_due_instant_is_skipped_while_another_runtime_still_runs_the_schedule(
    store_url, autojump_clock
):
    events: list[object] = []
    async with two_runtimes_running(store_url, events) as (a, clock, release):
        clock.advance(10)  # at(20): the run of at(10) is going, in a or in b
        await until(count(events, ScheduleSkipped))
        release.set()
        await until(count(events, ScheduleRunFinished))
        await until(lambda: settled(a, "s"))
        final = await outcomes(a, "s")

    assert started(events) == [at(10)]
    (skip,) = [e for e in events if isinstance(e, ScheduleSkipped)]
    assert (skip.due, skip.reason) == (at(20), "overlap")
    assert final == {at(10): TickOutcome.OK, at(20): TickOutcome.SKIPPED}


async def test_overlap_allow_lets_two_runtimes_run_the_schedule_side_by_side(
    store_url, autojump_clock
):
    events: list[object] = []
    async with two_runtimes_running(store_url, events, overlap="allow") as (_, clock, release):
        clock.advance(10)
        await until(lambda: count(events, ScheduleRunStarted)() == 2)
        release.set()
        await until(lambda: count(events, ScheduleRunFinished)() == 2)

    assert sorted(started(events)) == [at(10), at(20)]


async def test_a_scheduler_killed_mid_batch_fires_every_claimed_instant_once_on_restart(
    store_url, thread_patient_clock
):
    clock = ManualWallClock(at(0))
    events: list[object] = []
    async with Runtime(store=store_url, wall_clock=clock) as rt:
        store = rt.store
        assert store is not None
        rt.subscribe(events.append)
        handle = rt.schedule(
            "s",
            every(seconds=10),
            lambda: None,
            catch_up="all",
            misfire_grace=None,
            overlap="allow",
        )
        await registered(rt, "s")
        claim_due = store.claim_due
        calls = 0

        async def killed_after_the_second_claim(*args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal calls
            won = await claim_due(*args, **kwargs)
            calls += 1
            if calls == 2:  # committed, and never acted on: the scheduler dies here
                assert handle.ref is not None
                handle.ref.kill()
                await trio.lowlevel.checkpoint()
            return won

        store.claim_due = killed_after_the_second_claim  # type: ignore[method-assign]
        clock.advance(50)  # five due instants in one batch
        with trio.fail_after(600):  # without the retake, at(20) would stay claimed, unfired
            await until(lambda: set(started(events)) >= {at(10 * k) for k in range(2, 6)})
            await until(lambda: settled(rt, "s"))
        final = await outcomes(rt, "s")

    fired = started(events)
    assert len(fired) == len(set(fired))  # none fired twice
    assert at(20) in fired  # the claim the killed incarnation made and never acted on
    assert set(final) == {at(10 * k) for k in range(1, 6)}
    assert TickOutcome.CLAIMED not in final.values()

"""Wall-clock schedules: cron and at on a TrioWallClock, DST changes, clock steps.

The wall clock follows trio's MockClock from a chosen instant, so trio time t reads as
``START + t`` seconds; expected trio times are computed from UTC instants.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
import trio

from arborist.actors import open_actor_system
from arborist.runtime import MissReason, ScheduleEnded, ScheduleMissed, ScheduleTick, at, cron
from arborist.runtime.schedules import ScheduleManager, TrioWallClock
from arborist.supervision._events import EventBus

PARIS = ZoneInfo("Europe/Paris")


@attrs.define
class WallHarness:
    manager: ScheduleManager
    events: list[Any]
    clock: TrioWallClock
    start: datetime

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]

    def at(self, instant: datetime) -> float:
        """The trio time at which the wall clock reads ``instant`` (no jumps)."""
        return (instant - self.start).total_seconds()

    def tick_walls(self) -> list[datetime]:
        return [event.due for event in self.of(ScheduleTick)]


@asynccontextmanager
async def open_wall(start: datetime, **kwargs: Any) -> AsyncIterator[WallHarness]:
    async with open_actor_system() as system:
        bus: EventBus[Any] = EventBus()
        events: list[Any] = []
        unsubscribe = bus.subscribe(events.append)
        clock = TrioWallClock(start)
        async with ScheduleManager(
            system, events=bus, wall_clock=clock, rng=random.Random(1), **kwargs
        ) as manager:
            yield WallHarness(manager, events, clock, start)
            unsubscribe()


async def noop() -> None:
    pass


def paris(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=PARIS, fold=fold).astimezone(UTC)


async def test_a_daily_cron_fires_at_its_wall_time_every_day(autojump_clock):
    start = paris(2026, 1, 5, 12, 0)
    async with open_wall(start) as h:
        h.manager.schedule("report", cron("0 8 * * *", tz="Europe/Paris"), noop)
        await trio.sleep_until(h.at(paris(2026, 1, 8, 9, 0)))

    expected = [paris(2026, 1, day, 8, 0) for day in (6, 7, 8)]
    assert h.tick_walls() == expected
    assert [e.time for e in h.of(ScheduleTick)] == [h.at(when) for when in expected]


async def test_spring_forward_a_fixed_time_job_in_the_gap_fires_once_after_the_gap(
    autojump_clock,
):
    start = paris(2026, 3, 28, 12, 0)
    async with open_wall(start) as h:
        h.manager.schedule("backup", cron("30 2 * * *", tz="Europe/Paris"), noop)
        await trio.sleep_until(h.at(paris(2026, 3, 30, 12, 0)))

    # 02:30 does not exist on 29 March: it runs at 03:00 CEST (01:00 UTC), once.
    assert h.tick_walls() == [datetime(2026, 3, 29, 1, 0, tzinfo=UTC), paris(2026, 3, 30, 2, 30)]
    assert [e.time for e in h.of(ScheduleTick)] == [14 * 3600, 37.5 * 3600]  # from 11:00 UTC


async def test_fall_back_a_fixed_time_job_in_the_repeated_hour_fires_once(autojump_clock):
    start = paris(2026, 10, 24, 12, 0)
    async with open_wall(start) as h:
        h.manager.schedule("backup", cron("30 2 * * *", tz="Europe/Paris"), noop)
        await trio.sleep_until(h.at(paris(2026, 10, 26, 12, 0)))

    # 02:30 happens twice on 25 October: it runs at the first (CEST, 00:30 UTC) only.
    assert h.tick_walls() == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]


async def test_fall_back_an_hourly_job_fires_every_real_hour_once(autojump_clock):
    start = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # 01:30 CEST
    async with open_wall(start) as h:
        h.manager.schedule("hourly", cron("0 * * * *", tz="Europe/Paris"), noop)
        await trio.sleep_until(h.at(datetime(2026, 10, 25, 3, 30, tzinfo=UTC)))

    # 02:00 CEST, 02:00 CET, 03:00 CET, 04:00 CET: real hours, none twice.
    assert h.tick_walls() == [datetime(2026, 10, 25, hour, tzinfo=UTC) for hour in (0, 1, 2, 3)]
    assert [e.time for e in h.of(ScheduleTick)] == [1800, 5400, 9000, 12600]


async def test_a_wall_clock_stepped_backwards_does_not_fire_a_tick_twice(autojump_clock):
    start = datetime(2026, 1, 5, 12, 0, 30, tzinfo=UTC)
    async with open_wall(start) as h:
        h.manager.schedule("minutely", cron("* * * * *"), noop)
        await trio.sleep_until(60)  # 12:01:30, after the 12:01 tick
        h.clock.jump(-3600)  # the wall clock reads 11:01:30
        await trio.sleep_until(3600 + 120)

    # 12:01 ran at t=30; the next, 12:02, waits for the wall clock to read 12:02 again.
    assert [(e.time, e.due) for e in h.of(ScheduleTick)] == [
        (30, datetime(2026, 1, 5, 12, 1, tzinfo=UTC)),
        (3600 + 90, datetime(2026, 1, 5, 12, 2, tzinfo=UTC)),
    ]


async def test_a_wall_clock_stepped_forwards_past_ticks_catches_up_once_by_default(
    autojump_clock,
):
    start = datetime(2026, 1, 5, 12, 0, 10, tzinfo=UTC)
    async with open_wall(start) as h:
        h.manager.schedule("hourly", cron("0 * * * *"), noop)
        await trio.sleep_until(10)
        h.clock.jump(3 * 3600)  # now 15:00:20: 13:00, 14:00 and 15:00 have passed
        await trio.sleep_until(100)

    # Noticed at the next re-check of the wall clock (every 60 s): t=60.
    assert [(e.time, e.due) for e in h.of(ScheduleTick)] == [
        (60, datetime(2026, 1, 5, 15, 0, tzinfo=UTC))
    ]
    assert [(e.time, e.due.hour, e.reason) for e in h.of(ScheduleMissed)] == [
        (60, 13, MissReason.COALESCED),
        (60, 14, MissReason.COALESCED),
    ]


async def test_a_wall_clock_jump_with_misfire_grace_misses_the_late_ticks(autojump_clock):
    start = datetime(2026, 1, 5, 12, 0, 10, tzinfo=UTC)
    async with open_wall(start, wall_recheck=5) as h:
        h.manager.schedule("hourly", cron("0 * * * *"), noop, misfire_grace=600, catch_up="all")
        await trio.sleep_until(10)
        h.clock.jump(3 * 3600 - 30)  # 14:59:50 at t=10, 15:00:00 at t=20
        await trio.sleep_until(30)

    assert [(e.due.hour, e.reason) for e in h.of(ScheduleMissed)] == [
        (13, MissReason.LATE),
        (14, MissReason.LATE),
    ]
    assert [(e.time, e.due.hour) for e in h.of(ScheduleTick)] == [(20, 15)]


async def test_an_at_schedule_fires_once_then_ends_exhausted(autojump_clock):
    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    async with open_wall(start) as h:
        h.manager.schedule("once", at(start + timedelta(hours=2)), noop)
        await trio.sleep_until(5 * 3600)
        names = [info.name for info in h.manager.list()]

    assert [e.time for e in h.of(ScheduleTick)] == [7200]
    assert [(e.time, e.reason) for e in h.of(ScheduleEnded)] == [(7200, "exhausted")]
    assert names == []


class Stuck:
    """A custom trigger due one hour after its first question, then at that same instant again."""

    def __init__(self) -> None:
        self.first: datetime | None = None

    def next_after(self, after: datetime) -> datetime:
        if self.first is None:
            self.first = after + timedelta(hours=1)
        return self.first


async def test_a_custom_trigger_that_stops_moving_forward_ends_its_schedule_naming_it(
    autojump_clock, caplog
):
    start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    async with open_wall(start) as h:
        h.manager.schedule("stuck", Stuck(), noop)
        await trio.sleep_until(3 * 3600)

    assert [e.time for e in h.of(ScheduleTick)] == [3600]
    (ended,) = h.of(ScheduleEnded)
    assert ended.time == 3600
    assert ended.reason.startswith("trigger failed: schedule 'stuck': trigger")
    assert "which is not after it" in ended.reason
    assert "which is not after it" in caplog.text


async def test_a_cron_window_includes_its_start_and_end_instants(autojump_clock):
    start = paris(2026, 1, 5, 12, 0)
    async with open_wall(start) as h:
        h.manager.schedule(
            "report",
            cron("0 8 * * *", tz="Europe/Paris"),
            noop,
            start=paris(2026, 1, 7, 8, 0),
            end=paris(2026, 1, 8, 8, 0),
        )
        await trio.sleep_until(h.at(paris(2026, 1, 10, 0, 0)))

    assert h.tick_walls() == [paris(2026, 1, 7, 8, 0), paris(2026, 1, 8, 8, 0)]
    assert [(e.time, e.reason) for e in h.of(ScheduleEnded)] == [
        (h.at(paris(2026, 1, 8, 8, 0)), "end")
    ]


async def test_a_cron_whose_first_tick_is_after_its_end_is_refused(autojump_clock):
    start = paris(2026, 1, 5, 12, 0)
    async with open_wall(start) as h:
        with pytest.raises(ValueError, match=r"first comes due .* after end"):
            h.manager.schedule(
                "report",
                cron("0 8 * * *", tz="Europe/Paris"),
                noop,
                end=paris(2026, 1, 6, 7, 0),
            )


async def test_info_gives_a_cron_schedules_next_fire_on_both_clocks(autojump_clock):
    start = paris(2026, 1, 5, 12, 0)
    async with open_wall(start) as h:
        handle = h.manager.schedule("report", cron("0 8 * * *", tz="Europe/Paris"), noop)
        info = handle.info()
        assert repr(handle) == "<ScheduleHandle 'report' cron '0 8 * * *' Europe/Paris active>"

    assert info.next_fire == paris(2026, 1, 6, 8, 0)
    assert info.next_time == 20 * 3600


async def test_the_trio_wall_clock_follows_trio_time_and_jumps(autojump_clock):
    clock = TrioWallClock(datetime(2026, 3, 29, tzinfo=UTC))
    await trio.sleep(90)
    clock.jump(timedelta(minutes=-1))
    clock.jump(0.5)

    assert clock.now() == datetime(2026, 3, 29, 0, 0, 30, 500000, tzinfo=UTC)
    assert repr(clock) == "<TrioWallClock 2026-03-29T00:00:30.500000+00:00>"
    with pytest.raises(ValueError, match="finite step"):
        clock.jump(math.nan)
    with pytest.raises(ValueError, match="timezone-aware"):
        TrioWallClock(datetime(2026, 3, 29))

"""Interval schedules: anchored ticks, overlap and catch-up policies, options, control, crashes.

Every time is exact, on trio's MockClock (autojump): the schedule is made at t=0, so an
``every(seconds=10)`` schedule is due at 10, 20, 30, ...
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from arborist.actors import ActorSystem, open_actor_system
from arborist.runtime import (
    MissReason,
    RunFinished,
    Runtime,
    ScheduleEnded,
    ScheduleMissed,
    ScheduleRunCancelled,
    ScheduleRunFailed,
    ScheduleRunFinished,
    ScheduleRunStarted,
    ScheduleRunTimedOut,
    ScheduleSkipped,
    ScheduleTick,
    Workflow,
    WorkflowInputError,
    at,
    every,
)
from arborist.runtime.schedules import (
    RunOutcome,
    ScheduleExistsError,
    ScheduleInfo,
    ScheduleManager,
    ScheduleNotFoundError,
    TrioWallClock,
)
from arborist.supervision._events import EventBus

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@attrs.define
class Harness:
    manager: ScheduleManager
    events: list[Any]
    clock: TrioWallClock
    system: ActorSystem

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]

    def times(self, kind: type) -> list[float]:
        return [event.time for event in self.of(kind)]

    def starts(self) -> list[tuple[float, Any]]:
        return [(event.time, event.due) for event in self.of(ScheduleRunStarted)]


@asynccontextmanager
async def open_harness(*, record_shutdown: bool = False, **kwargs: Any) -> AsyncIterator[Harness]:
    """A manager on a fresh actor system; events are recorded until the block ends."""
    async with open_actor_system() as system:
        bus: EventBus[Any] = EventBus()
        events: list[Any] = []
        unsubscribe = bus.subscribe(events.append)
        clock = TrioWallClock(START)
        kwargs.setdefault("rng", random.Random(4))
        async with ScheduleManager(system, events=bus, wall_clock=clock, **kwargs) as manager:
            yield Harness(manager, events, clock, system)
            if not record_shutdown:
                unsubscribe()


async def sleeper(seconds: float) -> None:
    await trio.sleep(seconds)


async def noop() -> None:
    pass


# -- anchored ticks ----------------------------------------------------------------------------


async def test_an_interval_schedule_ticks_at_start_plus_n_periods_however_long_runs_take(
    autojump_clock,
):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), sleeper, args=(3,))
        await trio.sleep_until(45)

    assert h.times(ScheduleTick) == [10, 20, 30, 40]
    assert h.times(ScheduleRunFinished) == [13, 23, 33, 43]


async def test_an_immediate_interval_also_ticks_at_the_start(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10, immediate=True), noop)
        await trio.sleep_until(25)

    assert h.times(ScheduleTick) == [0, 10, 20]


async def test_ticks_report_their_due_time_and_number_their_runs(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop)
        await trio.sleep_until(25)

    assert [(e.due, e.run, e.manual) for e in h.of(ScheduleTick)] == [
        (10, 1, False),
        (20, 2, False),
    ]


# -- overlap -----------------------------------------------------------------------------------


async def test_overlap_skip_skips_ticks_while_the_previous_run_is_going(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("slow", every(seconds=10), sleeper, args=(25,))
        await trio.sleep_until(45)

    assert h.starts() == [(10, 10), (40, 40)]
    assert [(e.time, e.due, e.reason) for e in h.of(ScheduleSkipped)] == [
        (20, 20, "overlap"),
        (30, 30, "overlap"),
    ]


async def test_overlap_buffer_one_runs_one_more_after_the_current_and_skips_the_rest(
    autojump_clock,
):
    async with open_harness() as h:
        h.manager.schedule("slow", every(seconds=10), sleeper, args=(24,), overlap="buffer_one")
        await trio.sleep_until(61)

    assert h.starts() == [(10, 10), (34, 20), (58, 40)]
    assert [(e.time, e.reason) for e in h.of(ScheduleSkipped)] == [
        (30, "buffer_full"),
        (50, "buffer_full"),
    ]
    assert [e.buffered for e in h.of(ScheduleTick)] == [False, True, True, True]


async def test_overlap_buffer_all_queues_every_tick_and_runs_them_one_after_another(
    autojump_clock,
):
    async with open_harness() as h:
        h.manager.schedule("slow", every(seconds=10), sleeper, args=(25,), overlap="buffer_all")
        await trio.sleep_until(86)

    assert h.starts() == [(10, 10), (35, 20), (60, 30), (85, 40)]
    assert h.of(ScheduleSkipped) == []


async def test_overlap_cancel_other_cancels_the_running_run_and_starts_the_new_one(
    autojump_clock,
):
    async with open_harness() as h:
        h.manager.schedule("slow", every(seconds=10), sleeper, args=(25,), overlap="cancel_other")
        await trio.sleep_until(25)

    assert h.starts() == [(10, 10), (20, 20)]
    assert [(e.time, e.run, e.duration, e.reason) for e in h.of(ScheduleRunCancelled)] == [
        (20, 1, 10, "cancel_other")
    ]


async def test_overlap_allow_runs_ticks_concurrently(autojump_clock):
    async with open_harness() as h:
        handle = h.manager.schedule("slow", every(seconds=10), sleeper, args=(25,), overlap="allow")
        await trio.sleep_until(31)
        running = handle.info().running

    assert h.starts() == [(10, 10), (20, 20), (30, 30)]
    assert running == 3


async def test_running_counts_the_runs_a_removed_schedule_still_drains(autojump_clock):
    async with open_harness() as h:
        handle = h.manager.schedule("slow", every(seconds=10), sleeper, args=(3,))
        await trio.sleep_until(11)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(h.manager.remove, "slow")
            await trio.sleep(1)  # the removal waits for the run, due to end at 13
            draining = handle.info().running
        after = handle.info().running

    assert (draining, after) == (1, 0)


# -- late ticks: catch-up and misfire grace ----------------------------------------------------


async def test_when_behind_catch_up_once_runs_the_newest_tick_and_reports_the_rest_coalesced(
    autojump_clock,
):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop)
        await trio.sleep_until(5)
        autojump_clock.jump(34)  # the process was suspended: ticks 10, 20, 30 are due at 39
        await trio.sleep_until(45)

    assert h.starts() == [(39, 30), (40, 40)]
    assert [(e.time, e.due, e.reason) for e in h.of(ScheduleMissed)] == [
        (39, 10, MissReason.COALESCED),
        (39, 20, MissReason.COALESCED),
    ]


async def test_when_behind_catch_up_all_runs_every_due_tick_oldest_first(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop, catch_up="all", overlap="buffer_all")
        await trio.sleep_until(5)
        autojump_clock.jump(34)
        await trio.sleep_until(45)

    assert h.starts() == [(39, 10), (39, 20), (39, 30), (40, 40)]
    assert h.of(ScheduleMissed) == []


async def test_when_behind_catch_up_skip_runs_none_and_waits_for_the_next_tick(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop, catch_up="skip")
        await trio.sleep_until(5)
        autojump_clock.jump(34)
        await trio.sleep_until(45)

    assert h.starts() == [(40, 40)]
    assert [(e.due, e.reason) for e in h.of(ScheduleMissed)] == [
        (10, MissReason.BEHIND),
        (20, MissReason.BEHIND),
        (30, MissReason.BEHIND),
    ]


async def test_a_tick_exactly_misfire_grace_late_still_runs(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop, misfire_grace=9)
        await trio.sleep_until(5)
        autojump_clock.jump(14)  # tick 10 is 9 s late at 19
        await trio.sleep_until(19.5)

    assert h.starts() == [(19, 10)]


async def test_a_tick_later_than_misfire_grace_is_missed_as_late(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop, misfire_grace=8.5)
        await trio.sleep_until(5)
        autojump_clock.jump(14)
        await trio.sleep_until(25)

    assert h.starts() == [(20, 20)]
    assert [(e.time, e.due, e.reason) for e in h.of(ScheduleMissed)] == [(19, 10, MissReason.LATE)]


async def test_a_backlog_longer_than_the_limit_is_reported_by_one_event_with_its_count(
    autojump_clock,
):
    async with open_harness() as h:
        h.manager.schedule("fast", every(seconds=1), noop, catch_up="skip")
        await trio.sleep_until(0.5)
        autojump_clock.jump(1500)  # 1,500 ticks due at 1500.5
        await trio.sleep_until(1500.6)

    missed = h.of(ScheduleMissed)
    assert (missed[0].due, missed[0].count) == (1, 500)
    assert len(missed) == 1 + 1000
    assert sum(event.count for event in missed) == 1500


# -- jitter, timeout, max_runs, window ---------------------------------------------------------


class FixedUniform:
    """An rng whose uniform() returns one end of the range, recording the calls."""

    def __init__(self, pick_high: bool) -> None:
        self.pick_high = pick_high
        self.calls: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.calls.append((a, b))
        return b if self.pick_high else a


@pytest.mark.parametrize(("pick_high", "delay"), [(False, 0.0), (True, 4.0)])
async def test_jitter_delays_each_run_by_a_uniform_draw_in_zero_to_jitter(
    autojump_clock, pick_high, delay
):
    rng = FixedUniform(pick_high)
    async with open_harness(rng=rng) as h:
        h.manager.schedule("poll", every(seconds=10), noop, jitter=4)
        await trio.sleep_until(25)

    assert rng.calls == [(0.0, 4.0), (0.0, 4.0)]
    assert h.starts() == [(10 + delay, 10), (20 + delay, 20)]


async def test_jittered_runs_start_within_the_bound_and_not_all_at_the_same_offset(
    autojump_clock,
):
    async with open_harness(rng=random.Random(11)) as h:
        h.manager.schedule("poll", every(seconds=10), noop, jitter=2.5)
        await trio.sleep_until(205)

    offsets = [time - due for time, due in h.starts()]
    assert len(offsets) == 20
    assert all(0 <= offset <= 2.5 for offset in offsets)
    assert len(set(offsets)) > 1


async def test_without_jitter_no_random_number_is_drawn(autojump_clock):
    rng = FixedUniform(True)
    async with open_harness(rng=rng) as h:
        h.manager.schedule("poll", every(seconds=10), noop)
        await trio.sleep_until(15)

    assert rng.calls == []


async def test_a_run_past_its_timeout_is_cancelled_and_reported_timed_out(autojump_clock):
    async with open_harness() as h:
        handle = h.manager.schedule("slow", every(seconds=10), sleeper, args=(20,), timeout=5)
        await trio.sleep_until(16)
        outcome = handle.info().last_outcome

    assert [(e.time, e.run, e.duration, e.timeout) for e in h.of(ScheduleRunTimedOut)] == [
        (15, 1, 5, 5)
    ]
    assert outcome is RunOutcome.TIMED_OUT
    assert h.of(ScheduleRunFinished) == []


async def test_the_timeout_counts_from_the_end_of_the_jitter_delay(autojump_clock):
    async with open_harness(rng=FixedUniform(True)) as h:
        h.manager.schedule("slow", every(seconds=10), sleeper, args=(20,), timeout=5, jitter=2)
        await trio.sleep_until(18)

    assert h.times(ScheduleRunTimedOut) == [17]


async def test_after_max_runs_the_schedule_ends_and_its_name_is_free(autojump_clock):
    async with open_harness() as h:
        handle = h.manager.schedule("twice", every(seconds=10), sleeper, args=(3,), max_runs=2)
        await trio.sleep_until(50)
        info = handle.info()
        again = h.manager.schedule("twice", every(seconds=10), noop)

    assert h.times(ScheduleTick)[:2] == [10, 20]
    assert [(e.time, e.reason, e.runs) for e in h.of(ScheduleEnded)] == [(23, "max_runs", 2)]
    assert (info.ended, info.next_fire, info.runs) == ("max_runs", None, 2)
    assert again.name == "twice"


async def test_an_interval_with_a_future_start_is_anchored_there(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("later", every(seconds=10), noop, start=START + timedelta(seconds=100))
        await trio.sleep_until(125)

    assert h.times(ScheduleTick) == [110, 120]


async def test_an_interval_ends_at_its_window_end_inclusive(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("until", every(seconds=10), noop, end=START + timedelta(seconds=30))
        await trio.sleep_until(100)

    assert h.times(ScheduleTick) == [10, 20, 30]
    assert [(e.time, e.reason) for e in h.of(ScheduleEnded)] == [(30, "end")]


# -- control: pause, resume, run_now, remove, list -------------------------------------------


async def test_paused_ticks_are_reported_skipped_and_resume_carries_on_with_the_next(
    autojump_clock,
):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop)
        await trio.sleep_until(15)
        h.manager.pause("poll")
        await trio.sleep_until(35)
        paused = h.manager.get("poll").paused
        h.manager.resume("poll")
        await trio.sleep_until(45)

    assert paused
    assert [(e.time, e.reason) for e in h.of(ScheduleSkipped)] == [(20, "paused"), (30, "paused")]
    assert h.times(ScheduleTick) == [10, 40]


async def test_run_now_runs_at_once_without_shifting_the_grid(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop)
        await trio.sleep_until(13)
        h.manager.run_now("poll")
        await trio.sleep_until(25)

    assert [(e.time, e.manual) for e in h.of(ScheduleTick)] == [
        (10, False),
        (13, True),
        (20, False),
    ]


async def test_run_now_obeys_the_overlap_policy(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("slow", every(seconds=10), sleeper, args=(5,))
        await trio.sleep_until(12)
        h.manager.run_now("slow")
        await trio.sleep_until(13)

    assert [(e.time, e.reason) for e in h.of(ScheduleSkipped)] == [(12, "overlap")]


async def test_run_now_right_after_schedule_runs_once_the_scheduler_has_started(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop)
        h.manager.run_now("poll")
        await trio.sleep_until(1)

    assert [(e.time, e.manual) for e in h.of(ScheduleTick)] == [(0, True)]


async def test_remove_stops_the_ticks_frees_the_name_and_disarms_the_timer(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop)
        await trio.sleep_until(15)
        await h.manager.remove("poll")
        timers = len(h.system._timers)
        await trio.sleep_until(45)
        names = [info.name for info in h.manager.list()]

    assert h.times(ScheduleTick) == [10]
    assert [(e.time, e.reason) for e in h.of(ScheduleEnded)] == [(15, "removed")]
    assert (timers, names) == (0, [])


async def test_remove_lets_a_run_in_flight_finish_within_the_shutdown_time(autojump_clock):
    async with open_harness(shutdown_timeout=5) as h:
        h.manager.schedule("slow", every(seconds=10), sleeper, args=(3,))
        await trio.sleep_until(11)
        await h.manager.remove("slow")
        removed_at = trio.current_time()

    assert removed_at == 13
    assert h.times(ScheduleRunFinished) == [13]


async def test_remove_cancels_a_run_still_going_after_the_shutdown_time(autojump_clock):
    async with open_harness(shutdown_timeout=5) as h:
        h.manager.schedule("slow", every(seconds=10), sleeper, args=(30,))
        await trio.sleep_until(11)
        await h.manager.remove("slow")

    assert [(e.time, e.reason) for e in h.of(ScheduleRunCancelled)] == [(16, "stopped")]


async def test_closing_the_manager_ends_every_schedule_as_stopped(autojump_clock):
    async with open_harness(record_shutdown=True) as h:
        h.manager.schedule("a", every(seconds=10), noop)
        h.manager.schedule("b", every(seconds=7), noop)
        await trio.sleep_until(12)

    assert sorted((e.schedule, e.reason) for e in h.of(ScheduleEnded)) == [
        ("a", "stopped"),
        ("b", "stopped"),
    ]


async def test_list_shows_every_schedule_by_name_with_its_next_fire_time(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("b", every(seconds=10), noop)
        h.manager.schedule("a", every(seconds=30), noop, max_runs=5)
        await trio.sleep_until(15)
        infos = h.manager.list()

    assert infos == [
        ScheduleInfo(
            name="a",
            trigger=every(seconds=30),
            next_fire=START + timedelta(seconds=30),
            next_time=30,
            paused=False,
            runs=0,
            running=0,
            last_outcome=None,
            ended=None,
        ),
        ScheduleInfo(
            name="b",
            trigger=every(seconds=10),
            next_fire=START + timedelta(seconds=20),
            next_time=20,
            paused=False,
            runs=1,
            running=0,
            last_outcome=RunOutcome.OK,
            ended=None,
        ),
    ]


async def test_unknown_names_raise_schedule_not_found_listing_the_known_ones(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop)
        with pytest.raises(ScheduleNotFoundError, match=r"'pol'.*known schedules: 'poll'"):
            h.manager.pause("pol")


async def test_handles_and_the_manager_have_readable_reprs(autojump_clock):
    async with open_harness() as h:
        handle = h.manager.schedule("poll", every(seconds=10), noop)
        assert repr(handle) == "<ScheduleHandle 'poll' every 10 s active>"
        handle.pause()
        assert repr(handle) == "<ScheduleHandle 'poll' every 10 s paused>"
        assert repr(h.manager) == "<ScheduleManager 1 schedules open>"


# -- supervision -------------------------------------------------------------------------------


async def test_a_crashed_scheduler_is_restarted_without_shifting_the_next_tick(autojump_clock):
    async with open_harness() as h:
        crashed = h.manager.schedule("crashy", every(seconds=10), noop)
        h.manager.schedule("steady", every(seconds=10), noop)
        await trio.sleep_until(15)
        first = crashed.ref
        assert first is not None
        first.tell("not a scheduler message")  # the scheduler crashes on it
        await trio.testing.wait_all_tasks_blocked()
        restarted = crashed.ref
        await trio.sleep_until(35)

    assert restarted is not first
    assert restarted is not None
    crashy = [e.time for e in h.of(ScheduleTick) if e.schedule == "crashy"]
    steady = [e.time for e in h.of(ScheduleTick) if e.schedule == "steady"]
    assert crashy == steady == [10, 20, 30]


async def test_a_scheduler_killed_exactly_at_a_due_time_still_runs_that_tick_once(
    autojump_clock,
):
    async with open_harness() as h:
        handle = h.manager.schedule("crashy", every(seconds=10), noop)
        await trio.sleep_until(20)  # the timer fired; the wake-up may not be handled yet
        ref = handle.ref
        assert ref is not None
        ref.kill()
        await trio.sleep_until(25)

    assert h.times(ScheduleTick) == [10, 20]


async def test_a_scheduler_being_killed_is_no_longer_alive_before_its_task_runs(autojump_clock):
    async with open_harness() as h:
        handle = h.manager.schedule("crashy", every(seconds=10), noop)
        await trio.sleep_until(5)
        scheduler = handle._state.scheduler
        assert scheduler is not None
        assert scheduler.alive
        ref = handle.ref
        assert ref is not None
        ref.kill()  # the task has not run since: the wake-up of a tick now would skip it
        assert not scheduler.alive


async def test_runs_of_a_crashed_scheduler_are_reported_cancelled(autojump_clock):
    async with open_harness() as h:
        handle = h.manager.schedule("crashy", every(seconds=10), sleeper, args=(8,))
        await trio.sleep_until(12)
        ref = handle.ref
        assert ref is not None
        ref.tell("boom")
        await trio.sleep_until(21)

    assert [(e.time, e.run, e.reason) for e in h.of(ScheduleRunCancelled)] == [
        (12, 1, "scheduler crashed")
    ]
    assert h.starts() == [(10, 10), (20, 20)]


async def test_a_failing_job_is_an_event_and_a_log_never_a_scheduler_crash(autojump_clock, caplog):
    async def broken() -> None:
        raise ConnectionError("db is down")

    async with open_harness() as h:
        handle = h.manager.schedule("broken", every(seconds=10), broken)
        with caplog.at_level(logging.WARNING, logger="arborist.runtime.schedules"):
            await trio.sleep_until(25)
        first_ref = handle.ref

    failures = h.of(ScheduleRunFailed)
    assert [(e.time, e.run, type(e.error)) for e in failures] == [
        (10, 1, ConnectionError),
        (20, 2, ConnectionError),
    ]
    assert "schedule 'broken': run 1 failed" in caplog.text
    assert handle._state.incarnations == 1
    assert first_ref is not None
    assert handle.info().last_outcome is RunOutcome.FAILED


# -- jobs --------------------------------------------------------------------------------------


async def test_a_sync_job_runs_on_a_worker_thread_with_its_args(autojump_clock):
    seen: list[tuple[int, str]] = []

    def blocking(word: str) -> None:
        seen.append((threading.get_ident(), word))

    async with open_harness() as h:
        handle = h.manager.schedule("sync", every(seconds=10), blocking, args=("hi",), max_runs=1)
        await handle.wait_ended()

    assert [word for _, word in seen] == ["hi"]
    assert seen[0][0] != threading.get_ident()
    assert len(h.of(ScheduleRunFinished)) == 1


async def test_a_sync_job_returning_a_coroutine_fails_with_a_clear_error(autojump_clock):
    async def later() -> None:
        pass

    async with open_harness() as h:
        handle = h.manager.schedule("wrapped", every(seconds=10), lambda: later(), max_runs=1)  # noqa: PLW0108
        await handle.wait_ended()

    (failure,) = h.of(ScheduleRunFailed)
    assert "appears to be asynchronous" in str(failure.error)


def add_one(x: int) -> int:
    return x + 1


@asynccontextmanager
async def runtime_with_schedules(**kwargs: Any) -> AsyncIterator[tuple[Runtime, Any]]:
    """A Runtime whose schedules follow trio's clock; yields it twice (as rt and as manager)."""
    async with Runtime(wall_clock=TrioWallClock(START), **kwargs) as rt:
        yield rt, rt


async def test_a_workflow_job_runs_with_its_inputs_and_events_reach_rt_subscribe(
    autojump_clock,
):
    wf = Workflow("bump", inputs=["x"])
    wf.step(add_one, name="bumped", inline=True)
    seen: list[Any] = []
    async with runtime_with_schedules() as (rt, manager):
        rt.subscribe(seen.append)
        manager.schedule("bump", every(seconds=10), wf, inputs={"x": 1}, max_runs=1)
        await trio.sleep_until(11)

    assert [type(e) for e in seen if isinstance(e, ScheduleTick | RunFinished)] == [
        ScheduleTick,
        RunFinished,
    ]
    assert [(e.time, e.run) for e in seen if isinstance(e, ScheduleRunFinished)] == [(10, 1)]


# -- validation --------------------------------------------------------------------------------


async def test_a_duplicate_name_is_refused(autojump_clock):
    async with open_harness() as h:
        h.manager.schedule("poll", every(seconds=10), noop)
        with pytest.raises(ScheduleExistsError, match="'poll' exists already"):
            h.manager.schedule("poll", every(seconds=5), noop)


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        ("0 8 * * *", r"is a string; wrap a cron expression with cron\('0 8 \* \* \*'"),
        (30, r"trigger must be every\(...\), cron\(...\), at\(...\)"),
    ],
)
async def test_a_bad_trigger_is_refused_naming_the_fix(autojump_clock, trigger, message):
    async with open_harness() as h:
        with pytest.raises(TypeError, match=message):
            h.manager.schedule("poll", trigger, noop)


async def gen_job():  # an async generator is not a job
    yield 1


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (42, "job must be an `async def` function"),
        (gen_job, "is a generator function"),
        (dict, "job must be an `async def` function"),
    ],
)
async def test_a_job_that_is_not_a_function_or_workflow_is_refused(autojump_clock, job, message):
    async with open_harness() as h:
        with pytest.raises(TypeError, match=message):
            h.manager.schedule("poll", every(seconds=10), job)


async def test_a_called_coroutine_is_refused_with_a_hint_to_pass_the_function(autojump_clock):
    async with open_harness() as h:
        with pytest.raises(TypeError, match=r"coroutine object, already called"):
            h.manager.schedule("poll", every(seconds=10), noop())


async def test_inputs_for_a_function_job_are_refused(autojump_clock):
    async with open_harness() as h:
        with pytest.raises(TypeError, match="inputs= is for Workflow jobs"):
            h.manager.schedule("poll", every(seconds=10), noop, inputs={"x": 1})


async def test_a_workflows_inputs_are_checked_at_the_call(autojump_clock):
    wf = Workflow("bump", inputs=["x"])
    wf.step(add_one, name="bumped", inline=True)
    async with runtime_with_schedules() as (_rt, manager):
        with pytest.raises(WorkflowInputError):
            manager.schedule("bump", every(seconds=10), wf, inputs={})
        with pytest.raises(TypeError, match=r"a workflow takes inputs=\.\.\., not args"):
            manager.schedule("bump", every(seconds=10), wf, args=(1,))


async def test_a_workflow_needs_a_manager_that_can_start_runs(autojump_clock):
    wf = Workflow("bump", inputs=["x"])
    wf.step(add_one, name="bumped", inline=True)
    async with open_harness() as h:
        with pytest.raises(TypeError, match=r"schedule workflows with rt.schedule"):
            h.manager.schedule("bump", every(seconds=10), wf, inputs={"x": 1})


async def test_invalid_options_are_refused_at_the_call(autojump_clock):
    async with open_harness() as h:
        with pytest.raises(ValueError, match="'queue' is 'buffer_one' or 'buffer_all'"):
            h.manager.schedule("poll", every(seconds=10), noop, overlap="queue")
        with pytest.raises(ValueError, match="max_runs must be an int >= 1"):
            h.manager.schedule("poll", every(seconds=10), noop, max_runs=0)
        assert h.manager.list() == []


async def test_an_end_already_past_and_an_at_in_the_past_are_refused(autojump_clock):
    async with open_harness() as h:
        with pytest.raises(ValueError, match=r"end .* is already past"):
            h.manager.schedule("poll", every(seconds=10), noop, end=START - timedelta(seconds=1))
        with pytest.raises(ValueError, match=r"never comes due .* must be in the future"):
            h.manager.schedule("once", at(START - timedelta(days=1)), noop)


async def test_scheduling_on_a_closed_manager_is_refused(autojump_clock):
    async with open_harness() as h:
        pass
    with pytest.raises(RuntimeError, match="the schedule manager is closed"):
        h.manager.schedule("poll", every(seconds=10), noop)


# -- scale -------------------------------------------------------------------------------------


def count_tasks() -> int:
    todo = [trio.lowlevel.current_root_task()]
    count = 0
    while todo:
        task = todo.pop()
        count += 1
        for nursery in task.child_nurseries:
            todo.extend(nursery.child_tasks)
    return count


async def test_ten_thousand_interval_schedules_share_one_timer_heap_without_sleeping_tasks(
    autojump_clock,
):
    n = 10_000
    async with open_harness() as h:
        baseline = count_tasks()
        for i in range(n):
            h.manager.schedule(f"s{i}", every(seconds=10), noop)
        await trio.testing.wait_all_tasks_blocked()
        timers = len(h.system._timers)
        tasks = count_tasks() - baseline
        await trio.sleep_until(10.5)
        finished = h.of(ScheduleRunFinished)

    assert timers == n  # one heap entry per schedule, in the system's one heap
    assert tasks == n  # one idle scheduler actor each, no task sleeping per schedule
    assert len(finished) == n
    assert {event.time for event in finished} == {10}


async def test_the_schedules_of_a_runtime_print_as_a_readable_table(autojump_clock):
    async def job():
        pass

    async with Runtime() as rt:
        rt.schedule("poll", every(seconds=30), job)
        rt.schedule("later", every(seconds=60), job)
        rt.pause_schedule("later")
        await trio.sleep(31)
        table = rt.schedules()
    lines = str(table).splitlines()
    header = ["schedule", "trigger", "next", "fire", "(UTC)", "runs", "last", "state"]
    assert lines[0].split() == header
    assert lines[1].split()[:4] == ["later", "every", "60", "s"]
    assert lines[1].split()[-3:] == ["0", "-", "paused"]
    assert lines[2].split()[-3:] == ["1", "ok", "active"]
    assert [info.name for info in table] == ["later", "poll"]  # still a list of ScheduleInfo
    assert str(table[1]).startswith("poll  every 30 s  ")

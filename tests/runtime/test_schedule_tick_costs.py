"""What a tick costs: no object left behind for the collector, no event nobody takes.

Every object that outlives the collector's young passes brings its next full pass closer, and
a full pass walks every schedule's objects. At 10,000 schedules, two such objects per tick
(a heap entry holding the timer, the timer's bound callback) set off a pass every few
seconds, each one stopping the process for hundreds of milliseconds.
"""

from __future__ import annotations

import gc
from typing import Any

import trio

from arborist.actors import TimerHandle, open_actor_system
from arborist.runtime import ScheduleRunFinished, ScheduleRunStarted, ScheduleTick, every
from arborist.runtime.schedules import ScheduleManager
from arborist.runtime.schedules._state import ScheduleState
from arborist.supervision._events import EventBus

SCHEDULES = 500
TICKS = 5


async def noop() -> None:
    pass


async def test_ticks_of_idle_schedules_leave_no_lasting_object_holding_their_timers_or_state(
    autojump_clock,
):
    async with open_actor_system() as system, ScheduleManager(system) as manager:
        for i in range(SCHEDULES):
            manager.schedule(f"s{i}", every(seconds=1), noop)
        await trio.sleep(2.5)  # every scheduler started and ticked
        gc.collect()
        before = gc.get_objects()  # held, so that no new object can take an old one's id
        known = {id(obj) for obj in before}
        own = {id(obj) for obj in before if isinstance(obj, TimerHandle | ScheduleState)}

        await trio.sleep(TICKS)
        gc.collect()
        new = [obj for obj in gc.get_objects() if id(obj) not in known]

    # Each tick's objects replace the previous tick's: count the ones made since, still alive,
    # that hold a schedule's timer or state (other tests' threads may make objects meanwhile).
    # Before the fix: 2 a schedule, 1,000 here (heap entries, bound callbacks).
    holding = [obj for obj in new if any(id(ref) in own for ref in gc.get_referents(obj))]
    assert len(holding) < SCHEDULES / 10, sorted({type(obj).__name__ for obj in holding})


async def test_a_subscriber_of_run_starts_only_costs_no_tick_or_finish_events(
    autojump_clock, monkeypatch
):
    built: list[str] = []
    for kind in (ScheduleTick, ScheduleRunFinished):
        init = kind.__init__

        def counted(self: Any, *args: Any, init: Any = init, **kwargs: Any) -> None:
            built.append(type(self).__name__)
            init(self, *args, **kwargs)

        monkeypatch.setattr(kind, "__init__", counted)
    bus: EventBus[Any] = EventBus()
    starts: list[ScheduleRunStarted] = []
    bus.subscribe(starts.append, only=ScheduleRunStarted)

    async with open_actor_system() as system, ScheduleManager(system, events=bus) as manager:
        manager.schedule("poll", every(seconds=1), noop)
        await trio.sleep(3.5)

    assert [event.due for event in starts] == [1.0, 2.0, 3.0]
    assert built == []


async def test_an_interval_schedule_keeps_one_repeating_timer_across_its_ticks(autojump_clock):
    bus: EventBus[Any] = EventBus()
    starts: list[ScheduleRunStarted] = []
    bus.subscribe(starts.append, only=ScheduleRunStarted)
    async with open_actor_system() as system, ScheduleManager(system, events=bus) as manager:
        handle = manager.schedule("poll", every(seconds=0.3), noop)
        await trio.sleep(0.45)
        timer = handle._state.timer

        await trio.sleep(3.0)

        assert handle._state.timer is timer
        assert timer is not None
        assert timer.active
        assert timer.period == 0.3  # it repeats on the grid: nothing re-arms it each tick
    assert [event.due for event in starts] == [0.3 * n for n in range(1, 12)]


class _ClosedNursery:
    """Stands in for a scheduler's nursery that closed: it refuses every new task."""

    def start_soon(self, *_: Any, **__: Any) -> None:
        raise RuntimeError("Nursery is closed to new arrivals")


async def test_an_on_time_tick_refused_by_a_closed_nursery_is_reported_cancelled(autojump_clock):
    from arborist.runtime import ScheduleRunCancelled

    bus: EventBus[Any] = EventBus()
    seen: list[Any] = []
    bus.subscribe(seen.append, only=(ScheduleRunStarted, ScheduleRunCancelled))
    async with open_actor_system() as system, ScheduleManager(system, events=bus) as manager:
        handle = manager.schedule("s", every(seconds=1), noop)
        await trio.sleep(1.5)  # run 1 started and ended
        scheduler = handle._state.scheduler
        assert scheduler is not None
        nursery, scheduler._nursery = scheduler._nursery, _ClosedNursery()  # type: ignore[assignment]
        await trio.sleep(1)  # tick 2, on time, idle: the quick path, refused
        scheduler._nursery = nursery
        await trio.sleep(1)  # tick 3 runs again
        state = handle._state

    kinds = [(type(event).__name__, event.run) for event in seen]
    assert kinds == [
        ("ScheduleRunStarted", 1),
        ("ScheduleRunCancelled", 2),
        ("ScheduleRunStarted", 3),
    ]
    assert state.running == 0

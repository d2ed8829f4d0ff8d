"""Idle schedules and the garbage collector: a tick leaves nothing behind for it to walk.

Every object that outlives the collector's young passes brings its next full pass closer, and
a full pass walks every schedule's objects. At 10,000 schedules, two such objects per tick
(a heap entry holding the timer, the timer's bound callback) set off a pass every few
seconds, each one stopping the process for hundreds of milliseconds.
"""

from __future__ import annotations

import gc

import trio

from arborist.actors import open_actor_system
from arborist.runtime import every
from arborist.runtime.schedules import ScheduleManager

SCHEDULES = 500
TICKS = 5


async def noop() -> None:
    pass


async def test_ticks_of_idle_schedules_leave_no_lasting_object_for_the_collector(autojump_clock):
    async with open_actor_system() as system, ScheduleManager(system) as manager:
        for i in range(SCHEDULES):
            manager.schedule(f"s{i}", every(seconds=1), noop)
        await trio.sleep(2.5)  # every scheduler started and ticked
        gc.collect()
        before = gc.get_objects()  # held, so that no new object can take an old one's id
        known = {id(obj) for obj in before}

        await trio.sleep(TICKS)
        gc.collect()
        new = [obj for obj in gc.get_objects() if id(obj) not in known]

    # Each tick's objects replace the previous tick's: count the ones made since, still alive.
    # Before the fix: 2 a schedule (1,000 here). What remains is the test's own waiting (~50
    # objects), whatever the count of schedules.
    assert len(new) < SCHEDULES / 4, sorted({type(obj).__name__ for obj in new})

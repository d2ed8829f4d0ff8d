"""Schedules: periodic work (``every``, ``cron``, ``at``) run by supervised scheduler actors.

Holds the triggers (interval grids on trio's clock, DST-aware cron and one-shot times on the
wall clock), the schedule options and the late-tick planner (overlap, misfire grace, catch-up,
jitter), wall clocks (the system's, and ``TrioWallClock`` so MockClock drives cron in tests),
the scheduler actor (one per schedule, its timing kept outside it so a restart does not shift
it), the manager behind ``rt.schedule``, schedule handles, errors and events. With a store,
schedules are durable (``_durable``): each due instant is claimed in the store before it
fires (at most once across processes and restarts), ``every`` runs on a wall-clock grid, and
due instants passed while down are run or recorded missed on start.

Many schedules (thousands): each idle schedule holds ~60 objects the garbage collector tracks
(its scheduler actor's task, nursery, cancel scopes, mailbox, timer, state), and a full
collection walks all of them while the event loop waits (~300 ms at 10,000 schedules here).
What brings full collections on is objects that outlive the young passes, so a tick leaves
none: the timer heap's entries are plain-number tuples the collector stops tracking (the
schedules due at one instant share one entry and one list of followers), a
schedule's timer callback is bound once, and a burst of due timers lets the runs it started
run after every 64 (their objects die young). At 10,000 schedules every second, no full pass
came in 10 s of ticks (four before). A tick builds only the events a subscriber takes
(``subscribe(..., only=ScheduleRunStarted)`` builds no ``ScheduleTick``).

A service that makes its schedules at start-up and keeps them can also take them out of the
collector's walk, as CPython advises for large long-lived heaps, so that a full pass brought
on by the rest of the application stays short: once their schedulers have started
(``await manager.started()`` on the ``ScheduleManager``), call ``gc.collect()`` then
``gc.freeze()``. The trade-off: objects alive at the freeze are never collected by the cycle
collector afterwards (reference counting still frees what has no cycle), so schedules removed
later, and anything else alive then, keep their memory until ``gc.unfreeze()``. Freeze once,
after start-up, not periodically.

It may import the engine (a workflow job's ``RunHandle``), the workflow DSL, ``arborist.actors``
and ``arborist.supervision``; it starts workflow runs only through a callable the runtime
gives it, never through ``Runtime``.
"""

from ._cron import Cron, cron
from ._events import (
    ScheduleEnded,
    ScheduleEvent,
    ScheduleMissed,
    ScheduleRunCancelled,
    ScheduleRunFailed,
    ScheduleRunFinished,
    ScheduleRunInterrupted,
    ScheduleRunStarted,
    ScheduleRunTimedOut,
    ScheduleSkipped,
    ScheduleTick,
)
from ._handle import (
    ScheduleError,
    ScheduleExistsError,
    ScheduleHandle,
    ScheduleInfo,
    ScheduleNotFoundError,
    ScheduleTable,
)
from ._manager import ScheduleManager
from ._options import (
    CatchUp,
    CatchUpPlan,
    MissedTick,
    MissReason,
    Overlap,
    ScheduleOptions,
    jitter_delay,
    plan_catch_up,
)
from ._state import RunOutcome
from ._triggers import At, Interval, Trigger, at, every
from ._wallclock import ManualWallClock, SystemWallClock, TrioWallClock, WallClock

__all__ = [
    "At",
    "CatchUp",
    "CatchUpPlan",
    "Cron",
    "Interval",
    "ManualWallClock",
    "MissReason",
    "MissedTick",
    "Overlap",
    "RunOutcome",
    "ScheduleEnded",
    "ScheduleError",
    "ScheduleEvent",
    "ScheduleExistsError",
    "ScheduleHandle",
    "ScheduleInfo",
    "ScheduleManager",
    "ScheduleMissed",
    "ScheduleNotFoundError",
    "ScheduleOptions",
    "ScheduleRunCancelled",
    "ScheduleRunFailed",
    "ScheduleRunFinished",
    "ScheduleRunInterrupted",
    "ScheduleRunStarted",
    "ScheduleRunTimedOut",
    "ScheduleSkipped",
    "ScheduleTable",
    "ScheduleTick",
    "SystemWallClock",
    "Trigger",
    "TrioWallClock",
    "WallClock",
    "at",
    "cron",
    "every",
    "jitter_delay",
    "plan_catch_up",
]

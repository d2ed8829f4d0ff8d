"""W7 at scale: CPU per tick on trio's ``MockClock`` as the number of schedules grows.

``python -m benchmarks.tick_scaling [--repeats R] [N ...]`` (default: 100, 1,000 and 10,000).
A tool run on demand, as ``benchmarks.opcodes`` is, not one of ``make bench``'s tables.

W7's ratio to its floor grows with the number of schedules (CPU 1.7x at 100, 2.1-2.3x at
10,000 in the full runs). This tool separates that growth from timer precision and from the
real clock: every implementation runs on ``MockClock`` (autojump), so the time is CPU only,
and each prints the CPU time per tick of its window (process time / ticks run), as the median
of ``R`` repetitions, alternating implementations, at each count. Ticks are due together (all
schedules on one anchor, every second), as in W7's bursts. Before each repetition the process's
objects are collected and frozen (``gc.freeze()``, undone after it): the collector's full
passes inside a window then walk only what that repetition made, not the imports or the
garbage of the repetitions before it (without this, the floor's own CPU per tick at 10,000
ranged over 6.5-13.5 us in one process).

Implementations:
- grouped floor: ``w7_timers.grouped_floor``, W7's fastest floor (one task, one heap entry per
  due instant, a checkpoint every 64 starts).
- grouped floor, a nursery per schedule (not a floor of W7; a reference): the same, with each
  schedule's jobs started in a nursery of its own, held open by one task per schedule. That
  is the structure of a design in which each schedule's runs are supervised by a task of its
  own (arborist's scheduler actor owns the nursery its runs start in), with nothing else of
  such a design: what trio itself charges for that structure as the count grows.
- grouped floor, five objects per schedule (a reference too): the grouped floor, with each
  tick calling a method of its own schedule that reads and writes five objects of that
  schedule (a timer, a state, a scheduler, its cell and a dict of runs, as a tick of arborist's
  touches) before it starts the job. At 10,000 schedules those objects are some 2 MB: if
  memory traffic to objects of this kind grew a tick's cost with the count, it would show here.
- grouped floor, five objects per schedule, 4 KiB apart (a reference): the same, with twelve
  more of each of those objects made after each schedule's and kept, so that one schedule's
  objects sit some 4 KiB from the next one's, as an arborist schedule's 4.4 KiB spread them
  (some 42 MB at 10,000, beyond this machine's caches).
- arborist ScheduleManager: ``w7_timers.arborist_schedules`` with a wall clock that follows
  trio's (as ``benchmarks.opcodes w7`` runs it).
- arborist, no ScheduleRunStarted subscriber (a reference): the same with nobody taking the
  event W7 reads its lateness from, so none is built; each job records its own start. What
  building and delivering that event costs a tick.
- arborist, every run in one shared nursery (a reference, not a design: a crashed scheduler's
  runs would outlive it): each scheduler starts its runs in one nursery that every schedule
  shares, instead of its own. What a nursery per scheduler costs a tick as the count grows.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import statistics
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

import trio
import trio.testing

from benchmarks.w7_timers import (
    Load,
    Measure,
    StartJob,
    arborist_schedules,
    grouped_floor,
    nursery_of_its_own,
)

__all__ = [
    "IMPLEMENTATIONS",
    "cpu_per_tick",
    "main",
    "nursery_per_schedule_floor",
    "shared_nursery_arborist",
    "spread_touching_floor",
    "touching_floor",
    "unsubscribed_arborist",
]

TICKS = 60_000
"""Ticks per repetition (at least 3 periods, so the window's edges do not dominate)."""


async def nursery_per_schedule_floor(load: Load) -> Measure:
    """``grouped_floor``, with each schedule's jobs started in a nursery of its own."""
    return await grouped_floor(load, per_schedule=nursery_of_its_own)


class _Timer:
    __slots__ = ("count", "state")


class _State:
    __slots__ = ("runs", "scheduler", "tick")


class _Scheduler:
    __slots__ = ("cell", "nursery", "runs")


class _Cell:
    __slots__ = ("exit_reason", "kill_reason")


class _Schedule:
    """A schedule's own objects, touched on each of its ticks: a timer, a state, a scheduler,
    its cell and its runs dict (the ones a tick of arborist's reads and writes)."""

    __slots__ = ("timer",)

    def __init__(self, nursery: trio.Nursery) -> None:
        timer, state, scheduler, cell = _Timer(), _State(), _Scheduler(), _Cell()
        timer.count, timer.state = 0, state
        state.tick, state.runs, state.scheduler = 0, 0, scheduler
        scheduler.cell, scheduler.nursery, scheduler.runs = cell, nursery, {}
        cell.exit_reason = cell.kill_reason = None
        self.timer = timer

    def start(self, job: Callable[[float], Awaitable[None]], due: float) -> None:
        timer = self.timer
        timer.count += 1
        state = timer.state
        state.tick += 1
        scheduler = state.scheduler
        cell = scheduler.cell
        if cell.exit_reason is None and cell.kill_reason is None:
            state.runs = number = state.runs + 1
            runs = scheduler.runs
            runs[number] = due
            runs.pop(number - 1, None)  # the run before, over by now
            scheduler.nursery.start_soon(job, due)


class _SpreadSchedule(_Schedule):
    """A ``_Schedule`` made with twelve more of each of its objects after it, kept alive: the
    next schedule's objects then sit some 4 KiB further on (an arborist schedule holds 4.4)."""

    __slots__ = ("_spacers",)

    def __init__(self, nursery: trio.Nursery) -> None:
        super().__init__(nursery)
        self._spacers = [(_Timer(), _State(), _Scheduler(), _Cell(), {}) for _ in range(12)]


async def _objects_of_its_own(nursery: trio.Nursery) -> StartJob:
    return _Schedule(nursery).start


async def _spread_objects_of_its_own(nursery: trio.Nursery) -> StartJob:
    return _SpreadSchedule(nursery).start


async def touching_floor(load: Load) -> Measure:
    """``grouped_floor``, each tick reading and writing five objects of its own schedule."""
    return await grouped_floor(load, per_schedule=_objects_of_its_own)


async def spread_touching_floor(load: Load) -> Measure:
    """``touching_floor`` with each schedule's objects some 4 KiB from the next one's."""
    return await grouped_floor(load, per_schedule=_spread_objects_of_its_own)


async def _arborist(load: Load, *, subscribed: bool = True) -> Measure:
    from arborist.runtime.schedules import TrioWallClock

    return await arborist_schedules(
        load, wall_clock=TrioWallClock(datetime.now(UTC)), subscribed=subscribed
    )


async def unsubscribed_arborist(load: Load) -> Measure:
    """``_arborist`` with no ``ScheduleRunStarted`` subscriber: no event is built."""
    return await _arborist(load, subscribed=False)


@contextlib.contextmanager
def _runs_started_in(nursery: trio.Nursery) -> Iterator[None]:
    """While inside, every scheduler that starts puts its runs in ``nursery``, not its own."""
    from arborist.runtime.schedules._scheduler import Scheduler

    on_start = Scheduler.on_start

    def start_in_shared(self: Scheduler) -> None:
        self._nursery = nursery
        on_start(self)

    Scheduler.on_start = start_in_shared  # type: ignore[method-assign]
    try:
        yield
    finally:
        Scheduler.on_start = on_start  # type: ignore[method-assign]


async def shared_nursery_arborist(load: Load) -> Measure:
    """``_arborist`` with every schedule's runs in one nursery that they all share."""
    async with trio.open_nursery() as shared:
        with _runs_started_in(shared):
            measure = await _arborist(load)
        shared.cancel_scope.cancel()
    return measure


IMPLEMENTATIONS: dict[str, Callable[[Load], Awaitable[Measure]]] = {
    "grouped floor": grouped_floor,
    "grouped floor, a nursery per schedule": nursery_per_schedule_floor,
    "grouped floor, five objects per schedule": touching_floor,
    "grouped floor, five objects per schedule, 4 KiB apart": spread_touching_floor,
    "arborist ScheduleManager": _arborist,
    "arborist, no ScheduleRunStarted subscriber": unsubscribed_arborist,
    "arborist, every run in one shared nursery": shared_nursery_arborist,
}


def cpu_per_tick(fn: Callable[[Load], Awaitable[Measure]], schedules: int, ticks: int) -> float:
    """Run ``fn`` on an autojumping ``MockClock``; return its CPU seconds per tick run.

    What the process held before is collected and frozen for the run (see the module doc).
    """
    window = max(3, ticks // schedules)
    load = Load(f"{schedules} x 1 s", schedules, 1.0, window=window + 0.5)
    gc.collect()
    gc.freeze()
    try:
        measure = trio.run(fn, load, clock=trio.testing.MockClock(autojump_threshold=0))
    finally:
        gc.unfreeze()
    ran = len(measure.inside(load))
    if ran == 0:
        raise RuntimeError(f"no tick of {load.label} ran in the window")
    return measure.cpu / ran


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tick_scaling",
        description="W7's CPU per tick on trio's MockClock at several numbers of schedules.",
    )
    parser.add_argument("counts", nargs="*", type=int, default=[100, 1_000, 10_000])
    parser.add_argument("--repeats", type=int, default=3, help="alternating repetitions")
    parser.add_argument("--ticks", type=int, default=TICKS, help="ticks per repetition")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.repeats < 1 or any(count < 1 for count in args.counts):
        parser.error("counts and --repeats must be at least 1")
    for count in args.counts:
        times: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
        for _ in range(args.repeats):
            for name, fn in IMPLEMENTATIONS.items():
                times[name].append(cpu_per_tick(fn, count, args.ticks))
        medians = {name: statistics.median(values) for name, values in times.items()}
        floor = medians["grouped floor"]
        print(f"{count:,} schedules, CPU per tick (median of {args.repeats}):")
        for name, value in medians.items():
            print(f"  {name}: {value * 1e6:.2f} us ({value / floor:.2f}x the grouped floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

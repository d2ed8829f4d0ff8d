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
- arborist ScheduleManager: ``w7_timers.arborist_schedules`` with a wall clock that follows
  trio's (as ``benchmarks.opcodes w7`` runs it).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import trio
import trio.testing

from benchmarks.w7_timers import Load, Measure, arborist_schedules, grouped_floor

__all__ = ["IMPLEMENTATIONS", "cpu_per_tick", "main", "nursery_per_schedule_floor"]

TICKS = 60_000
"""Ticks per repetition (at least 3 periods, so the window's edges do not dominate)."""


async def nursery_per_schedule_floor(load: Load) -> Measure:
    """``grouped_floor``, with each schedule's jobs started in a nursery of its own."""
    return await grouped_floor(load, nursery_per_schedule=True)


async def _arborist(load: Load) -> Measure:
    from arborist.runtime.schedules import TrioWallClock

    return await arborist_schedules(load, wall_clock=TrioWallClock(datetime.now(UTC)))


IMPLEMENTATIONS: dict[str, Callable[[Load], Awaitable[Measure]]] = {
    "grouped floor": grouped_floor,
    "grouped floor, a nursery per schedule": nursery_per_schedule_floor,
    "arborist ScheduleManager": _arborist,
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

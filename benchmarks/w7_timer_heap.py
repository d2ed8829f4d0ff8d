"""W7 timer heap: the timer service alone, firing many repeating timers due at the same instants.

Every timer has an empty sync callback, so this measures the firing loop only (the heap, the
handles, the re-arming), none of the work a schedule's tick starts. ``W7`` (``w7_timers``)
measures whole ticks; this isolates the part the timer service owns.

Loads: ``10,000 on one grid`` (10,000 timers every 50 ms, all due together: a burst) and
``500 on one grid``; the 20 ticks after the first are measured, in CPU time per timer fired
(process time from the end of the first tick to the end of the last: the wake-ups count, the
idle waiting between ticks does not).

Implementations:
- trio floor, one entry per instant: one task with a heap of distinct due times and the
  timers due at each in a list (the grouping ``w7_timers``'s fastest floor does).
- trio floor, one entry per timer: the same task with a heap of ``(due, i)`` pairs, each
  replaced in place as it fires (``heapreplace``).
- arborist TimerService: ``call_every`` on the actor system's timer service (timers due at
  the same instant share one heap entry since 2026-12-07).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable

import attrs
import trio

from arborist.actors import open_actor_system
from benchmarks._harness import Row, alternate, repeats, rows

__all__ = ["run"]

GROUPED = "trio floor (heap of due times, one entry per instant)"
PER_TIMER = "trio floor (heap of (due, i), one entry per timer)"
ARBORIST = "arborist TimerService.call_every"
FLOORS = (GROUPED, PER_TIMER)
PERIOD = 0.05


@attrs.frozen
class Load:
    label: str
    timers: int
    ticks: int


FULL_LOADS = (Load("10,000 on one grid", 10_000, 20), Load("500 on one grid", 500, 20))
QUICK_LOADS = (Load("50 on one grid", 50, 2),)


def _nothing() -> None:
    pass


async def grouped_floor(load: Load) -> float:
    """CPU seconds per timer fired, one heap entry per due instant."""
    start = trio.current_time() + PERIOD
    due_at: dict[float, list[Callable[[], None]]] = {start: [_nothing] * load.timers}
    heap = [start]
    began = 0.0
    for tick in range(load.ticks + 1):
        await trio.sleep_until(heap[0])
        due = heapq.heappop(heap)
        following = start + (tick + 1) * PERIOD
        after = due_at[following] = []
        heapq.heappush(heap, following)
        for callback in due_at.pop(due):
            after.append(callback)
            callback()
        if not tick:  # the first tick warms up; the sleeps between the others count
            began = time.process_time()
    return (time.process_time() - began) / (load.ticks * load.timers)


async def per_timer_floor(load: Load) -> float:
    """CPU seconds per timer fired, one heap entry per timer."""
    start = trio.current_time() + PERIOD
    callbacks = [_nothing] * load.timers
    counts = [0] * load.timers
    heap = [(start, i) for i in range(load.timers)]
    began = 0.0
    for tick in range(load.ticks + 1):
        await trio.sleep_until(heap[0][0])
        now = trio.current_time()
        while heap[0][0] <= now:
            i = heap[0][1]
            counts[i] = count = counts[i] + 1
            heapq.heapreplace(heap, (start + count * PERIOD, i))
            callbacks[i]()
        if not tick:
            began = time.process_time()
    return (time.process_time() - began) / (load.ticks * load.timers)


async def arborist_timers(load: Load) -> float:
    """CPU seconds per timer fired by the actor system's timer service."""
    async with open_actor_system() as system:
        timers = system._timers
        start = trio.current_time() + PERIOD
        handles = [timers.call_every(start, 0, PERIOD, _nothing) for _ in range(load.timers)]
        await trio.sleep_until(start + PERIOD / 2)  # the first tick warms up
        began = time.process_time()
        await trio.sleep_until(start + (load.ticks + 0.5) * PERIOD)
        cpu = time.process_time() - began
        for handle in handles:
            handle.cancel()
    return cpu / (load.ticks * load.timers)


def run(quick: bool) -> list[Row]:
    table: list[Row] = []
    for load in QUICK_LOADS if quick else FULL_LOADS:
        samples = alternate(
            {
                GROUPED: lambda load=load: trio.run(grouped_floor, load),
                PER_TIMER: lambda load=load: trio.run(per_timer_floor, load),
                ARBORIST: lambda load=load: trio.run(arborist_timers, load),
            },
            repeats(quick),
            warmup=not quick,
        )
        table += rows(
            f"W7 timer heap {load.label}, CPU per timer fired",
            samples,
            unit="us",
            floor=FLOORS,
            scale=1e6,
        )
    return table


if __name__ == "__main__":
    from benchmarks._harness import format_tables

    print(format_tables(run(quick=False)))

"""W5 fire and forget: N short jobs started one after another, until all have completed.

A job is ``async def job(): await trio.lowlevel.checkpoint()`` (one scheduling round), or its
asyncio / pykka equivalent. Each repetition times from the first start to the moment every
job has completed; creating the supervisor (or scheduler) is not timed.

Implementations:
- trio floor: ``nursery.start_soon(job)`` N times; timed until the nursery exits.
- arborist start_child: ``TaskSupervisor.start_child(job)`` N times, then ``aclose()`` (which
  waits for the running jobs, then stops the supervisor actor).
- arborist start_task: ``start_task(job)`` N times, then ``await`` every handle (fan-in).
- asyncio TaskGroup: ``tg.create_task(job())`` N times (asyncio's floor, for reference).
- aiojobs Scheduler: ``await scheduler.spawn(job())`` N times (no limit), then
  ``wait_and_close()``.
- pykka ThreadingActor: one actor per job (start, one message, the actor stops itself), with
  ``PYKKA_N`` jobs, scaled per job.

Targets (issue #13): start_child within 1.3x of the floor, and faster than aiojobs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
import trio

from arborist.supervision import open_task_supervisor
from benchmarks._harness import Row, Target, alternate, optional_import, repeats, rows, timed_trio

__all__ = ["run"]

N = 20_000
QUICK_N = 200
PYKKA_N = 2_000
QUICK_PYKKA_N = 20

FLOOR = "trio floor (nursery.start_soon)"
CHILD = "arborist start_child"
TASK = "arborist start_task"
ASYNCIO = "asyncio TaskGroup"
AIOJOBS = "aiojobs Scheduler"
PYKKA = "pykka ThreadingActor"


async def job() -> None:
    await trio.lowlevel.checkpoint()


async def trio_floor(n: int) -> float:
    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(n):
            nursery.start_soon(job)
    return time.perf_counter() - started


async def arborist_start_child(n: int) -> float:
    async with open_task_supervisor() as tasks:
        started = time.perf_counter()
        start_child = tasks.start_child
        for _ in range(n):
            start_child(job)
        await tasks.aclose()
        return time.perf_counter() - started


async def arborist_start_task(n: int) -> float:
    async with open_task_supervisor() as tasks:
        started = time.perf_counter()
        start_task = tasks.start_task
        handles = [start_task(job) for _ in range(n)]
        for handle in handles:
            await handle
        return time.perf_counter() - started


async def asyncio_job() -> None:
    await asyncio.sleep(0)


async def asyncio_taskgroup(n: int) -> float:
    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(n):
            group.create_task(asyncio_job())
    return time.perf_counter() - started


async def aiojobs_scheduler(aiojobs: Any, n: int) -> float:
    scheduler = aiojobs.Scheduler(limit=None, pending_limit=n, close_timeout=None)
    started = time.perf_counter()
    for _ in range(n):
        await scheduler.spawn(asyncio_job())
    await scheduler.wait_and_close()
    return time.perf_counter() - started


def pykka_actors(pykka: Any, n: int) -> float:
    class JobActor(pykka.ThreadingActor):  # type: ignore[misc,name-defined]
        def __init__(self, done: Callable[[], None]) -> None:
            super().__init__()
            self.done = done

        def on_receive(self, message: Any) -> None:
            self.stop()

        def on_stop(self) -> None:
            self.done()

    lock = threading.Lock()
    finished = threading.Event()
    count = 0

    def done() -> None:
        nonlocal count
        with lock:
            count += 1
            if count == n:
                finished.set()

    started = time.perf_counter()
    for _ in range(n):
        JobActor.start(done).tell("run")
    finished.wait()
    return time.perf_counter() - started


def run(quick: bool) -> list[Row]:
    n = QUICK_N if quick else N
    pykka_n = QUICK_PYKKA_N if quick else PYKKA_N
    impls: dict[str, Callable[[], float]] = {
        FLOOR: lambda: timed_trio(trio_floor, n),
        CHILD: lambda: timed_trio(arborist_start_child, n),
        TASK: lambda: timed_trio(arborist_start_task, n),
        ASYNCIO: lambda: asyncio.run(asyncio_taskgroup(n)),
    }
    counts: dict[str, float] = dict.fromkeys(impls, n)
    notes: dict[str, str] = {}
    aiojobs = optional_import("aiojobs")
    if aiojobs is not None:
        impls[AIOJOBS] = lambda: asyncio.run(aiojobs_scheduler(aiojobs, n))
        counts[AIOJOBS] = n
    pykka = optional_import("pykka")
    if pykka is not None:
        impls[PYKKA] = lambda: pykka_actors(pykka, pykka_n)
        counts[PYKKA] = pykka_n
        notes[PYKKA] = f"{pykka_n:,} jobs (an actor each), scaled per job"
    samples = alternate(impls, repeats(quick))
    table = rows(
        f"W5 fire and forget {n:,}",
        samples,
        unit="us/job",
        floor=FLOOR,
        per=counts,
        scale=1e6,
        notes=notes,
        targets={CHILD: [Target(1.3), Target(1.0, of=AIOJOBS)]},
    )
    return [_with_rate(row) for row in table]


def _with_rate(row: Row) -> Row:
    rate = f"{1e6 / row.median:,.0f} jobs/s"
    return attrs.evolve(row, note=f"{rate}; {row.note}" if row.note else rate)


if __name__ == "__main__":
    from benchmarks._harness import format_tables

    print(format_tables(run(quick=False)))

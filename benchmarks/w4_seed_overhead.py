"""W4 seed overhead: the seed workflow on the real clock, and the same sleeps by concurrency.

Part 1, the seed case (seed 000): three async fetches sleeping 200, 150 and 300 ms, then a
plain ``def aggregate(profile, preferences, activity)`` (blocking work: a worker thread).
Reported value: the run's wall time minus its ideal, in milliseconds:

- concurrent: minus 300 ms (the critical path);
- sequential (``concurrent=False`` for arborist, awaited one after another for the others):
  minus 650 ms.

Implementations: trio floor (a nursery for the three fetches, then ``trio.to_thread.run_sync``
for the aggregate; sequential: awaited in a row); arborist (``rt.run(wf, ...)`` on an open
``Runtime``, plan cached); asyncio (``asyncio.gather`` + ``asyncio.to_thread``). Target:
arborist's median overhead at most 5 ms in each mode.

Part 2, seed 001's benchmark by concurrency level: 100 independent async steps sleeping 10 ms
each, at max_concurrency 1, 5, 10 and 20. Reported value: total wall time (ms); the note gives
the ratio to the ideal ``100 x 10 ms / concurrency``. Implementations: trio floor (100 tasks
sharing a ``trio.CapacityLimiter``), arborist (``rt.run(wf, max_concurrency=c)``), asyncio
(100 tasks sharing an ``asyncio.Semaphore``).

Every sleep is real, so these are the slowest benchmarks (about a minute in full). Quick mode
scales every sleep down 100x and runs only concurrency 5.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
from collections.abc import Callable, Mapping, Sequence

import trio

from arborist.runtime import Runtime, Workflow, value
from benchmarks._harness import Row, Target, alternate, repeats, rows, timed_trio

__all__ = ["run", "seed_workflow", "sleeps_workflow"]

FLOOR = "trio floor"
ARBORIST = "arborist rt.run"
ASYNCIO = "asyncio"

FETCHES = (0.200, 0.150, 0.300)
"""Seconds slept by fetch_profile, fetch_preferences and fetch_activity (seed 000)."""

CONCURRENCY = (1, 5, 10, 20)
SLEEP_STEPS = 100
SLEEP = 0.010


def _aggregate(profile: int, preferences: int, activity: int) -> int:
    return profile + preferences + activity


# -- part 1: the seed case ---------------------------------------------------------------------


def seed_workflow(scale: float = 1.0) -> Workflow:
    """The seed's user-data workflow with its sleeps multiplied by ``scale``."""
    wf = Workflow("user_data", inputs=["user_id"])
    profile_s, preferences_s, activity_s = (s * scale for s in FETCHES)

    @wf.step
    async def fetch_profile(user_id: int) -> int:
        await trio.sleep(profile_s)
        return user_id

    @wf.step
    async def fetch_preferences(user_id: int) -> int:
        await trio.sleep(preferences_s)
        return user_id

    @wf.step
    async def fetch_activity(user_id: int) -> int:
        await trio.sleep(activity_s)
        return user_id

    @wf.step
    def aggregate(fetch_profile: int, fetch_preferences: int, fetch_activity: int) -> int:
        return _aggregate(fetch_profile, fetch_preferences, fetch_activity)

    wf.returns("aggregate")
    wf.plan()
    return wf


async def seed_arborist(wf: Workflow, concurrent: bool) -> float:
    async with Runtime() as rt:
        started = time.perf_counter()
        await rt.run(wf, user_id=123, concurrent=concurrent)
        return time.perf_counter() - started


async def seed_trio(scale: float, concurrent: bool) -> float:
    values: list[int] = [0, 0, 0]

    async def fetch(i: int) -> None:
        await trio.sleep(FETCHES[i] * scale)
        values[i] = 123

    started = time.perf_counter()
    if concurrent:
        async with trio.open_nursery() as nursery:
            for i in range(3):
                nursery.start_soon(fetch, i)
    else:
        for i in range(3):
            await fetch(i)
    await trio.to_thread.run_sync(_aggregate, *values)
    return time.perf_counter() - started


async def _seed_asyncio(scale: float, concurrent: bool) -> float:
    async def fetch(i: int) -> int:
        await asyncio.sleep(FETCHES[i] * scale)
        return 123

    started = time.perf_counter()
    if concurrent:
        values = await asyncio.gather(*(fetch(i) for i in range(3)))
    else:
        values = [await fetch(i) for i in range(3)]
    await asyncio.to_thread(_aggregate, *values)
    return time.perf_counter() - started


def seed_asyncio(scale: float, concurrent: bool) -> float:
    return asyncio.run(_seed_asyncio(scale, concurrent))


def _above_floor(totals: Mapping[str, Sequence[float]], name: str) -> str:
    """The median of (implementation - floor) over paired repetitions, in ms.

    Repetitions alternate, so repetition i of every implementation ran back to back: the
    paired difference cancels most of the machine's own timer wake-up latency, which the
    floor pays too.
    """
    if name == FLOOR:
        return ""
    diffs = [a - b for a, b in zip(totals[name], totals[FLOOR], strict=True)]
    return f"; {statistics.median(diffs) * 1e3:+.2f} ms vs floor (paired)"


def _seed_rows(quick: bool) -> list[Row]:
    scale = 0.01 if quick else 1.0
    table: list[Row] = []
    for concurrent in (True, False):
        ideal = (max(FETCHES) if concurrent else sum(FETCHES)) * scale
        wf = seed_workflow(scale)
        impls: dict[str, Callable[[], float]] = {
            FLOOR: functools.partial(timed_trio, seed_trio, scale, concurrent),
            ARBORIST: functools.partial(timed_trio, seed_arborist, wf, concurrent),
            ASYNCIO: functools.partial(seed_asyncio, scale, concurrent),
        }
        totals = alternate(impls, repeats(quick))
        # The overhead beyond the ideal; never exactly 0 on a real clock, floored for the ratio.
        samples = {name: [max(v - ideal, 1e-9) for v in values] for name, values in totals.items()}
        mode = "concurrent" if concurrent else "sequential"
        ideal_ms = ideal * 1e3
        table.extend(
            rows(
                f"W4 seed {mode} (overhead beyond {ideal_ms:g} ms)",
                samples,
                unit="ms",
                floor=FLOOR,
                scale=1e3,
                targets={ARBORIST: [Target(5.0, absolute=True)]},
                notes={
                    name: f"total {statistics.median(values) * 1e3 + ideal_ms:.1f} ms"
                    + _above_floor(totals, name)
                    + ("; sleeps scaled 1/100 (quick)" if quick else "")
                    for name, values in samples.items()
                },
            )
        )
    return table


# -- part 2: 100 sleeps by concurrency ---------------------------------------------------------


async def _sleep_step(delay: float) -> None:
    await trio.sleep(delay)


def sleeps_workflow(n: int, delay: float) -> Workflow:
    """``n`` independent steps, each sleeping ``delay`` seconds."""
    wf = Workflow("sleeps")
    for i in range(n):
        wf.step(_sleep_step, name=f"s{i}", args={"delay": value(delay)})
    wf.plan()
    return wf


async def sleeps_arborist(wf: Workflow, concurrency: int) -> float:
    async with Runtime() as rt:
        started = time.perf_counter()
        await rt.run(wf, max_concurrency=concurrency)
        return time.perf_counter() - started


async def sleeps_trio(n: int, delay: float, concurrency: int) -> float:
    limiter = trio.CapacityLimiter(concurrency)

    async def step() -> None:
        async with limiter:
            await trio.sleep(delay)

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(n):
            nursery.start_soon(step)
    return time.perf_counter() - started


async def _sleeps_asyncio(n: int, delay: float, concurrency: int) -> float:
    semaphore = asyncio.Semaphore(concurrency)

    async def step() -> None:
        async with semaphore:
            await asyncio.sleep(delay)

    started = time.perf_counter()
    await asyncio.gather(*(step() for _ in range(n)))
    return time.perf_counter() - started


def sleeps_asyncio(n: int, delay: float, concurrency: int) -> float:
    return asyncio.run(_sleeps_asyncio(n, delay, concurrency))


def _ideal_notes(
    samples: Mapping[str, Sequence[float]], ideal: float, extra: str
) -> dict[str, str]:
    return {
        name: f"{statistics.median(values) / ideal:.3f}x ideal ({ideal * 1e3:g} ms){extra}"
        for name, values in samples.items()
    }


def _sleeps_rows(quick: bool) -> list[Row]:
    n = 20 if quick else SLEEP_STEPS
    delay = SLEEP / 10 if quick else SLEEP
    levels = (5,) if quick else CONCURRENCY
    wf = sleeps_workflow(n, delay)
    table: list[Row] = []
    for c in levels:
        impls: dict[str, Callable[[], float]] = {
            FLOOR: functools.partial(timed_trio, sleeps_trio, n, delay, c),
            ARBORIST: functools.partial(timed_trio, sleeps_arborist, wf, c),
            ASYNCIO: functools.partial(sleeps_asyncio, n, delay, c),
        }
        samples = alternate(impls, repeats(quick))
        ideal = n * delay / c
        table.extend(
            rows(
                f"W4 {n} x {delay * 1e3:g} ms sleeps, max_concurrency {c}",
                samples,
                unit="ms",
                floor=FLOOR,
                scale=1e3,
                notes=_ideal_notes(samples, ideal, " (quick)" if quick else ""),
            )
        )
    return table


def run(quick: bool) -> list[Row]:
    return _seed_rows(quick) + _sleeps_rows(quick)

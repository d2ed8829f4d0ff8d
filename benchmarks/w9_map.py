"""W9 map steps: throughput of no-op elements by batch size, and memory flat in N.

Throughput (``W9 map 100k, batch_size B`` for B = 10, 100, 1,000): N no-op async elements,
timed from the start of the run (or loop) to its end, per element:

- trio floor: a nursery and a ``CapacityLimiter(B)``, one task per element; the loop takes a
  slot (``acquire_on_behalf_of``) before starting each task, which gives it back when done.
- arborist map: ``@wf.map(over="records", batch_size=B, reduce=count, initial=0)`` over
  ``range(N)``, in one ``rt.run`` (the runtime is opened before timing; ``reduce`` keeps the
  output O(1), as the floor keeps nothing).
- dask delayed (threads): one ``dask.delayed`` no-op sync task per element, computed with the
  threaded scheduler (``num_workers=min(B, 32)``); N scaled down to 2,000 (at ~2.5 ms per
  task, 100k would take minutes per repetition) and reported per element.
- dask bag (threads): ``from_sequence(range(N), partition_size=B).map(noop).count()`` with the
  threaded scheduler: a partition is dask's batch, whose elements run one after another in
  one thread (no task per element): a reference for batching without per-element tasks.

Memory (each measurement in a fresh interpreter, ``--child``; in-process when quick): a map of
N no-op elements at batch_size 100, N = 100k vs 1M:

- ``W9 map peak RSS growth``: resident set sampled every 10 ms during the run, peak minus the
  RSS before it (5 repetitions; resolution one page). The ratio 1M / 100k shows whether
  memory grows with N.
- ``W9 map tracemalloc peak``: ``tracemalloc`` peak during the run minus the traced memory
  before it. tracemalloc makes the map ~10x slower (1M elements: about two minutes), so this
  workload runs ONE repetition (the traced peak is deterministic to a few KiB).

Every memory row's note gives ``map_statistics.peak_materialised`` (never above batch_size).
A full run takes about 8 minutes on a 2-core machine (the 1M-element maps dominate).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import trio

from benchmarks._harness import Row, alternate, optional_import, repeats, rows, timed_trio

__all__ = ["run"]

N = 100_000
QUICK_N = 300
DASK_N = 2_000
QUICK_DASK_N = 100
BATCH_SIZES = (10, 100, 1_000)
QUICK_BATCH_SIZES = (10,)
MEMORY_SIZES = (100_000, 1_000_000)
QUICK_MEMORY_SIZES = (300, 1_000)
MEMORY_BATCH = 100

FLOOR = "trio floor (nursery + CapacityLimiter)"
MAP = "arborist map"
DASK_DELAYED = "dask delayed (threads)"
DASK_BAG = "dask bag (threads)"


async def noop(x: int) -> None:
    return None


def noop_sync(x: int) -> None:
    return None


async def _floor_element(x: int, limiter: trio.CapacityLimiter) -> None:
    try:
        await noop(x)
    finally:
        limiter.release_on_behalf_of(x)


async def trio_floor(n: int, batch_size: int) -> float:
    limiter = trio.CapacityLimiter(batch_size)
    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for x in range(n):
            await limiter.acquire_on_behalf_of(x)
            nursery.start_soon(_floor_element, x, limiter)
    return time.perf_counter() - started


def map_workflow(batch_size: int) -> Any:
    from arborist.runtime import Workflow

    wf = Workflow(f"w9_map_{batch_size}", inputs=["records"])

    @wf.map(over="records", batch_size=batch_size, reduce=lambda acc, _: acc + 1, initial=0)
    async def each(x: int) -> None:
        return None

    wf.returns("each")
    return wf


async def arborist_map(n: int, batch_size: int) -> float:
    from arborist.runtime import Runtime

    wf = map_workflow(batch_size)
    async with Runtime() as rt:
        started = time.perf_counter()
        count = await rt.run(wf, records=range(n))
        elapsed = time.perf_counter() - started
    if count != n:
        raise RuntimeError(f"the map counted {count} elements, expected {n}")
    return elapsed


def dask_delayed(dask: Any, n: int, batch_size: int) -> float:
    started = time.perf_counter()
    tasks = [dask.delayed(noop_sync)(x) for x in range(n)]
    dask.compute(*tasks, scheduler="threads", num_workers=min(batch_size, 32))
    return time.perf_counter() - started


def dask_bag(bag: Any, n: int, batch_size: int) -> float:
    started = time.perf_counter()
    count = (
        bag.from_sequence(range(n), partition_size=batch_size)
        .map(noop_sync)
        .count()
        .compute(scheduler="threads")
    )
    elapsed = time.perf_counter() - started
    if count != n:
        raise RuntimeError(f"dask counted {count} elements, expected {n}")
    return elapsed


def throughput(quick: bool) -> list[Row]:
    n = QUICK_N if quick else N
    dask_n = QUICK_DASK_N if quick else DASK_N
    dask = optional_import("dask")
    bag = optional_import("dask.bag")
    table: list[Row] = []
    for batch_size in QUICK_BATCH_SIZES if quick else BATCH_SIZES:
        implementations: dict[str, Callable[[], float]] = {
            FLOOR: functools.partial(timed_trio, trio_floor, n, batch_size),
            MAP: functools.partial(timed_trio, arborist_map, n, batch_size),
        }
        per: dict[str, float] = {FLOOR: n, MAP: n}
        notes: dict[str, str] = {}
        if dask is not None:
            implementations[DASK_DELAYED] = functools.partial(
                dask_delayed, dask, dask_n, batch_size
            )
            per[DASK_DELAYED] = dask_n
            notes[DASK_DELAYED] = (
                f"{dask_n:,} tasks, num_workers={min(batch_size, 32)}, scaled per element"
            )
        if bag is not None:
            implementations[DASK_BAG] = functools.partial(dask_bag, bag, n, batch_size)
            per[DASK_BAG] = n
            notes[DASK_BAG] = f"partitions of {batch_size}, no task per element"
        samples = alternate(implementations, repeats(quick))
        table += rows(
            f"W9 map {n:,}, batch_size {batch_size:,}",
            samples,
            unit="us/element",
            floor=FLOOR,
            per=per,
            scale=1e6,
            notes=notes,
        )
    return table


# -- memory, in fresh interpreters -------------------------------------------------------------


def rss_bytes() -> int:
    """This process's resident set size in bytes."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _memory_run(mode: str, n: int) -> dict[str, float]:
    from arborist.runtime import Runtime

    wf = map_workflow(MEMORY_BATCH)
    async with Runtime() as rt:
        await rt.run(wf, records=range(2_000))  # warm: imports, first-use caches
        peak_rss = before = rss_bytes()
        done = trio.Event()

        async def sample_rss() -> None:
            nonlocal peak_rss
            while not done.is_set():
                peak_rss = max(peak_rss, rss_bytes())
                await trio.sleep(0.01)

        if mode == "traced":
            tracemalloc.start()
            traced_before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            if mode == "rss":
                nursery.start_soon(sample_rss)
            count = await rt.run(wf, records=range(n))
            done.set()
        seconds = time.perf_counter() - started
        if mode == "traced":
            peak = tracemalloc.get_traced_memory()[1] - traced_before
            tracemalloc.stop()
        else:  # RSS moves in pages: a growth below one page is reported as one page
            peak = max(max(peak_rss, rss_bytes()) - before, os.sysconf("SC_PAGE_SIZE"))
    if count != n:
        raise RuntimeError(f"the map counted {count} elements, expected {n}")
    stats = wf.steps["each"].map_statistics
    return {"peak": float(peak), "materialised": stats.peak_materialised, "seconds": seconds}


def child(args: list[str]) -> None:
    """``--child rss|traced N``: print one JSON line with the peak bytes and the map's peak."""
    mode, n = args[0], int(args[1])
    if mode not in ("rss", "traced"):
        raise SystemExit(f"unknown memory mode {mode!r}; use rss or traced")
    result = trio.run(_memory_run, mode, n)
    print(json.dumps(result), flush=True)


def _label(n: int) -> str:
    if n >= 1_000_000:
        return f"{MAP} N={n // 1_000_000}M"
    return f"{MAP} N={n // 1_000}k" if n >= 1_000 else f"{MAP} N={n}"


def memory_rows(quick: bool, mode: str) -> list[Row]:
    """One memory workload (``rss`` or ``traced``): N = 100k vs 1M, each in a fresh child."""
    from benchmarks._harness import run_child

    sizes = QUICK_MEMORY_SIZES if quick else MEMORY_SIZES
    materialised: dict[str, int] = {}
    seconds: dict[str, float] = {}

    def one(n: int) -> Callable[[], float]:
        def measure_once() -> float:
            if quick:  # the smoke test: same code, in this process, no interpreter start-up
                payload = trio.run(_memory_run, mode, n)
            else:
                payload = run_child("w9_map", mode, str(n), timeout=900.0)
            label = _label(n)
            materialised[label] = max(materialised.get(label, 0), int(payload["materialised"]))
            seconds[label] = float(payload["seconds"])
            return float(payload["peak"])

        return measure_once

    traced = mode == "traced"
    reps = 1 if traced else repeats(quick)
    samples = alternate({_label(n): one(n) for n in sizes}, reps, warmup=False)
    notes = {
        label: f"peak materialised {materialised[label]} (batch_size {MEMORY_BATCH}); "
        f"run {seconds[label]:.1f} s"
        + ("; 1 repetition (tracemalloc is slow)" if traced and not quick else "")
        for label in samples
    }
    what = "tracemalloc peak" if traced else "peak RSS growth"
    return rows(
        f"W9 map {what}, batch_size {MEMORY_BATCH}",
        samples,
        unit="KiB",
        floor=_label(sizes[0]),
        scale=1 / 1024,
        notes=notes,
    )


def run(quick: bool) -> list[Row]:
    return [*throughput(quick), *memory_rows(quick, "rss"), *memory_rows(quick, "traced")]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        raise SystemExit(
            "usage: python -m benchmarks.w9_map --child rss|traced N (or python -m benchmarks w9)"
        )

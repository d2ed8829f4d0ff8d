"""W12's jobs section (W5, durable): fire-and-forget jobs in memory vs journaled to a store.

One repetition = ``n`` jobs of a trivial ``async def`` fired at once on an open runtime (a
fresh store each time), timed from the first ``rt.fire_and_forget`` until the last job has
ended (its ``TaskFinished`` event: for a durable job, after its ``done`` row committed). A
durable job costs two writes (its row, inserted ``running``, and ``done``), group-committed
with the other jobs' writes by the store's writer thread. Implementations: in memory (the floor),
``durable=True`` on SQLite normal and power, and on PostgreSQL when a cluster is given.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from arborist.runtime import Runtime
from arborist.runtime.store import PostgresStore, SQLiteStore, Store
from arborist.supervision import TaskFailed, TaskFinished
from benchmarks._harness import Row, alternate, repeats, rows, timed_trio

__all__ = ["job_rows"]

JOBS = 20_000


async def noop_job(index: int) -> None:
    """The job measured: nothing, so the row is the runtime's own cost."""


async def _fire(store: Store | None, n: int) -> float:
    async with Runtime(store=store) as rt:
        ended = 0
        failed: list[BaseException] = []
        done = trio.Event()

        def on(event: Any) -> None:
            nonlocal ended
            ended += 1
            if isinstance(event, TaskFailed):
                failed.append(event.exc)
            if ended == n:
                done.set()

        rt.subscribe(on, only=(TaskFinished, TaskFailed))
        durable = store is not None
        started = time.perf_counter()
        for index in range(n):
            rt.fire_and_forget(noop_job, index, durable=durable)
        await done.wait()
        elapsed = time.perf_counter() - started
        if failed:
            raise RuntimeError(f"{len(failed)} benchmark jobs failed: {failed[0]!r}")
        return elapsed


def _sqlite(durability: str, n: int) -> Callable[[], float]:
    def once() -> float:
        folder = Path(tempfile.mkdtemp(prefix="w12j-"))
        try:
            store = SQLiteStore(folder / "s.db", durability)  # type: ignore[arg-type]
            return timed_trio(_fire, store, n)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return once


def job_rows(
    quick: bool,
    names: tuple[str, str, str, str],
    postgres: Callable[[], tuple[str, Callable[[], None]]] | None,
) -> list[Row]:
    """The W5-durable rows; ``names`` = (memory, SQLite normal, power, PostgreSQL) labels.

    ``postgres()`` gives a fresh store URL and the function dropping it (None: no row).
    """
    n = 50 if quick else JOBS
    memory, normal, power, pg = names
    impls: dict[str, Callable[[], float]] = {
        memory: lambda: timed_trio(_fire, None, n),
        normal: _sqlite("normal", n),
        power: _sqlite("power", n),
    }
    if postgres is not None:
        make = postgres

        def on_postgres() -> float:
            url, drop = make()
            try:
                return timed_trio(_fire, PostgresStore(url), n)
            finally:
                drop()

        impls[pg] = on_postgres
    samples = alternate(impls, repeats(quick), warmup=not quick)
    return rows(
        f"W12 durable jobs (W5) {n:,}",
        samples,
        unit="us/job",
        per=n,
        scale=1e6,
        floor=memory,
        notes={memory: f"{n:,} fire-and-forget jobs at once; durable=True on the stores"},
    )

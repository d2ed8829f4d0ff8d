"""W12 durable runs end to end (issue #11): a workflow journaled to a store vs in memory, and
DBOS Transact on the same workflow and the same kind of store; recovery of 10,000 runs.

Workloads (one repetition = a fresh store, one warm-up run of the workflow, then one run timed
from ``rt.run`` to its result: the steady per-step cost of a service, not the store's first
pages and statements; the runtime is open and the plan built before the clock starts; DBOS
gets the same warm-up run):

- chain N: W3's chain (each step takes the previous step's result), so every step pays one
  commit-and-wait before its dependent may start (the output-commit rule).
- wide N: W3's wide shape (N independent steps, then a join that waits for them all): the
  results of steps finishing together share commits (group commit).
- jobs (W5, durable fire-and-forget): 20,000 jobs fired at once, in memory vs
  ``durable=True``, until the last one's ``done`` row committed (``_w12_jobs``).
- recovery: 10,000 unfinished runs of a 3-step workflow (step 1 committed, step 2 cut) in the
  store; the time ``async with Runtime(store=..., workflows=[wf])`` takes to reap, claim,
  load, rebuild and start them all, and until all 10,000 have finished.

Implementations: arborist in memory (the floor), arborist with ``SQLiteStore`` durability
"normal" (WAL, synchronous=NORMAL: durable against a process crash) and "power" (FULL: also
against power loss), with ``PostgresStore`` (a throwaway PostgreSQL 15 over its Unix socket,
fsync on), and DBOS Transact 3.x (its public API: ``@DBOS.workflow`` calling ``@DBOS.step``
functions; wide = an async workflow gathering async steps) on SQLite (its own settings) and on
the same PostgreSQL. DBOS runs in a child process per repetition (it is a process-wide
singleton). Rows are skipped when PostgreSQL, psycopg or dbos is missing, and in ``--quick``.

Targets (issue #11): a durable chain step <= 100 us on SQLite normal; a wide fan-out within
2x of in memory; ahead of DBOS on the same workflow and store.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from arborist.runtime import Runtime, Workflow
from arborist.runtime.store import PostgresStore, SQLiteStore, Store, open_store
from arborist.runtime.workflow._shape import plan_hash, plan_shape
from benchmarks._harness import (
    Row,
    Target,
    alternate,
    optional_import,
    repeats,
    rows,
    run_child,
    timed_trio,
)
from benchmarks._postgres import temporary_cluster
from benchmarks._w12_jobs import job_rows
from benchmarks.w3_dispatch import build_workflow, chain, wide

__all__ = ["run"]

MEMORY = "arborist in memory"
NORMAL = "arborist SQLite normal"
POWER = "arborist SQLite power"
POSTGRES = "arborist PostgreSQL"
DBOS_SQLITE = "DBOS SQLite"
DBOS_POSTGRES = "DBOS PostgreSQL"
RECOVERY_RUNS = 10_000


def _sizes(quick: bool) -> tuple[int, int]:
    return (10, 20) if quick else (200, 500)


async def _arborist(store: Store | None, wf: Workflow) -> float:
    wf.plan()
    async with Runtime(store=store) as rt:
        await rt.run(wf)  # warm-up: the store's first pages and prepared statements
        started = time.perf_counter()
        await rt.run(wf)
        return time.perf_counter() - started


def _sqlite(durability: str, wf: Workflow) -> Callable[[], float]:
    def once() -> float:
        folder = Path(tempfile.mkdtemp(prefix="w12d-"))
        try:
            store = SQLiteStore(folder / "s.db", durability)  # type: ignore[arg-type]
            return timed_trio(_arborist, store, wf)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return once


class _Schemas:
    """Fresh PostgreSQL schemas on a throwaway cluster, dropped after each use."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.psycopg = optional_import("psycopg")

    def url(self, schema: str) -> str:
        return str(self.cluster.conninfo(search_path=schema))

    def make(self) -> str:
        schema = f"w12_{uuid.uuid4().hex[:10]}"
        with self.psycopg.connect(self.cluster.conninfo(), autocommit=True) as conn:  # type: ignore[union-attr]
            conn.execute(f"CREATE SCHEMA {schema}")
        return schema

    def drop(self, schema: str) -> None:
        with self.psycopg.connect(self.cluster.conninfo(), autocommit=True) as conn:  # type: ignore[union-attr]
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _postgres(schemas: _Schemas, wf: Workflow) -> Callable[[], float]:
    def once() -> float:
        schema = schemas.make()
        try:
            return timed_trio(_arborist, PostgresStore(schemas.url(schema)), wf)
        finally:
            schemas.drop(schema)

    return once


def _dbos(shape: str, n: int, where: str, schemas: _Schemas | None) -> Callable[[], float]:
    def once() -> float:
        folder = Path(tempfile.mkdtemp(prefix="w12dbos-"))
        schema = None
        try:
            if where == "sqlite":
                url = f"sqlite:///{folder / 'dbos.db'}"
            else:
                assert schemas is not None
                schema = schemas.make()
                url = _dbos_pg_url(schemas, schema)
            return float(run_child("w12_durable", shape, str(n), url, schema or "")["seconds"])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            if schema is not None and schemas is not None:
                schemas.drop(schema)

    return once


def _dbos_pg_url(schemas: _Schemas, schema: str) -> str:
    cluster = schemas.cluster
    return f"postgresql+psycopg://{cluster.user}@/postgres?host={cluster.socket_dir}"


def _dbos_child(shape: str, n: int, url: str, schema: str) -> None:
    """In a child process: one DBOS run of ``shape``; print {"seconds": ...}."""
    import asyncio

    from dbos import DBOS

    config: dict[str, Any] = {"name": "w12", "system_database_url": url, "log_level": "ERROR"}
    if schema:
        config["dbos_system_schema"] = schema
    DBOS(config=config)  # type: ignore[arg-type]

    @DBOS.step()
    def first() -> int:
        return 1

    @DBOS.step()
    def after(a: int) -> int:
        return a

    @DBOS.workflow()
    def dbos_chain(count: int) -> int:
        value = first()
        for _ in range(count - 1):
            value = after(value)
        return value

    @DBOS.step()
    async def leaf() -> int:
        return 1

    @DBOS.workflow()
    async def dbos_wide(count: int) -> int:
        return sum(await asyncio.gather(*(leaf() for _ in range(count))))

    def once() -> None:
        if shape == "chain":
            dbos_chain(n)
        else:
            asyncio.run(dbos_wide(n))

    DBOS.launch()
    try:
        once()  # warm-up, as for arborist
        started = time.perf_counter()
        once()
        elapsed = time.perf_counter() - started
    finally:
        DBOS.destroy()
    print(json.dumps({"seconds": elapsed}))


# -- recovery ----------------------------------------------------------------------------------


def _recovery_workflow() -> Workflow:
    wf = Workflow("recovered")

    @wf.step
    async def load() -> int:
        return 1

    @wf.step
    async def work(load: int) -> int:
        return load + 1

    @wf.step
    async def save(work: int) -> int:
        return work

    wf.returns("save")
    return wf


async def _unfinished(store: Store, wf: Workflow, count: int) -> None:
    """``count`` runs cut in ``work``: ``load`` committed, ``work`` started (a dead owner's)."""
    plan = wf.plan()
    options = {"max_concurrency": None, "concurrent": True, "pool": None, "plan": plan_shape(plan)}
    async with open_store(store):

        async def one() -> None:
            created = await store.create_run(
                wf.name, plan_hash=plan_hash(plan), inputs={}, options=options
            )
            recorder = store.recorder(created.run)
            recorder.step_started("load", 1)
            recorder.step_ok("load", 1, 1)
            recorder.step_started("work", 1)

        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(one)
        await store.flush()


async def _recover(store: Store, wf: Workflow, count: int) -> tuple[float, float]:
    started = time.perf_counter()
    async with Runtime(store=store, workflows=[wf]) as rt:
        entered = time.perf_counter() - started
        report = rt.recovery_report
        assert report is not None
        assert len(report.recovered) == count, report
        for run_id in report.recovered:
            await (await rt.get_run(run_id)).result()
        return entered, time.perf_counter() - started


Stores = Callable[[], tuple[Store, Store, Callable[[], None]]]
"""Makes (a store to write the runs, a store to recover them, a cleanup)."""


def _recovery(make: Stores, count: int) -> dict[str, float]:
    wf = _recovery_workflow()
    writer, reader, cleanup = make()
    try:
        trio.run(_unfinished, writer, wf, count)
        entered, finished = trio.run(_recover, reader, wf, count)
    finally:
        cleanup()
    return {"entered": entered, "finished": finished}


def _recovery_rows(quick: bool, schemas: _Schemas | None) -> list[Row]:
    count = 20 if quick else RECOVERY_RUNS

    def sqlite() -> tuple[Store, Store, Callable[[], None]]:
        folder = Path(tempfile.mkdtemp(prefix="w12r-"))
        return (
            SQLiteStore(folder / "s.db"),
            SQLiteStore(folder / "s.db"),
            lambda: shutil.rmtree(folder, ignore_errors=True),
        )

    makers: dict[str, Stores] = {NORMAL: sqlite}
    if schemas is not None:

        def postgres() -> tuple[Store, Store, Callable[[], None]]:
            schema = schemas.make()
            url = schemas.url(schema)
            return PostgresStore(url), PostgresStore(url), lambda: schemas.drop(schema)

        makers[POSTGRES] = postgres
    samples: dict[str, list[float]] = {}
    notes: dict[str, str] = {}
    for name, make in makers.items():
        measured = [_recovery(make, count) for _ in range(1 if quick else 3)]
        samples[f"{name}: on async with"] = [m["entered"] for m in measured]
        samples[f"{name}: all finished"] = [m["finished"] for m in measured]
        notes[f"{name}: on async with"] = "reap, claim, load, rebuild, start every run"
        notes[f"{name}: all finished"] = "each run's cut step run again, then the run's end"
    floor = f"{NORMAL}: on async with"
    return rows(
        f"W12 recovery of {count:,} unfinished runs",
        samples,
        unit="s",
        floor=floor,
        notes=notes,
    )


def _fresh_pg(schemas: _Schemas | None) -> Callable[[], tuple[str, Callable[[], None]]] | None:
    if schemas is None:
        return None

    def make() -> tuple[str, Callable[[], None]]:
        schema = schemas.make()
        return schemas.url(schema), lambda: schemas.drop(schema)

    return make


# -- run ---------------------------------------------------------------------------------------


def run(quick: bool) -> list[Row]:
    chain_n, wide_n = _sizes(quick)
    cluster = temporary_cluster(quick)
    schemas = _Schemas(cluster) if cluster is not None else None
    dbos = None if quick else optional_import("dbos")
    table: list[Row] = []
    try:
        for shape, n, graph in (("chain", chain_n, chain(chain_n)), ("wide", wide_n, wide(wide_n))):
            wf = build_workflow(graph, join_by_wait_for=True)
            steps = len(graph)
            impls: dict[str, Callable[[], float]] = {
                MEMORY: lambda wf=wf: timed_trio(_arborist, None, wf),
                NORMAL: _sqlite("normal", wf),
                POWER: _sqlite("power", wf),
            }
            if schemas is not None:
                impls[POSTGRES] = _postgres(schemas, wf)
            if dbos is not None:
                impls[DBOS_SQLITE] = _dbos(shape, n, "sqlite", None)
                if schemas is not None:
                    impls[DBOS_POSTGRES] = _dbos(shape, n, "postgres", schemas)
            samples = alternate(impls, repeats(quick), warmup=not quick)
            targets: dict[str, list[Target]] = {
                NORMAL: [Target(1.0, of=DBOS_SQLITE)],
                POWER: [Target(1.0, of=DBOS_SQLITE)],
                POSTGRES: [Target(1.0, of=DBOS_POSTGRES)],
            }
            if shape == "chain":
                targets[NORMAL].insert(0, Target(100.0, absolute=True))
            else:
                targets[NORMAL].insert(0, Target(2.0))
            notes = {MEMORY: f"{steps:,} steps; store=None"}
            if dbos is None and not quick:
                notes[MEMORY] += "; DBOS rows skipped: dbos is not installed (the bench extra)"
            table.extend(
                rows(
                    f"W12 durable {shape} {steps:,}",
                    samples,
                    unit="us/step",
                    per=steps,
                    scale=1e6,
                    floor=MEMORY,
                    targets=targets,
                    notes=notes,
                )
            )
        table.extend(job_rows(quick, (MEMORY, NORMAL, POWER, POSTGRES), _fresh_pg(schemas)))
        table.extend(_recovery_rows(quick, schemas))
    finally:
        if cluster is not None:
            cluster.stop()
    return table


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    _shape, _n, _url, _schema = sys.argv[2:6]
    _dbos_child(_shape, int(_n), _url, _schema)

"""W12 the durable store's write path: per-record commit cost from trio (issue #11).

A record is one step attempt's ``ok`` row with a small result (``recorder.step_ok``), written
through the store's writer thread and acknowledged back into trio.

Workloads:
- chain: N records, each awaited before the next is posted (a durable chain of steps: one
  commit-and-wait each). Also "started + ok": a step's ``started`` record posted and its
  ``ok`` awaited, the two records a durable step writes.
- wide: N records posted, then one await (a wide fan-out finishing together: group commit).

Implementations: the floor is a raw ``sqlite3`` loop on a plain thread (``BEGIN IMMEDIATE``,
one INSERT, ``COMMIT``, WAL, synchronous=NORMAL; for wide, N INSERTs in one transaction), the
least a commit costs here; then ``SQLiteStore`` with durability "normal" and "power"
(synchronous=FULL) and ``PostgresStore`` on a throwaway PostgreSQL 15 with its durable
defaults (skipped with ``--quick`` and when PostgreSQL or psycopg is missing).

Target (issue #11): a durable chain step <= 100 us on SQLite NORMAL.
"""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from arborist.runtime.store import PostgresStore, SQLiteStore, Store, open_store
from benchmarks._harness import Row, Target, alternate, optional_import, repeats, rows
from benchmarks._postgres import temporary_cluster

__all__ = ["run"]

N = 2_000
QUICK_N = 20
FLOOR = "sqlite3 commit loop on a thread (NORMAL)"
RESULT = {"rows": 12, "status": "ok", "payload": "x" * 120}


def _floor(n: int, *, wide: bool, synchronous: str = "NORMAL") -> float:
    folder = Path(tempfile.mkdtemp(prefix="w12-"))
    conn = sqlite3.connect(folder / "f.db", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute(
        "CREATE TABLE t (run_id TEXT, step TEXT, element INTEGER, attempt INTEGER, status TEXT,"
        " result BLOB, PRIMARY KEY (run_id, step, element, attempt))"
    )
    elapsed: list[float] = []

    def loop() -> None:
        insert = "INSERT INTO t VALUES (?, ?, -1, 1, 'ok', ?)"
        started = time.perf_counter()
        if wide:
            conn.execute("BEGIN IMMEDIATE")
            for i in range(n):
                conn.execute(insert, ("r", f"s{i}", pickle.dumps(RESULT, protocol=5)))
            conn.execute("COMMIT")
        else:
            for i in range(n):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(insert, ("r", f"s{i}", pickle.dumps(RESULT, protocol=5)))
                conn.execute("COMMIT")
        elapsed.append(time.perf_counter() - started)

    thread = threading.Thread(target=loop)
    thread.start()
    thread.join()
    conn.close()
    shutil.rmtree(folder, ignore_errors=True)
    return elapsed[0]


async def _through_store(store: Store, n: int, shape: str) -> float:
    async with open_store(store):
        created = await store.create_run("w12", plan_hash="p", inputs=None)
        recorder = store.recorder(created.run)
        started = time.perf_counter()
        if shape == "chain":
            for i in range(n):
                await recorder.step_ok(f"s{i}", 1, RESULT)
        elif shape == "started+ok":
            for i in range(n):
                recorder.step_started(f"s{i}", 1)
                await recorder.step_ok(f"s{i}", 1, RESULT)
        else:
            for i in range(n):
                receipt = recorder.step_ok(f"s{i}", 1, RESULT)
            await receipt
        return time.perf_counter() - started


def _sqlite(n: int, shape: str, durability: str) -> Callable[[], float]:
    def once() -> float:
        folder = Path(tempfile.mkdtemp(prefix="w12-"))
        try:
            store = SQLiteStore(folder / "s.db", durability)  # type: ignore[arg-type]
            return float(trio.run(_through_store, store, n, shape))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return once


def _postgres(cluster: Any, n: int, shape: str) -> Callable[[], float]:
    psycopg = optional_import("psycopg")
    assert psycopg is not None

    def once() -> float:
        schema = f"w12_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            store = PostgresStore(cluster.conninfo(search_path=schema))
            return float(trio.run(_through_store, store, n, shape))
        finally:
            with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return once


def run(quick: bool) -> list[Row]:
    n = QUICK_N if quick else N
    cluster = temporary_cluster(quick)
    try:
        chain: dict[str, Callable[[], float]] = {
            FLOOR: lambda: _floor(n, wide=False),
            "sqlite3 commit loop on a thread (FULL)": lambda: _floor(
                n, wide=False, synchronous="FULL"
            ),
            "SQLiteStore normal": _sqlite(n, "chain", "normal"),
            "SQLiteStore normal, started + ok": _sqlite(n, "started+ok", "normal"),
            "SQLiteStore power": _sqlite(n, "chain", "power"),
        }
        wide: dict[str, Callable[[], float]] = {
            FLOOR: lambda: _floor(n, wide=True),
            "SQLiteStore normal": _sqlite(n, "wide", "normal"),
            "SQLiteStore power": _sqlite(n, "wide", "power"),
        }
        if cluster is not None:
            chain["PostgresStore"] = _postgres(cluster, n, "chain")
            wide["PostgresStore"] = _postgres(cluster, n, "wide")
        note = "" if cluster is not None else "PostgreSQL rows skipped (quick, or unavailable)"
        chain_samples = alternate(chain, repeats(quick), warmup=not quick)
        wide_samples = alternate(wide, repeats(quick), warmup=not quick)
    finally:
        if cluster is not None:
            cluster.stop()
    return [
        *rows(
            f"W12 store chain {n:,} (each awaited)",
            chain_samples,
            unit="us/record",
            per=n,
            scale=1e6,
            floor=FLOOR,
            targets={"SQLiteStore normal": [Target(100.0, absolute=True)]},
            notes={FLOOR: note, "SQLiteStore normal, started + ok": "us per step: 2 records"},
        ),
        *rows(
            f"W12 store wide {n:,} (posted, one await)",
            wide_samples,
            unit="us/record",
            per=n,
            scale=1e6,
            floor=FLOOR,
            notes={FLOOR: "one transaction of N inserts"},
        ),
    ]

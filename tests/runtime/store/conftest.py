"""The store suite runs against SQLite and PostgreSQL through one parametrized fixture.

``backend`` is a fresh, empty database for one test: an SQLite file in ``tmp_path``, or a
new schema in the session's throwaway PostgreSQL cluster (``postgres_cluster`` in
``tests/conftest.py``). ``backend.make(**options)`` builds a new store object (a new owner)
on that database; ``backend.url`` is its URL for child processes; ``backend.sql`` reads or
writes the database directly, behind the store's back, as an operator or a crash would.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from arborist.runtime.store import PostgresStore, SQLiteStore, Store, open_store


class Backend:
    """One test's database on one kind of store."""

    def __init__(self, name: str, url: str, path: Path | None = None) -> None:
        self.name = name
        self.url = url
        self.path = path

    def make(self, **options: Any) -> Store:
        if self.name == "sqlite":
            assert self.path is not None
            return SQLiteStore(self.path, **options)
        return PostgresStore(self.url, **options)

    def sql(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) in its own committed transaction."""
        if self.name == "sqlite":
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                return conn.execute(text, params).fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(text.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def __repr__(self) -> str:
        return self.name


TABLES = ("schedule_ticks", "schedules", "step_attempts", "undo_log", "runs", "jobs", "owners")


def new_schema(cluster: Any) -> str:
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema


@pytest.fixture(scope="session")
def migrated_schema(postgres_cluster: Any) -> str:
    """One PostgreSQL schema migrated once (creating the tables costs ~0.1 s per schema)."""
    import trio

    schema = new_schema(postgres_cluster)

    async def migrate() -> None:
        async with open_store(PostgresStore(postgres_cluster.conninfo(search_path=schema))):
            pass

    trio.run(migrate)
    return schema


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """An empty store database (PostgreSQL: the shared migrated schema, emptied)."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        return Backend("sqlite", f"sqlite:///{path}", path)
    import psycopg

    cluster = request.getfixturevalue("postgres_cluster")
    url = cluster.conninfo(search_path=request.getfixturevalue("migrated_schema"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("; ".join(f"DELETE FROM {table}" for table in TABLES))
    return Backend("postgresql", url)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A database with no schema at all (for tests of migrations or of a broken schema)."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        return Backend("sqlite", f"sqlite:///{path}", path)
    cluster = request.getfixturevalue("postgres_cluster")
    return Backend("postgresql", cluster.conninfo(search_path=new_schema(cluster)))


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    """An open store on the test's database."""
    async with open_store(backend.make()) as opened:
        yield opened

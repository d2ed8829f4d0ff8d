"""Stores for the durable-run tests: fresh SQLite files or PostgreSQL schemas, and helpers.

Imported by this folder's ``conftest.py`` and tests (a module name of its own: ``conftest``
is ambiguous when several test folders are collected together).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

BACKENDS = ["sqlite", "postgresql"]


def fresh_store_url(request: pytest.FixtureRequest, backend: str, folder: Path) -> str:
    """A URL of an empty store on ``backend`` (a file in ``folder``, or a new PG schema)."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'store.db'}"
    import psycopg

    cluster: Any = request.getfixturevalue("postgres_cluster")
    schema = f"d_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return str(cluster.conninfo(search_path=schema))


def make_store(url: str, **options: Any) -> Any:
    """A store object (not opened) for ``url``, with store options (``max_result_bytes``...)."""
    from arborist.runtime.store import PostgresStore, SQLiteStore

    if url.startswith("sqlite:///"):
        return SQLiteStore(url.removeprefix("sqlite:///"), **options)
    return PostgresStore(url, **options)


def sql(url: str, text: str, params: tuple[Any, ...] = ()) -> None:
    """Run one statement (``?`` placeholders) on the store's database, behind its back."""
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute(text, params)
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(text.replace("?", "%s"), params)

"""Schema versions: a fresh store is at the newest, older ones migrate forward, newer refused."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from arborist.runtime.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Migration,
    PostgresStore,
    SchemaVersionError,
    SQLiteStore,
    open_store,
)

NEXT = Migration(SCHEMA_VERSION + 1, ("ALTER TABLE runs ADD COLUMN note TEXT",))


def store_knowing(backend, migrations):
    """A store of ``backend`` that knows exactly ``migrations`` (older or newer code)."""
    base = SQLiteStore if backend.name == "sqlite" else PostgresStore
    knowing = type(f"Known{base.__name__}", (base,), {"migrations": tuple(migrations)})
    return knowing(backend.path if backend.name == "sqlite" else backend.url)


def newer_store(backend):
    return store_knowing(backend, (*MIGRATIONS, NEXT))


def store_at_version(backend, version):
    """A store of ``backend`` that knows only the first ``version`` migrations."""
    return store_knowing(backend, MIGRATIONS[:version])


async def test_a_new_store_is_created_at_the_newest_schema_version(fresh_backend):
    async with open_store(fresh_backend.make()):
        pass

    assert fresh_backend.sql("SELECT version FROM arborist_schema") == [(SCHEMA_VERSION,)]


async def test_opening_an_older_schema_migrates_it_forward_once_and_keeps_the_data(fresh_backend):
    async with open_store(fresh_backend.make()) as old:
        created = await old.create_run("w", plan_hash="p", inputs={"kept": True})

    async with open_store(newer_store(fresh_backend)) as new:
        journal = await new.load_journal(created.run.run_id)
    async with open_store(newer_store(fresh_backend)):
        pass

    assert journal.inputs == {"kept": True}
    assert fresh_backend.sql("SELECT version FROM arborist_schema") == [(SCHEMA_VERSION + 1,)]
    assert fresh_backend.sql("SELECT note FROM runs") == [(None,)]


async def test_a_store_written_by_a_newer_version_is_refused_naming_both_versions(fresh_backend):
    async with open_store(fresh_backend.make()):
        pass
    fresh_backend.sql("UPDATE arborist_schema SET version = 99")

    with pytest.raises(SchemaVersionError, match=f"schema version 99, newer than .*\\({SCHEMA_VERSION}\\)") as raised:  # noqa: E501
        async with open_store(fresh_backend.make()):
            pass

    assert (raised.value.found, raised.value.supported) == (99, SCHEMA_VERSION)


async def test_a_version_2_store_migrates_to_named_jobs_naming_its_old_jobs_by_function(
    fresh_backend,
):
    async with open_store(store_at_version(fresh_backend, 2)):
        pass
    assert fresh_backend.sql("SELECT version FROM arborist_schema") == [(2,)]
    fresh_backend.sql(
        "INSERT INTO jobs (job_id, fn, payload, codec, status, created_at, updated_at)"
        " VALUES ('j1', 'json:dumps', ?, 'pickle', 'pending', 0, 0)",
        (b"x",),
    )

    async with open_store(fresh_backend.make()) as store:
        [old] = await store.list_jobs()
        row, receipt = store.post_job("json:dumps", ([1],), name="nightly")
        await receipt
        new = await store.get_job(row.job_id)

    assert fresh_backend.sql("SELECT version FROM arborist_schema") == [(SCHEMA_VERSION,)]
    assert (old.job_id, old.name) == ("j1", "json:dumps")
    assert new.name == "nightly"


async def test_a_version_3_store_migrates_to_version_4_keeping_every_step_row(fresh_backend):
    async with open_store(store_at_version(fresh_backend, 3)) as old:
        created = await old.create_run("w", plan_hash="p", inputs=None)
        recorder = old.recorder(created.run)
        recorder.step_ok("a", 1, {"value": 1})
        recorder.step_failed("b", 1, ValueError("boom"), retry_at=None)
        await old.flush()
    assert fresh_backend.sql("SELECT version FROM arborist_schema") == [(3,)]

    async with open_store(fresh_backend.make()) as new:
        journal = await new.load_journal(created.run.run_id)
        new.recorder(created.run).step_ok("b", 2, "then")  # and it is written to as before
        await new.flush()
        again = await new.load_journal(created.run.run_id)

    assert fresh_backend.sql("SELECT version FROM arborist_schema") == [(4,)]
    assert [(a.step, a.attempt, a.status.value) for a in journal.attempts] == [
        ("a", 1, "ok"), ("b", 1, "failed"),
    ]  # fmt: skip
    assert journal.attempts[0].result == {"value": 1}
    assert [(a.step, a.attempt) for a in again.attempts] == [("a", 1), ("b", 1), ("b", 2)]


async def test_on_sqlite_version_4_keeps_the_step_rows_in_one_b_tree(tmp_path):
    async with open_store(SQLiteStore(tmp_path / "s.db")):
        pass

    with contextlib.closing(sqlite3.connect(tmp_path / "s.db")) as db:
        [(sql,)] = db.execute("SELECT sql FROM sqlite_master WHERE name = 'step_attempts'")
        indexes = db.execute(
            "SELECT name FROM sqlite_master WHERE tbl_name = 'step_attempts' AND type = 'index'"
        ).fetchall()
    assert sql.endswith("WITHOUT ROWID")
    assert indexes == []  # no separate index for the primary key


@pytest.mark.parametrize("dialects", [(), ("sqlite3",), ("sqlite", "mysql")])
def test_a_migration_naming_an_unknown_dialect_is_refused_at_once(dialects):
    with pytest.raises(ValueError, match=r"dialects must be None .* or a non-empty tuple of"):
        Migration(SCHEMA_VERSION + 1, ("SELECT 1",), dialects=dialects)

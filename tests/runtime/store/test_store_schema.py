"""Schema versions: a fresh store is at the newest, older ones migrate forward, newer refused."""

from __future__ import annotations

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


class NextSQLiteStore(SQLiteStore):
    migrations = (*MIGRATIONS, NEXT)


class NextPostgresStore(PostgresStore):
    migrations = (*MIGRATIONS, NEXT)


def newer_store(backend):
    if backend.name == "sqlite":
        return NextSQLiteStore(backend.path)
    return NextPostgresStore(backend.url)


class V2SQLiteStore(SQLiteStore):
    migrations = MIGRATIONS[:2]


class V2PostgresStore(PostgresStore):
    migrations = MIGRATIONS[:2]


def version_2_store(backend):
    if backend.name == "sqlite":
        return V2SQLiteStore(backend.path)
    return V2PostgresStore(backend.url)


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
    async with open_store(version_2_store(fresh_backend)):
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

    assert SCHEMA_VERSION == 3
    assert fresh_backend.sql("SELECT version FROM arborist_schema") == [(3,)]
    assert (old.job_id, old.name) == ("j1", "json:dumps")
    assert new.name == "nightly"

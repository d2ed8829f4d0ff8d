"""The store's schema and its forward migrations, applied when a store opens.

``arborist_schema`` holds one row: the version of the newest migration applied. Opening a
store applies every newer migration in one write transaction (SQLite ``BEGIN IMMEDIATE``;
PostgreSQL also takes a transaction-scoped advisory lock, so concurrent opens migrate once).
A database whose version is newer than this code's is refused with ``SchemaVersionError``:
old code never writes a schema it does not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from ._errors import SchemaVersionError
from ._sql import Tx

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "migrate"]

MIGRATION_LOCK_KEY = 0x61726230_6D696772  # "arb0migr": the advisory lock serialising migrations


@attrs.frozen
class Migration:
    """One schema step: ``version`` (1, 2, ...) and its DDL statements (with type names).

    ``dialects`` names the databases it changes (``"sqlite"``, ``"postgresql"``); None: every
    one. On the others it only moves the version on.
    """

    version: int
    statements: tuple[str, ...]
    dialects: tuple[str, ...] | None = attrs.field(default=None)

    @dialects.validator
    def _known(self, attribute: attrs.Attribute[Any], value: tuple[str, ...] | None) -> None:
        if value is not None and (not value or not set(value) <= _DIALECTS):
            raise ValueError(
                f"Migration {self.version} dialects must be None (every database) or a "
                f"non-empty tuple of {sorted(_DIALECTS)}; got {value!r}"
            )


_DIALECTS = {"sqlite", "postgresql"}


_V1 = (
    """CREATE TABLE owners (
        owner_id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid {int} NOT NULL,
        label TEXT,
        lock_path TEXT,
        started_at {real} NOT NULL,
        lease_until {real} NOT NULL,
        closed_at {real},
        closed_by TEXT,
        closed_reason TEXT)""",
    "CREATE INDEX owners_open ON owners (lease_until) WHERE closed_at IS NULL",
    """CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        status TEXT NOT NULL,
        owner_id TEXT,
        fence {int} NOT NULL DEFAULT 0,
        start_key TEXT UNIQUE,
        target TEXT,
        parent_run_id TEXT,
        parent_step TEXT,
        schedule_name TEXT,
        schedule_due TEXT,
        inputs {blob} NOT NULL,
        inputs_codec TEXT NOT NULL,
        options TEXT NOT NULL,
        result {blob},
        result_codec TEXT,
        error TEXT,
        message TEXT,
        recovery_attempts {int} NOT NULL DEFAULT 0,
        created_at {real} NOT NULL,
        updated_at {real} NOT NULL,
        finished_at {real})""",
    "CREATE INDEX runs_by_status ON runs (status, updated_at)",
    "CREATE INDEX runs_by_workflow ON runs (workflow, created_at)",
    "CREATE INDEX runs_by_created ON runs (created_at)",
    "CREATE INDEX runs_active ON runs (owner_id) WHERE status IN ('running', 'rolling_back')",
    "CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL",
    """CREATE TABLE step_attempts (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        step TEXT NOT NULL,
        element {int} NOT NULL,
        attempt {int} NOT NULL,
        status TEXT NOT NULL,
        started_at {real},
        finished_at {real},
        wait_until {real},
        arguments {blob},
        arguments_codec TEXT,
        result {blob},
        result_codec TEXT,
        error {blob},
        error_text TEXT,
        reason TEXT,
        PRIMARY KEY (run_id, step, element, attempt))""",
    """CREATE TABLE undo_log (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        seq {int} NOT NULL,
        step TEXT NOT NULL,
        child_run_id TEXT,
        status TEXT NOT NULL,
        attempts {int} NOT NULL DEFAULT 0,
        error {blob},
        error_text TEXT,
        updated_at {real} NOT NULL,
        PRIMARY KEY (run_id, seq))""",
    """CREATE TABLE schedules (
        name TEXT PRIMARY KEY,
        trigger_text TEXT NOT NULL,
        job TEXT NOT NULL,
        options TEXT NOT NULL,
        anchor_utc {real},
        last_due TEXT,
        runs {int} NOT NULL DEFAULT 0,
        paused {int} NOT NULL DEFAULT 0,
        created_at {real} NOT NULL,
        updated_at {real} NOT NULL)""",
    """CREATE TABLE schedule_ticks (
        name TEXT NOT NULL REFERENCES schedules (name) ON DELETE CASCADE,
        due TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT,
        run_id TEXT,
        owner_id TEXT,
        claimed_at {real} NOT NULL,
        finished_at {real},
        PRIMARY KEY (name, due))""",
    """CREATE TABLE jobs (
        job_id TEXT PRIMARY KEY,
        fn TEXT NOT NULL,
        payload {blob} NOT NULL,
        codec TEXT NOT NULL,
        status TEXT NOT NULL,
        owner_id TEXT,
        fence {int} NOT NULL DEFAULT 0,
        attempts {int} NOT NULL DEFAULT 0,
        error TEXT,
        created_at {real} NOT NULL,
        updated_at {real} NOT NULL,
        finished_at {real})""",
    "CREATE INDEX jobs_by_status ON jobs (status, updated_at)",
    "CREATE INDEX jobs_unfinished ON jobs (owner_id) WHERE status IN ('pending', 'running')",
)

_V2 = (
    # The ticks whose job has not reported an end: read by every claim of an overlap-"skip"
    # schedule (is a run of it still going in another process?) and by the interrupted-tick
    # sweep, so neither scans a long-lived schedule's whole history.
    "CREATE INDEX schedule_ticks_claimed ON schedule_ticks (name, due) WHERE outcome = 'claimed'",
)

_V3 = (
    # the job's name: the user's ``name=``, else its function's ``module:qualname``
    "ALTER TABLE jobs ADD COLUMN name TEXT",
    "UPDATE jobs SET name = fn WHERE name IS NULL",
)


def _without_rowid(create: str, name: str) -> tuple[str, ...]:
    """Rebuild table ``name`` (created by ``create``) as an SQLite ``WITHOUT ROWID`` table.

    ``create`` must be the table's whole current shape: columns added since (``ALTER TABLE``)
    would not be copied, and indexes on it are dropped with it (``step_attempts`` has none).
    """
    new = f"{name}_rebuilt"
    rebuilt = create.replace(f"CREATE TABLE {name} (", f"CREATE TABLE {new} (", 1)
    assert rebuilt != create, name
    return (
        f"{rebuilt} WITHOUT ROWID",
        f"INSERT INTO {new} SELECT * FROM {name}",
        f"DROP TABLE {name}",
        f"ALTER TABLE {new} RENAME TO {name}",
    )


_STEP_ATTEMPTS = next(text for text in _V1 if text.startswith("CREATE TABLE step_attempts ("))

# SQLite: every journal write is a step_attempts row. As a rowid table keyed by its primary
# key it is two B-trees (the rows and the key's index), each written by every upsert and each
# a page in the commit; WITHOUT ROWID it is one, keyed by (run_id, step, element, attempt).
# A durable chain step: 134 -> 124 us (medians of 4 alternating runs). PostgreSQL's heap
# tables have no such split: the version only moves on there.
_V4 = _without_rowid(_STEP_ATTEMPTS, "step_attempts")

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, _V1),
    Migration(2, _V2),
    Migration(3, _V3),
    Migration(4, _V4, dialects=("sqlite",)),
)
"""Every migration, in version order; a new schema change appends one (never edits one)."""

SCHEMA_VERSION = MIGRATIONS[-1].version
"""The schema version this code writes."""


def _refuse_newer(found: int, known: int, where: str) -> None:
    if found > known:
        raise SchemaVersionError(
            f"the store at {where} has schema version {found}, newer than this arborist "
            f"supports ({known}): upgrade arborist, or open another store",
            found=found,
            supported=known,
        )


def migrate(
    tx: Tx,
    *,
    where: str,
    migrations: Sequence[Migration] = MIGRATIONS,
    target: int | None = None,
) -> tuple[int, int]:
    """Bring the schema up to ``target`` (default: the newest migration) in one transaction.

    Runs on the writer thread before anything else. Blocks while another process migrates.

    Args:
        tx: a transaction helper on the writer connection (no transaction open).
        where: the store's location, for the error message.
        migrations: the migrations to apply (tests pass longer lists).
        target: stop at this version (tests build older schemas with it).

    Returns:
        ``(version found, version now)``.

    Raises:
        SchemaVersionError: the database's version is newer than ``migrations`` know.
    """
    newest = migrations[-1].version if target is None else target
    tx.begin(tx.dialect.begin_write)
    try:
        if tx.dialect.name == "postgresql":
            tx.one("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_KEY,))
        tx.execute("CREATE TABLE IF NOT EXISTS arborist_schema (version INTEGER NOT NULL)")
        row = tx.one("SELECT version FROM arborist_schema")
        found = 0 if row is None else int(row[0])
        _refuse_newer(found, migrations[-1].version, where)
        for migration in migrations:
            wanted = migration.dialects is None or tx.dialect.name in migration.dialects
            if found < migration.version <= newest and wanted:
                statements = [tx.dialect.ddl(statement) for statement in migration.statements]
                if tx.dialect.name == "postgresql":  # one round trip for the whole step
                    tx.execute(";\n".join(statements))
                else:  # sqlite3 runs one statement per call
                    for statement in statements:
                        tx.execute(statement)
        now = max(found, newest)
        if row is None:
            tx.execute("INSERT INTO arborist_schema (version) VALUES (?)", (now,))
        elif now != found:
            tx.execute("UPDATE arborist_schema SET version = ?", (now,))
        tx.end("COMMIT")
    except BaseException:
        tx.end("ROLLBACK")
        raise
    return found, now

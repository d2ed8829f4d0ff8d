"""SQL dialects and transactions: the few places where SQLite and PostgreSQL differ.

Statements are written once, with ``?`` placeholders and ``{int}``/``{real}``/``{blob}`` type
names in DDL; a ``Dialect`` turns them into what its driver takes. A ``Tx`` wraps one open
connection's cursor for the duration of one transaction (on the writer thread, or on a
reader thread), and caches the fences it checked in that transaction.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import attrs

__all__ = ["POSTGRES", "SQLITE", "Cursor", "Dialect", "Tx"]


class Cursor(Protocol):
    """The part of a DB-API cursor the store uses (sqlite3 and psycopg 3 both fit)."""

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        ...

    def execute(self, query: Any, params: Any = ..., /) -> Any:
        """Run one statement."""
        ...

    def executemany(self, query: Any, params_seq: Any, /) -> Any:
        """Run one statement once per parameter tuple."""
        ...

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> list[Any]:
        """The remaining rows."""
        ...


@attrs.frozen
class Dialect:
    """How one database spells the store's statements.

    Attributes:
        name: ``"sqlite"`` or ``"postgresql"``.
        placeholder: what replaces each ``?``.
        types: the DDL type names for ``{int}``, ``{real}``, ``{blob}``.
        begin_write: the statement opening a write transaction (``BEGIN IMMEDIATE`` on
            SQLite, so a transaction never has to upgrade a read lock; see the package doc).
        begin_read: the statement opening a read transaction (one consistent snapshot).
        share_lock: appended to the fence check (``FOR SHARE`` on PostgreSQL, so a claim
            waits for writes carrying the old fence to commit).
        db_clock: the SQL for the database's wall clock in Unix seconds, or None to use the
            store's wall clock.
    """

    name: str
    placeholder: str
    types: dict[str, str]
    begin_write: str
    begin_read: str
    share_lock: str
    db_clock: str | None
    _cache: dict[str, str] = attrs.field(factory=dict, eq=False, repr=False)

    def sql(self, text: str) -> str:
        """``text`` with this dialect's placeholders (cached per statement text)."""
        done = self._cache.get(text)
        if done is None:
            done = text if self.placeholder == "?" else text.replace("?", self.placeholder)
            self._cache[text] = done
        return done

    def ddl(self, text: str) -> str:
        """``text`` with this dialect's type names."""
        return text.format(**self.types)


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    types={"int": "INTEGER", "real": "REAL", "blob": "BLOB"},
    begin_write="BEGIN IMMEDIATE",
    begin_read="BEGIN",
    share_lock="",
    db_clock=None,
)
"""SQLite 3.35+ (RETURNING, ON CONFLICT, partial indexes)."""

POSTGRES = Dialect(
    name="postgresql",
    placeholder="%s",
    types={"int": "BIGINT", "real": "DOUBLE PRECISION", "blob": "BYTEA"},
    begin_write="BEGIN",
    begin_read="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    share_lock=" FOR SHARE",
    db_clock="SELECT extract(epoch from clock_timestamp())::float8",
)
"""PostgreSQL 12+ through psycopg 3."""


Check = Callable[[int], None]
"""Checks the number of rows a write changed; raises ``Refusal`` to refuse its record."""


class Tx:
    """One transaction on one connection (used by one thread at a time).

    On the PostgreSQL writer a batch runs in psycopg's pipeline mode (``pipelined``): the
    statements of a batch travel together and the server answers once, at ``COMMIT``; a
    statement whose result is read (``one``, ``all``, ``execute``) syncs there and then.
    Writes checked by their row count (``execute_counted``) are checked after the commit.

    Args:
        dialect: the connection's dialect.
        cursor: a cursor of the connection, reused across transactions.
        wall_clock: the store's wall clock (Unix seconds), used where the dialect has no
            database clock.
        connection: the psycopg connection, to pipeline batches (None: no pipelining).
    """

    __slots__ = (
        "_connection",
        "_cursor",
        "_deferred",
        "_dialect",
        "_now",
        "_pipeline",
        "_wall_clock",
        "fences",
        "record",
    )

    def __init__(
        self,
        dialect: Dialect,
        cursor: Cursor,
        wall_clock: Callable[[], float],
        connection: Any = None,
    ) -> None:
        self._dialect = dialect
        self._cursor = cursor
        self._wall_clock = wall_clock
        self._connection = connection
        self._pipeline: Any = None
        self._deferred: list[tuple[Any, Any, Check]] = []
        self._now: float | None = None
        self.fences: dict[tuple[str, str], int | None] = {}
        self.record: Any = None

    @property
    def can_pipeline(self) -> bool:
        """Whether this connection can run a batch in pipeline mode (``pipelined``)."""
        return self._connection is not None

    @property
    def deferred(self) -> bool:
        """Whether writes of the last batch wait to be checked (``checked``)."""
        return bool(self._deferred)

    @contextlib.contextmanager
    def pipelined(self, wanted: bool = True) -> Iterator[None]:
        """Run the block's statements in pipeline mode if ``wanted`` and the connection can."""
        if self._connection is None or not wanted:
            yield
            return
        with self._connection.pipeline() as pipeline:
            self._pipeline = pipeline
            try:
                yield
            finally:
                self._pipeline = None

    def execute_counted(self, text: str, params: Sequence[Any], check: Check) -> None:
        """Run a write and pass the number of rows it changed to ``check``.

        At once, or, inside ``pipelined``, after the batch committed (``checked()``), so the
        write costs no round trip of its own. ``check`` may only refuse a write that changed
        nothing.
        """
        if self._pipeline is None:
            check(self.execute(text, params))
            return
        cursor = self._connection.cursor()
        cursor.execute(self._dialect.sql(text), params)
        self._deferred.append((cursor, self.record, check))

    def checked(self) -> list[tuple[Any, Check, int]]:
        """The deferred checks of the last batch: ``(record, check, rows changed)``."""
        found = [(record, check, cursor.rowcount) for cursor, record, check in self._deferred]
        self._deferred.clear()
        return found

    @property
    def dialect(self) -> Dialect:
        """This transaction's dialect."""
        return self._dialect

    def begin(self, statement: str) -> None:
        """Open a transaction with ``statement``; forget the last one's fences and clock."""
        self.fences.clear()
        self._deferred.clear()
        self._now = None
        self._cursor.execute(statement)

    def end(self, statement: str = "COMMIT") -> None:
        """Close the transaction with ``statement`` (``COMMIT`` or ``ROLLBACK``)."""
        self._cursor.execute(statement)

    def execute(self, text: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        cursor = self._cursor
        cursor.execute(self._dialect.sql(text), params)
        if self._pipeline is not None:
            self._pipeline.sync()
        return cursor.rowcount

    @property
    def pipelining(self) -> bool:
        """Whether the current batch runs in pipeline mode (writes checked after the commit)."""
        return self._pipeline is not None

    def execute_many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one write statement once per row of parameters, in one driver call."""
        self._cursor.executemany(self._dialect.sql(text), rows)

    def one(self, text: str, params: Sequence[Any] = ()) -> Any:
        """Run a query; return its first row or None."""
        cursor = self._cursor
        cursor.execute(self._dialect.sql(text), params)
        return cursor.fetchone()

    def all(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run a query; return every row."""
        cursor = self._cursor
        cursor.execute(self._dialect.sql(text), params)
        return cursor.fetchall()

    def now(self) -> float:
        """The clock for leases: the database's (PostgreSQL) or the store's wall clock.

        Read once per transaction, so every lease in one transaction uses one instant.
        """
        if self._now is None:
            query = self._dialect.db_clock
            if query is None:
                self._now = self._wall_clock()
            else:
                self._cursor.execute(query)
                self._now = float(self._cursor.fetchone()[0])
        return self._now

    def fence(self, table: str, key_column: str, key: str) -> int | None:
        """The current fence of a run or job row (None when it does not exist).

        Checked once per transaction and row; on PostgreSQL the row is share-locked until
        the transaction ends, so a concurrent claim waits for this transaction's writes.
        """
        slot = (table, key)
        if slot in self.fences:
            return self.fences[slot]
        row = self.one(
            f"SELECT fence FROM {table} WHERE {key_column} = ?{self._dialect.share_lock}", (key,)
        )
        fence = None if row is None else int(row[0])
        self.fences[slot] = fence
        return fence


def wall_time() -> float:
    """The default wall clock: ``time.time()``."""
    return time.time()

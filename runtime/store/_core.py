"""The store's core: opening and closing, the write and read paths, owners and their leases.

``StoreCore`` is the base of ``Store``; the concept mixins (runs, schedules, jobs) add the
operations, and ``SQLiteStore`` / ``PostgresStore`` add the connection and the liveness check.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, TypeVar

import attrs
import trio

from ._codecs import DEFAULT_MAX_RESULT_BYTES, DEFAULT_WARN_RESULT_BYTES, Codec, Codecs
from ._errors import LeaseLostError, StoreClosedError, StoreError
from ._ids import uuid7
from ._reads import OWNER_COLUMNS, parse_owner
from ._receipt import Receipt, Refusal
from ._rows import OwnerInfo
from ._schema import MIGRATIONS, Migration, migrate
from ._sql import Cursor, Dialect, Tx
from ._writer import Writer
from ._writer_config import InlineCommits, Operation

__all__ = ["DEFAULT_LEASE", "StoreCore", "StoreStatistics"]

T = TypeVar("T")

DEFAULT_LEASE = 30.0
"""Seconds an owner's lease runs; it is renewed every third of that (on trio's clock)."""


@attrs.frozen
class StoreStatistics:
    """A snapshot of a store's write path.

    Attributes:
        posted: writes posted since open (each row of a step's result is one);
            committed: of those, committed (or refused).
        batches: transactions committed (group commit: fewer than ``committed`` when
            writes arrive together).
        readers: read connections open.
    """

    posted: int
    committed: int
    batches: int
    readers: int


class StoreCore:
    """What every store has: one writer thread, read connections, an owner and its lease.

    Not constructed directly: use ``SQLiteStore``, ``PostgresStore`` or ``open_store``.
    """

    migrations: ClassVar[Sequence[Migration]] = MIGRATIONS
    """The migrations applied at open (a subclass may extend the list)."""

    dialect: ClassVar[Dialect]

    def __init__(
        self,
        *,
        where: str,
        lease: float = DEFAULT_LEASE,
        wall_clock: Callable[[], float] = time.time,
        codecs: Iterable[Codec] = (),
        default_codec: str = "pickle",
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        warn_result_bytes: int = DEFAULT_WARN_RESULT_BYTES,
        max_batch: int = 512,
        max_readers: int = 4,
        label: str | None = None,
    ) -> None:
        if not (isinstance(lease, int | float) and lease > 0):
            raise ValueError(f"lease must be a positive number of seconds; got {lease!r}")
        if not (isinstance(max_batch, int) and max_batch >= 1):
            raise ValueError(f"max_batch must be an int >= 1; got {max_batch!r}")
        if not (isinstance(max_readers, int) and max_readers >= 1):
            raise ValueError(f"max_readers must be an int >= 1; got {max_readers!r}")
        self._where = where
        self._lease = float(lease)
        self._wall = wall_clock
        self._codecs = Codecs(
            codecs, default=default_codec, max_bytes=max_result_bytes, warn_bytes=warn_result_bytes
        )
        self._label = label
        self._owner_id = str(uuid7())
        self._host = socket.gethostname()
        self._state = "new"
        self._writer = Writer(
            name=where,
            setup=self._setup_writer,
            teardown=self._teardown_writer,
            begin=self.dialect.begin_write,
            max_batch=max_batch,
            inline=self._inline(),
            retryable=self._retryable,
        )
        self._write_conn: Any = None
        self._read_limiter = trio.CapacityLimiter(max_readers)
        self._idle_readers: list[tuple[Any, Tx]] = []
        self._all_readers: list[Any] = []
        self._readers_lock = threading.Lock()

    # -- backend hooks (SQLite / PostgreSQL) ------------------------------------------------

    def _connect(self) -> Any:
        raise NotImplementedError

    def _cursor(self, conn: Any) -> Cursor:
        return conn.cursor()  # type: ignore[no-any-return]

    def _inline(self) -> InlineCommits | None:
        """How trio may commit small batches itself (see ``Writer``).

        None unless a commit is quick: it waits neither for the disk nor for the network.
        """
        return None

    def _prepare_writer(self, conn: Any) -> None:
        """On the writer thread: set up the write connection before the migrations."""

    def _retryable(self, exc: BaseException) -> bool:
        """Whether a failed write transaction may be run again as it was (see ``Writer``)."""
        return False

    def _pipeline_connection(self, conn: Any) -> Any:
        """The writer connection if it can pipeline a batch (PostgreSQL), else None."""
        return None

    def _hold_liveness(self, tx: Tx) -> str | None:
        """On the writer thread, before the owner row exists: hold this owner's lock."""
        return None

    def _release_liveness(self) -> None:
        """On the writer thread, at its end: let go of this owner's lock."""

    def _dead_reason(self, tx: Tx, owner: OwnerInfo, now: float) -> str | None:
        """Why ``owner`` (an open row of another owner) is dead, or None if it may be alive."""
        if owner.lease_until.timestamp() < now:
            return "lease expired"
        return None

    # -- identity ---------------------------------------------------------------------------

    @property
    def where(self) -> str:
        """The store's location: a URL without password."""
        return self._where

    @property
    def wall_clock(self) -> Callable[[], float]:
        """The clock the journal's times are read from: Unix seconds (``time.time``)."""
        return self._wall

    @property
    def owner_id(self) -> str:
        """This store's owner id (a UUIDv7, new for each store object)."""
        return self._owner_id

    @property
    def lease(self) -> float:
        """Seconds an owner's lease runs."""
        return self._lease

    @property
    def codec_names(self) -> list[str]:
        """The registered codec names."""
        return self._codecs.names

    @property
    def is_open(self) -> bool:
        """Whether the store is open and has not failed."""
        return self._state == "open" and self._writer.failure is None

    def statistics(self) -> StoreStatistics:
        """A snapshot of the write path's counters. Never blocks."""
        writer = self._writer
        return StoreStatistics(
            posted=writer.posted_rows,
            committed=writer.committed_rows,
            batches=writer.batches,
            readers=len(self._all_readers),
        )

    def __repr__(self) -> str:
        state = "failed" if self._writer.failure is not None else self._state
        return f"<{type(self).__name__} {self._where} owner {self._owner_id} {state}>"

    # -- opening and closing ----------------------------------------------------------------

    async def _open(self) -> None:
        if self._state != "new":
            raise StoreClosedError(
                f"{self!r} was opened before; a store object opens once (one owner): "
                "make a new one to open the database again"
            )
        self._state = "opening"
        try:
            await self._writer.start()
        except BaseException:
            self._state = "closed"
            raise
        self._state = "open"

    async def _close(self) -> None:
        if self._state != "open":
            return
        self._state = "closing"
        try:
            if self._writer.failure is None:
                self._writer.post(_close_owner, (self._owner_id,))
            await self._writer.stop()
        finally:
            self._state = "closed"
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(self._close_readers)

    def _setup_writer(self) -> Tx:
        conn = self._connect()
        self._write_conn = conn
        self._prepare_writer(conn)
        tx = Tx(self.dialect, self._cursor(conn), self._wall, self._pipeline_connection(conn))
        migrate(tx, where=self._where, migrations=self.migrations)
        lock_path = self._hold_liveness(tx)
        tx.begin(self.dialect.begin_write)
        tx.execute(
            "INSERT INTO owners (owner_id, host, pid, label, lock_path, started_at, lease_until)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                self._owner_id,
                self._host,
                os.getpid(),
                self._label,
                lock_path,
                self._wall(),
                tx.now() + self._lease,
            ),
        )
        tx.end("COMMIT")
        return tx

    def _teardown_writer(self) -> None:
        try:
            if self._write_conn is not None:
                self._write_conn.close()
        finally:
            self._release_liveness()

    def _close_readers(self) -> None:
        with self._readers_lock:
            conns, self._all_readers, self._idle_readers = self._all_readers, [], []
        for conn in conns:
            try:
                conn.close()
            except Exception:  # closing a broken connection: nothing left to save
                pass

    async def keep_lease(self) -> None:
        """Renew this owner's lease every ``lease / 3`` seconds of trio's clock, forever.

        ``open_store`` runs it in its nursery. It returns when the store fails or closes;
        a renewal that finds the owner reaped fails the store with ``LeaseLostError``.
        """
        period = self._lease / 3
        while True:
            await trio.sleep(period)
            try:
                await self.renew_lease()
            except StoreError:
                return

    async def renew_lease(self) -> None:
        """Push this owner's lease to now + ``lease`` (database clock on PostgreSQL).

        Raises:
            LeaseLostError: another process reaped this owner; the store fails with it.
        """
        try:
            await self._post(_renew_owner, self._owner_id, self._lease)
        except LeaseLostError as exc:
            self._writer.fail(exc)
            raise

    # -- the write path ---------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._state != "open":
            raise StoreClosedError(
                f"{self!r} is not open: use it inside `async with open_store(...)`"
            )

    def _post(
        self,
        op: Operation,
        *args: Any,
        on_refused: Callable[[BaseException], None] | None = None,
    ) -> Receipt:
        self._check_open()
        return self._writer.post(op, args, on_refused)

    async def flush(self) -> None:
        """Wait until every write posted so far is durable.

        Raises:
            StoreError: the store failed before they committed.
        """
        self._check_open()
        await self._writer.flush()

    # -- the read path ----------------------------------------------------------------------

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(tx, *args)`` in a read transaction on a reader thread.

        The read first waits for this store's posted writes (read your own writes); a read
        still works after the writer failed. Cancellation waits for the query to finish.
        """
        self._check_open()
        if self._writer.pending and self._writer.failure is None:
            await self._writer.flush()
        return await trio.to_thread.run_sync(self._read_sync, fn, args, limiter=self._read_limiter)

    def _read_sync(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self._readers_lock:
            pair = self._idle_readers.pop() if self._idle_readers else None
        if pair is None:
            conn = self._connect()
            with self._readers_lock:
                self._all_readers.append(conn)
            pair = (conn, Tx(self.dialect, self._cursor(conn), self._wall))
        conn, tx = pair
        tx.begin(self.dialect.begin_read)
        try:
            result = fn(tx, *args)
        except BaseException:
            try:
                tx.end("ROLLBACK")
            except Exception:  # a broken connection is dropped below
                with self._readers_lock:
                    self._all_readers.remove(conn)
                conn.close()
                raise
            with self._readers_lock:
                self._idle_readers.append(pair)
            raise
        tx.end("COMMIT")
        with self._readers_lock:
            self._idle_readers.append(pair)
        return result

    # -- owners -----------------------------------------------------------------------------

    async def list_owners(self, *, include_closed: bool = False) -> list[OwnerInfo]:
        """The owners recorded in the store, oldest first (open ones only by default)."""
        where = "" if include_closed else " WHERE closed_at IS NULL"
        return await self._read(
            lambda tx: [
                parse_owner(r)
                for r in tx.all(f"SELECT {OWNER_COLUMNS} FROM owners{where} ORDER BY owner_id")
            ]
        )

    async def reap_dead_owners(self) -> list[OwnerInfo]:
        """Close the rows of owners that are dead; return them (as closed).

        An owner is dead when its lease expired, or sooner when its liveness lock is free: on
        SQLite the ``flock`` on its lock file (same host), on PostgreSQL its session advisory
        lock (any host). A live owner is never reaped while its lease runs. Their unfinished
        runs and jobs are then claimable (``claim_orphaned_runs``, ``claim_orphaned_jobs``).
        Runs on the writer thread in one transaction; waits until committed.
        """
        return await self._post(self._reap)  # type: ignore[no-any-return]

    def _reap(self, tx: Tx) -> list[OwnerInfo]:
        rows = tx.all(
            f"SELECT {OWNER_COLUMNS} FROM owners WHERE closed_at IS NULL AND owner_id <> ?",
            (self._owner_id,),
        )
        now = tx.now()
        reaped = []
        for row in rows:
            owner = parse_owner(row)
            reason = self._dead_reason(tx, owner, now)
            if reason is None:
                continue
            changed = tx.execute(
                "UPDATE owners SET closed_at = ?, closed_by = ?, closed_reason = ?"
                " WHERE owner_id = ? AND closed_at IS NULL",
                (now, self._owner_id, reason, owner.owner_id),
            )
            if changed:
                reaped.append(parse_owner((*row[:7], now, self._owner_id, reason)))
        return reaped


def _renew_owner(tx: Tx, owner_id: str, lease: float) -> None:
    changed = tx.execute(
        "UPDATE owners SET lease_until = ? WHERE owner_id = ? AND closed_at IS NULL",
        (tx.now() + lease, owner_id),
    )
    if not changed:
        raise Refusal(
            LeaseLostError(
                f"owner {owner_id} was declared dead by another process (its row is closed): "
                "its runs and jobs may be driven elsewhere now; this store accepts no more "
                "writes: close it and open a new one"
            )
        )


def _close_owner(tx: Tx, owner_id: str) -> None:
    now = tx.now()
    tx.execute(
        "UPDATE owners SET closed_at = ?, closed_by = ?, closed_reason = 'closed'"
        " WHERE owner_id = ? AND closed_at IS NULL",
        (now, owner_id, owner_id),
    )

"""``SQLiteStore``: the store in one SQLite file (stdlib ``sqlite3``, WAL), for one host.

Every connection uses WAL (readers run beside the writer), ``busy_timeout``, foreign keys,
and ``isolation_level=None`` so the store issues its own ``BEGIN IMMEDIATE`` for each write
transaction: a deferred transaction that read first cannot wait for another process's write
lock (it fails with "database is locked" whatever the timeout), an immediate one waits.
``durability="normal"`` (``synchronous=NORMAL``) keeps every commit across a process crash
(SIGKILL); only a power loss or an OS crash may lose the last commits. ``"power"``
(``synchronous=FULL``) keeps them across that too, at about five times the commit cost.

Liveness: each owner holds an exclusive ``flock`` on ``<db>.owners/<owner_id>.lock`` while it
lives; the kernel drops it when the process dies, so another process on the host sees the
death at once instead of waiting for the lease to expire.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from ._codecs import DEFAULT_MAX_RESULT_BYTES, DEFAULT_WARN_RESULT_BYTES, Codec
from ._core import DEFAULT_LEASE
from ._rows import OwnerInfo
from ._sql import SQLITE, Tx
from ._store import Store
from ._writer_config import INLINE_MAX, InlineCommits

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: liveness by lease only
    fcntl = None  # type: ignore[assignment]

__all__ = ["Durability", "SQLiteStore"]

Durability = Literal["normal", "power"]
"""``"normal"``: survives a process crash; ``"power"``: also a power loss or an OS crash."""

_SYNCHRONOUS = {"normal": "NORMAL", "power": "FULL"}


class SQLiteStore(Store):
    """A store in a SQLite database file (see the module docstring for its guarantees).

    Args:
        path: the database file (created if missing, with its parent directory's
            ``<name>.owners`` folder of lock files beside it). ``":memory:"`` is refused:
            the writer and the readers need one shared file.
        durability: ``"normal"`` (default) or ``"power"``.
        busy_timeout: seconds a write waits for another process's write lock.
        lease: seconds an owner's lease runs (renewed every third of it).
        wall_clock: Unix seconds for stored times and leases (tests inject one).
        codecs: user codecs, by their ``name``; default_codec: the codec of values stored
            without one (``"pickle"``).
        max_result_bytes, warn_result_bytes: size limits for any encoded value.
        max_batch: at most this many records per transaction; max_readers: read
            connections; label: free text recorded with the owner.

    Raises:
        ValueError: a bad argument, named.
    """

    dialect = SQLITE

    def __init__(
        self,
        path: str | os.PathLike[str],
        durability: Durability = "normal",
        *,
        busy_timeout: float = 30.0,
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
        if str(path) in ("", ":memory:") or str(path).startswith("file::memory:"):
            raise ValueError(
                f"path={str(path)!r}: an SQLite store needs a file shared by its writer and "
                "readers; use a temporary file instead of an in-memory database"
            )
        if durability not in _SYNCHRONOUS:
            raise ValueError(f"durability must be 'normal' or 'power'; got {durability!r}")
        if not (isinstance(busy_timeout, int | float) and busy_timeout >= 0):
            raise ValueError(f"busy_timeout must be seconds >= 0; got {busy_timeout!r}")
        self._path = Path(path).absolute()
        self._durability: Durability = durability
        self._busy_timeout = float(busy_timeout)
        self._lock_fd: int | None = None
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._no_busy_wait = False  # the write connection's busy_timeout is 0 (inline commits)
        self._lock_path: Path | None = None
        super().__init__(
            where=f"sqlite:///{self._path}",
            lease=lease,
            wall_clock=wall_clock,
            codecs=codecs,
            default_codec=default_codec,
            max_result_bytes=max_result_bytes,
            warn_result_bytes=warn_result_bytes,
            max_batch=max_batch,
            max_readers=max_readers,
            label=label,
        )

    @property
    def path(self) -> Path:
        """The database file (absolute)."""
        return self._path

    @property
    def durability(self) -> Durability:
        """``"normal"`` or ``"power"``."""
        return self._durability

    @property
    def lock_dir(self) -> Path:
        """The folder of the owners' lock files: ``<db>.owners`` beside the database."""
        return self._path.with_name(self._path.name + ".owners")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            _require_wal(conn, self._path, self._busy_timeout)
            conn.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[self._durability]}")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _inline(self) -> InlineCommits | None:
        if self._durability != "normal":  # FULL waits for the disk: the thread commits
            return None
        # synchronous=NORMAL in WAL: a commit appends to the WAL without an fsync
        return InlineCommits(INLINE_MAX, self._begin_now, self._begin_waiting, self._checkpoint)

    def _begin_now(self, tx: Tx) -> bool:
        """``BEGIN IMMEDIATE`` with no busy wait: False if another process holds the lock.

        The write connection keeps the busy timeout it was last given (each PRAGMA costs
        about as much as the BEGIN itself): 0 while trio commits, the full wait once the
        writer thread opens a transaction again (``_begin_waiting``).
        """
        if not self._no_busy_wait:
            self._write_conn.execute("PRAGMA busy_timeout = 0")
            self._no_busy_wait = True
        try:
            tx.begin(SQLITE.begin_write)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return False
            raise
        return True

    def _begin_waiting(self, tx: Tx) -> None:
        """The writer thread's ``BEGIN IMMEDIATE``: it waits up to ``busy_timeout`` for the lock."""
        if self._no_busy_wait:
            self._write_conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            self._no_busy_wait = False
        tx.begin(SQLITE.begin_write)

    def _prepare_writer(self, conn: sqlite3.Connection) -> None:
        self._no_busy_wait = False  # the connection waits for the lock (``_connect``)
        if self._durability == "normal":
            conn.execute("PRAGMA wal_autocheckpoint = 0")

    def _checkpoint(self) -> None:
        """On the writer thread: copy the WAL into the database (PASSIVE: it waits for no one)."""
        if self._checkpoint_conn is None:
            self._checkpoint_conn = self._connect()
        self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _teardown_writer(self) -> None:
        conn, self._checkpoint_conn = self._checkpoint_conn, None
        try:
            if conn is not None:
                conn.close()
        finally:
            super()._teardown_writer()

    def _hold_liveness(self, tx: Tx) -> str | None:
        if fcntl is None:  # pragma: no cover
            return None
        self.lock_dir.mkdir(exist_ok=True)
        path = self.lock_dir / f"{self._owner_id}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd, self._lock_path = fd, path
        return str(path)

    def _release_liveness(self) -> None:
        fd, path = self._lock_fd, self._lock_path
        self._lock_fd = self._lock_path = None
        if fd is not None and path is not None:
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(fd)

    def _dead_reason(self, tx: Tx, owner: OwnerInfo, now: float) -> str | None:
        reason = super()._dead_reason(tx, owner, now)
        if reason is not None or fcntl is None or owner.host != self._host:
            return reason
        if not owner.lock_path:
            return None
        return _probe_lock(owner.lock_path)


def _require_wal(conn: sqlite3.Connection, path: Path, timeout: float) -> None:
    """Put the database in WAL mode (a no-op once it is), waiting up to ``timeout`` seconds.

    Switching a new file to WAL needs a lock SQLite does not wait for with its busy handler:
    several processes opening one new store at once got "database is locked" at once. The
    switch is retried with a growing pause (1 ms to 50 ms) until the timeout instead.
    """
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            busy = code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(
            f"{path} could not switch to WAL (journal_mode is {mode!r}): is it on a network "
            "file system? An SQLite store needs a local disk"
        )


def _probe_lock(path: str) -> str | None:
    """``"lock released"`` when nobody holds the lock file (then remove it), else None."""
    assert fcntl is not None
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return "lock file missing"
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        with contextlib.suppress(OSError):
            os.unlink(path)
        return "lock released"
    finally:
        os.close(fd)

"""``PostgresStore``: the store in a PostgreSQL database (psycopg 3, sync, on store threads).

psycopg is an optional dependency (``pip install 'arborist[postgres]'``), imported when the
store opens. The writer thread owns one connection in autocommit mode and issues its own
``BEGIN``/``COMMIT``; fenced writes share-lock their run row, so a claim by another process
waits for them and then sees them. Leases are on the database's clock (``clock_timestamp()``),
so hosts with skewed clocks agree.

Liveness: each owner holds a session advisory lock keyed by its owner id on its writer
connection. The server releases it when that connection ends, including when the process is
killed, so another owner sees the death at once (``pg_try_advisory_lock`` succeeds) instead of
waiting for the lease to expire.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._codecs import DEFAULT_MAX_RESULT_BYTES, DEFAULT_WARN_RESULT_BYTES, Codec
from ._core import DEFAULT_LEASE
from ._errors import StoreError
from ._rows import OwnerInfo
from ._sql import POSTGRES, Tx
from ._store import Store

__all__ = ["PostgresStore", "advisory_key"]


def advisory_key(owner_id: str) -> int:
    """The signed 64-bit advisory-lock key of an owner (a hash of its id)."""
    digest = hashlib.blake2b(owner_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _masked(conninfo: str) -> str:
    if "://" in conninfo:
        parts = urlsplit(conninfo)
        if parts.password is not None:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
            return urlunsplit(parts._replace(netloc=netloc))
        return conninfo
    return re.sub(r"(password\s*=\s*)(\S+)", r"\1***", conninfo)


class PostgresStore(Store):
    """A store in a PostgreSQL database (see the module docstring for its guarantees).

    Args:
        conninfo: a libpq connection string or URL (``postgresql://user@/db?host=/run/pg``);
            the schema is created in the connection's ``search_path``.
        lease, wall_clock, codecs, default_codec, max_result_bytes, warn_result_bytes,
        max_batch, max_readers, label: as for ``SQLiteStore`` (leases use the database
            clock; ``wall_clock`` stamps the other times).

    Raises:
        ValueError: a bad argument, named. Opening raises ``StoreError`` when psycopg is
            not installed or the server cannot be reached.
    """

    dialect = POSTGRES

    def __init__(
        self,
        conninfo: str,
        *,
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
        if not isinstance(conninfo, str) or not conninfo.strip():
            raise ValueError(f"conninfo must be a non-empty libpq string or URL; got {conninfo!r}")
        self._conninfo = conninfo
        super().__init__(
            where=_masked(conninfo),
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
    def conninfo(self) -> str:
        """The connection string, as given (it may hold a password)."""
        return self._conninfo

    def _connect(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:
            raise StoreError(
                "PostgresStore needs psycopg 3: pip install 'arborist[postgres]'"
            ) from exc
        try:
            return psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {self._where}: {exc}") from exc

    def _pipeline_connection(self, conn: Any) -> Any:
        return conn

    def _retryable(self, exc: BaseException) -> bool:
        # deadlock_detected, serialization_failure: the server aborted the transaction to
        # break a cycle of row locks (two owners' batches touching each other's runs).
        return getattr(exc, "sqlstate", None) in ("40P01", "40001")

    def _hold_liveness(self, tx: Tx) -> str | None:
        key = advisory_key(self._owner_id)
        tx.one("SELECT pg_advisory_lock(?)", (key,))
        return f"pg_advisory_lock({key})"

    def _dead_reason(self, tx: Tx, owner: OwnerInfo, now: float) -> str | None:
        reason = super()._dead_reason(tx, owner, now)
        if reason is not None:
            return reason
        key = advisory_key(owner.owner_id)
        if tx.one("SELECT pg_try_advisory_lock(?)", (key,))[0]:
            tx.one("SELECT pg_advisory_unlock(?)", (key,))
            return "lock released"
        return None

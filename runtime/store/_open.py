"""``open_store``: a store from a URL (or a store object), opened for the length of a block."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

import trio

from ._postgres import PostgresStore
from ._sqlite import SQLiteStore
from ._store import Store

__all__ = ["open_store", "store_from_url"]

_FORMS = (
    "use sqlite:///relative.db, sqlite:////absolute/path.db (optionally ?durability=power) "
    "or postgresql://user@host/db"
)


def store_from_url(url: str) -> Store:
    """A store object (not opened) for ``url``.

    ``sqlite:///relative.db`` is relative to the working directory, ``sqlite:////abs.db``
    absolute; ``?durability=power`` selects ``synchronous=FULL``. ``postgresql://`` and
    ``postgres://`` URLs (and their query parameters) go to psycopg unchanged.

    Raises:
        ValueError: the URL has another scheme, no path, or an unknown parameter; the
            message names the URL and the accepted forms.
    """
    if not isinstance(url, str):
        raise TypeError(f"a store URL must be a str; got {url!r}")
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    if url.startswith("sqlite:///"):
        rest = url.removeprefix("sqlite:///")
        path, _, query = rest.partition("?")
        if not path or path == "/":
            raise ValueError(f"store URL {url!r} names no database file: {_FORMS}")
        params = dict(parse_qsl(query, keep_blank_values=True))
        durability = params.pop("durability", "normal")
        if params:
            raise ValueError(
                f"store URL {url!r} has unknown parameters {sorted(params)}; "
                "the only one is durability=normal|power"
            )
        if durability not in ("normal", "power"):
            raise ValueError(
                f"store URL {url!r}: durability must be normal or power; got {durability!r}"
            )
        return SQLiteStore(path, durability="power" if durability == "power" else "normal")
    raise ValueError(f"store URL {url!r} is not supported: {_FORMS}")


@asynccontextmanager
async def open_store(url_or_store: str | Store) -> AsyncIterator[Store]:
    """Open a store for the block: connect, migrate, register the owner, renew its lease.

    Blocks (off the trio loop) while it connects and migrates. Inside the block the store's
    lease renewal and the hand-off of posted writes to its writer thread run in a nursery of
    its own. On leaving, the owner is closed (its unfinished
    runs become claimable by the next owner), every posted write is committed, the writer
    thread ends and the connections close; that wait is shielded from cancellation. When the
    store failed during the block and the block itself did not raise, the failure is raised
    here, so it is never lost.

    Args:
        url_or_store: a URL (see ``store_from_url``) or a ``SQLiteStore`` /
            ``PostgresStore`` not opened before.

    Raises:
        ValueError: a bad URL. SchemaVersionError: the database is newer than this code.
        StoreError: the database cannot be opened, or the store failed.

    Example::

        async with open_store("sqlite:///arborist.db") as store:
            created = await store.create_run("checkout", plan_hash="p1", inputs={"id": 1})
    """
    if isinstance(url_or_store, Store):
        store = url_or_store
    elif isinstance(url_or_store, str):
        store = store_from_url(url_or_store)
    else:
        raise TypeError(
            f"open_store() takes a store URL or a Store (SQLiteStore, PostgresStore); "
            f"got {url_or_store!r}"
        )
    await store._open()
    body_raised = False
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(store._writer.pump)
            nursery.start_soon(store.keep_lease)
            try:
                yield store
            except BaseException:
                body_raised = True
                raise
            finally:
                nursery.cancel_scope.cancel()
    finally:
        await store._close()
    failure = store._writer.failure
    if failure is not None and not body_raised:
        raise failure.with_traceback(None)

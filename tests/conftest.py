"""Fixtures shared by every layer's tests."""

import gc
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from arborist.actors import ActorSystem, open_actor_system
from arborist.runtime.store.testing import PostgresUnavailableError, TemporaryPostgres


@pytest.fixture
async def system() -> AsyncIterator[ActorSystem]:
    """An open actor system; its actors are shut down when the test ends."""
    async with open_actor_system() as opened:
        yield opened


@pytest.fixture
def live() -> Callable[[type | str], int]:
    """``live(kind)``: how many objects of ``kind`` are alive once garbage is collected.

    ``kind`` is a class (``trio.Nursery``), or a class name for a private one (``"_TaskStatus"``).
    """

    def count(kind: type | str) -> int:
        gc.collect()
        if isinstance(kind, str):
            return sum(type(obj).__name__ == kind for obj in gc.get_objects())
        return sum(type(obj) is kind for obj in gc.get_objects())

    return count


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[TemporaryPostgres]:
    """A throwaway PostgreSQL server on a Unix socket for the session (skips when absent).

    Started on first use (about a second), stopped with ``pg_ctl stop -m immediate`` at the
    end of the session. Under root the server runs as the ``postgres`` system user.
    """
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg (the test extra)")
    cluster = TemporaryPostgres()
    try:
        cluster.start()
    except PostgresUnavailableError as exc:
        pytest.skip(f"PostgreSQL cannot be started here: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()

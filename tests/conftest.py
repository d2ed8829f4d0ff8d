"""Fixtures shared by every layer's tests."""

from collections.abc import AsyncIterator, Iterator

import pytest

from arborist.actors import ActorSystem, open_actor_system
from arborist.runtime.store.testing import PostgresUnavailableError, TemporaryPostgres


@pytest.fixture
async def system() -> AsyncIterator[ActorSystem]:
    """An open actor system; its actors are shut down when the test ends."""
    async with open_actor_system() as opened:
        yield opened


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

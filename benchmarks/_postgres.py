"""A throwaway PostgreSQL cluster for the store benchmarks (W12), or None where none can run."""

from __future__ import annotations

from typing import Any

from benchmarks._harness import optional_import

__all__ = ["temporary_cluster"]


def temporary_cluster(quick: bool) -> Any:
    """A started ``TemporaryPostgres`` (fsync on, as a real server), or None.

    None in quick mode, without psycopg, or where the PostgreSQL binaries are missing: the
    benchmark then leaves out its PostgreSQL rows.
    """
    if quick or optional_import("psycopg") is None:
        return None
    from arborist.runtime.store.testing import PostgresUnavailableError, TemporaryPostgres

    cluster = TemporaryPostgres(fast=False)
    try:
        cluster.start()
    except PostgresUnavailableError:
        return None
    return cluster

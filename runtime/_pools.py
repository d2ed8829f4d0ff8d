"""Named concurrency pools, shared by every run of a runtime.

``rt.pool("db", limit=10)`` declares a pool; ``pool="db"`` on a run bounds every step of that
run, on a step bounds that step. A step needing several pools acquires them in name order, so
two steps can never hold them crosswise. A slot is held only while a step attempt executes: a
step waiting for a retry holds none, and a step that awaits a child run through its context
lends its slots back while it waits, so nested runs sharing a pool cannot deadlock.
"""

from __future__ import annotations

import math

import attrs
import trio

__all__ = ["Pool", "PoolStatistics"]


@attrs.frozen
class PoolStatistics:
    """A snapshot of a pool: its limit, slots in use and steps waiting for one."""

    name: str
    limit: int
    in_use: int
    waiting: int


def _check_limit(name: str, limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"pool {name!r}: limit must be a positive int; got {limit!r}")
    return limit


class Pool:
    """A named limit on how many step attempts run at once, FIFO for waiters.

    Created by ``Runtime.pool``; not constructed directly by users.
    """

    def __init__(self, name: str, limit: int) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"pool names are non-empty strings; got {name!r}")
        self.name = name
        self._limiter = trio.CapacityLimiter(_check_limit(name, limit))

    @property
    def limit(self) -> int:
        """The number of slots."""
        total = self._limiter.total_tokens
        return int(total) if total != math.inf else 0

    @limit.setter
    def limit(self, limit: int) -> None:
        self._limiter.total_tokens = _check_limit(self.name, limit)

    async def acquire(self, borrower: object) -> None:
        """Wait for a slot on behalf of ``borrower`` (FIFO)."""
        await self._limiter.acquire_on_behalf_of(borrower)

    def release(self, borrower: object) -> None:
        """Give back the slot held by ``borrower``."""
        self._limiter.release_on_behalf_of(borrower)

    def statistics(self) -> PoolStatistics:
        """A frozen snapshot of the pool."""
        stats = self._limiter.statistics()
        return PoolStatistics(self.name, self.limit, stats.borrowed_tokens, stats.tasks_waiting)

    def __repr__(self) -> str:
        stats = self.statistics()
        return f"<Pool {self.name!r} {stats.in_use}/{stats.limit} in use, {stats.waiting} waiting>"

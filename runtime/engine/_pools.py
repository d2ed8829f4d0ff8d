"""Named concurrency pools, shared by every run of a runtime.

``rt.pool("db", limit=10)`` declares a pool; ``pool="db"`` on a run bounds every step of that
run, on a step bounds that step. A step needing several pools acquires them in name order, so
two steps can never hold them crosswise. A slot is held only while a step attempt executes: a
step waiting for a retry holds none, and a step that awaits a child run through its context
lends its slots back while it waits, so nested runs sharing a pool cannot deadlock.

Fairness: the step attempts waiting for a slot are served FIFO within their run and
round-robin between runs (``FairLimiter``), so one big run cannot starve the others. A slot
that is free when nobody waits is taken at once.

A pool declared with ``limit=Adaptive(...)`` steers its own limit: each step attempt reports
its latency and whether it raised (``observe``), an ``AdaptiveController`` decides, and each
change is reported as a ``PoolLimitChanged`` event.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from contextlib import asynccontextmanager

import attrs
import trio

from ._adaptive import Adaptive, AdaptiveController
from ._events import PoolLimitChanged
from ._fair import FairLimiter

__all__ = ["Pool", "PoolStatistics", "holding"]


@attrs.frozen
class PoolStatistics:
    """A snapshot of a pool: its limit, slots in use and steps waiting for one.

    ``adaptive`` is True for a pool whose limit adapts (``Adaptive``); ``baseline`` is then
    its no-load latency estimate in seconds (None until measured).
    """

    name: str
    limit: int
    in_use: int
    waiting: int
    adaptive: bool = False
    baseline: float | None = None


def _check_limit(name: str, limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"pool {name!r}: limit must be a positive int; got {limit!r}")
    return limit


class Pool:
    """A named limit on how many step attempts run at once, fair between runs.

    Created by ``Runtime.pool``; not constructed directly by users.
    """

    def __init__(
        self,
        name: str,
        limit: int | Adaptive,
        *,
        on_change: Callable[[PoolLimitChanged], object] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"pool names are non-empty strings; got {name!r}")
        self.name = name
        self._on_change = on_change
        self._adaptive: AdaptiveController | None = None
        self._started: dict[object, tuple[float, int, bool]] = {}
        self._limiter = FairLimiter(1)
        self.configure(limit)

    def configure(self, limit: int | Adaptive) -> None:
        """Set a fixed limit, or (with an ``Adaptive`` spec) start adapting from its initial."""
        if isinstance(limit, Adaptive):
            self._adaptive = AdaptiveController(limit)
            self._limiter.total_tokens = limit.start
        else:
            self._limiter.total_tokens = _check_limit(self.name, limit)
            self._adaptive = None
        self._started.clear()

    @property
    def limit(self) -> int:
        """The number of slots."""
        total = self._limiter.total_tokens
        return int(total) if total != math.inf else 0

    @limit.setter
    def limit(self, limit: int) -> None:
        self.configure(limit)

    async def acquire(self, borrower: object, party: Hashable | None = None) -> None:
        """Wait for a slot on behalf of ``borrower``, queued with its ``party`` (its run).

        Waiters are served FIFO within a party and round-robin between parties; a borrower
        without a party is a party of its own.
        """
        await self._limiter.acquire_on_behalf_of(borrower, borrower if party is None else party)
        controller = self._adaptive
        if controller is not None:
            saturated = self._limiter.borrowed_tokens >= controller.limit
            self._started[borrower] = (trio.current_time(), controller.epoch, saturated)

    def release(self, borrower: object) -> None:
        """Give back the slot held by ``borrower``."""
        self._started.pop(borrower, None)
        self._limiter.release_on_behalf_of(borrower)

    def observe(self, borrower: object, *, error: bool) -> None:
        """Report how the attempt holding ``borrower``'s slot ended, before releasing it.

        Its latency is the time since its slot was granted. A fixed pool ignores the report;
        an adaptive one may change its limit and emit ``PoolLimitChanged``. A cancelled
        attempt should not be reported: it says nothing about the service.
        """
        controller = self._adaptive
        started = self._started.pop(borrower, None)
        if controller is None or started is None:
            return
        since, epoch, saturated = started
        now = trio.current_time()
        change = controller.observe(epoch, now - since, error=error, saturated=saturated)
        if change is None:
            return
        old, new, reason = change
        self._limiter.total_tokens = new
        if self._on_change is not None:
            self._on_change(PoolLimitChanged(self.name, old, new, now, reason))

    def statistics(self) -> PoolStatistics:
        """A frozen snapshot of the pool."""
        limiter = self._limiter
        controller = self._adaptive
        return PoolStatistics(
            self.name,
            self.limit,
            limiter.borrowed_tokens,
            limiter.waiting,
            adaptive=controller is not None,
            baseline=None if controller is None else controller.baseline,
        )

    def __repr__(self) -> str:
        stats = self.statistics()
        kind = " adaptive" if stats.adaptive else ""
        return (
            f"<Pool {self.name!r}{kind} {stats.in_use}/{stats.limit} in use, "
            f"{stats.waiting} waiting>"
        )


@asynccontextmanager
async def holding(
    pools: Sequence[Pool],
    borrower: object,
    held: list[Pool] | None = None,
    *,
    party: Hashable | None = None,
) -> AsyncIterator[None]:
    """Hold a slot of each pool (in the order given) around one attempt of ``party``'s run.

    ``held`` lists the slots held right now (a step context lends them to child runs and
    takes them back in place). On the way out each pool is told whether the attempt failed
    (adaptive pools learn from it; a cancelled attempt says nothing) and its slot is released.
    """
    held = [] if held is None else held
    failed: bool | None = None
    try:
        for pool in pools:
            await pool.acquire(borrower, party)
            held.append(pool)
        yield
    except Exception:
        failed = True
        raise
    else:
        failed = False
    finally:
        for pool in reversed(held):
            if failed is not None:
                pool.observe(borrower, error=failed)
            pool.release(borrower)

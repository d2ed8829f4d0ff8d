"""The runtime's shared pools and its event subscriptions: ``rt.pool`` and ``rt.subscribe``.

``Runtime`` mixes them in: pools are shared by every run of the runtime, events come from
runs, supervisors, jobs, schedules and pools through one bus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arborist.supervision._events import EventBus, Unsubscribe

from .engine._adaptive import Adaptive
from .engine._pools import Pool, PoolStatistics

__all__ = ["PoolsAndEvents"]


class PoolsAndEvents:
    """Named pools and event subscriptions (mixed into ``Runtime``)."""

    _pools: dict[str, Pool]
    _events: EventBus[Any]

    def pool(self, name: str, limit: int | Adaptive) -> Pool:
        """Declare (or reconfigure) the named pool ``name`` and return it.

        Pools are shared by every run of this runtime: ``pool="db"`` on a run or a step.
        ``limit`` is a number of slots, or ``Adaptive(min=..., max=...)`` for a limit that
        follows the service's saturation (each change is a ``PoolLimitChanged`` event for
        ``subscribe`` handlers). Reconfiguring an existing pool keeps the slots in use.
        """
        pool = self._pools.get(name)
        if pool is None:
            pool = self._pools[name] = Pool(name, limit, on_change=self._events.emit)
        else:
            pool.configure(limit)
        return pool

    def pool_statistics(self) -> list[PoolStatistics]:
        """A snapshot of every named pool (limit, slots in use, waiters), in name order.

        An adaptive pool's ``limit`` is its current limit. Never blocks.
        """
        return [self._pools[name].statistics() for name in sorted(self._pools)]

    def subscribe(self, handler: Callable[[Any], Any], *, only: Any = None) -> Unsubscribe:
        """Call ``handler(event)`` for every event of the runtime; return an unsubscribe function.

        Events: runs and steps (``RunEvent``), supervisors (``SupervisorEvent``: actor exits
        and restarts), jobs (``TaskEvent``), schedules and pools. Handlers run synchronously on
        the runtime's trio thread; one that raises is logged and does not disturb the others.

        Args:
            handler: a callable taking one event.
            only: an event class, a union or a tuple of them: deliver only those events.

        Raises:
            TypeError: ``handler`` is not callable, or ``only`` is not a class, a union or a
                tuple of classes.
        """
        return self._events.subscribe(handler, only=only)

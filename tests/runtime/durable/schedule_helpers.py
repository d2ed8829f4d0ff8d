"""Helpers of the durable-schedule tests: a fixed wall-clock origin, waiting on the store.

The tests' wall clock is a ``ManualWallClock`` moved by hand and trio's is the autojump
``MockClock``; store calls run on threads, during which the autojump clock may jump, so the
tests wait for events and store states (``until``), never for a time.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import trio

from arborist.runtime import Runtime, ScheduleRunStarted
from arborist.runtime.store import TickOutcome

__all__ = ["T0", "at", "count", "nothing", "outcomes", "registered", "settled", "started", "until"]

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def nothing() -> None:
    pass


async def until(condition: Callable[[], bool | Awaitable[bool]]) -> None:
    """Wait (on trio's autojump clock) until ``condition()`` holds."""
    while True:
        answer = condition()
        if await answer if inspect.isawaitable(answer) else answer:
            return
        await trio.sleep(1)


def count(events: list[object], kind: type) -> Callable[[], int]:
    return lambda: sum(isinstance(e, kind) for e in events)


async def registered(rt: Runtime, name: str) -> None:
    """Wait until the schedule's row is in the store (its scheduler upserted it)."""
    store = rt.store
    assert store is not None
    await until(lambda: _exists(store, name))


async def _exists(store: object, name: str) -> bool:
    return await store.get_schedule(name) is not None  # type: ignore[attr-defined,no-any-return]


def started(events: list[object]) -> list[datetime]:
    return [e.due for e in events if isinstance(e, ScheduleRunStarted)]  # type: ignore[attr-defined]


async def outcomes(rt: Runtime, name: str) -> dict[datetime, TickOutcome]:
    assert rt.store is not None
    return {t.due: t.outcome for t in await rt.store.list_ticks(name, limit=1000)}


async def settled(rt: Runtime, name: str) -> bool:
    """No tick of ``name`` is still ``claimed``: every outcome has been written."""
    return TickOutcome.CLAIMED not in (await outcomes(rt, name)).values()

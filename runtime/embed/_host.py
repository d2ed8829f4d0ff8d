"""The host both embeddings share: a runtime opened inside a trio run and kept until told to stop.

An embedding does not know how to build the runtime it hosts: it is given a factory (the
``Runtime`` class with its options) by ``Runtime.background()`` or ``open_asyncio_runtime()``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from .._runtime import Runtime, RuntimeShutdownReport

__all__ = ["Host", "RuntimeFactory", "call_on_trio"]

RuntimeFactory = Callable[[], AbstractAsyncContextManager["Runtime"]]
"""Makes the runtime an embedding hosts: ``functools.partial(Runtime, **options)``."""


class Host:
    """What both embeddings share: a Runtime opened in a trio run and kept until told to stop."""

    def __init__(self, factory: RuntimeFactory) -> None:
        self._factory = factory
        self._runtime: Runtime | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._nursery: trio.Nursery | None = None
        self._stop: trio.Event | None = None
        self._ended = False  # the trio run hosting the runtime has returned
        self.report: RuntimeShutdownReport | None = None
        """What the shutdown cut (set once the runtime has closed)."""

    async def _serve(self, ready: Callable[[], None]) -> None:
        try:
            async with self._factory() as rt, trio.open_nursery() as nursery:
                self._runtime = rt
                self._token = trio.lowlevel.current_trio_token()
                self._nursery = nursery
                self._stop = trio.Event()
                ready()
                await self._stop.wait()
                self.report = await rt.aclose()
                nursery.cancel_scope.cancel()
        finally:
            self._ended = True

    @property
    def runtime(self) -> Runtime:
        """The underlying Runtime; only for code running on the runtime's trio thread."""
        if self._runtime is None:
            raise RuntimeError("the runtime is not running")
        return self._runtime


async def call_on_trio(fn: Callable[..., Any], /, *args: Any) -> Any:
    """``fn(*args)`` in the calling trio task, awaiting what it returns if that is awaitable.

    What ``rt.call`` runs on the trio side: an async function is awaited, a plain one called.
    """
    value = fn(*args)
    if inspect.isawaitable(value):
        value = await value
    return value

"""Event subscriptions: supervisors and task supervisors report what happened to subscribers.

A handler is a plain callable taking one event (a frozen attrs value). Handlers run
synchronously on the trio thread, in subscription order; an exception in one is logged and
does not stop the others or the supervisor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from arborist.actors._logging import get_logger

__all__ = ["EventBus", "Unsubscribe"]

logger = get_logger("arborist.supervision")

E = TypeVar("E")

Unsubscribe = Callable[[], None]
"""Call it to remove the handler it was returned for (idempotent)."""


class EventBus(Generic[E]):
    """An ordered list of handlers; ``emit`` calls each with the event."""

    __slots__ = ("_handlers",)

    def __init__(self) -> None:
        # A tuple, replaced on (un)subscribe: emit iterates it without copying, and a handler
        # that subscribes or unsubscribes during an emit changes the next emit, not this one.
        self._handlers: tuple[Callable[[E], Any], ...] = ()

    def subscribe(self, handler: Callable[[E], Any]) -> Unsubscribe:
        """Call ``handler(event)`` for every later event; return a function that unsubscribes."""
        if not callable(handler):
            raise TypeError(f"event handlers are callables taking one event; got {handler!r}")
        self._handlers = (*self._handlers, handler)

        def unsubscribe() -> None:
            handlers = list(self._handlers)
            if handler in handlers:
                handlers.remove(handler)
                self._handlers = tuple(handlers)

        return unsubscribe

    def emit(self, event: E) -> None:
        """Deliver ``event`` to every handler; a failing handler is logged, never propagated."""
        for handler in self._handlers:
            try:
                handler(event)
            except Exception:
                logger.exception("event handler %r failed on %r", handler, event)

    def __bool__(self) -> bool:
        return bool(self._handlers)

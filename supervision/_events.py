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
    """An ordered list of handlers; ``emit`` calls each with the event.

    A handler subscribed with ``only=`` gets the events of those classes; ``wants(kind)`` says
    whether any handler would get an event of ``kind``, so a producer can skip building one
    that nobody takes.
    """

    __slots__ = ("_filters", "_handlers", "_wanted")

    def __init__(self) -> None:
        # A tuple, replaced on (un)subscribe: emit iterates it without copying, and a handler
        # that subscribes or unsubscribes during an emit changes the next emit, not this one.
        self._handlers: tuple[Callable[[E], Any], ...] = ()
        self._filters: tuple[Any, ...] = ()  # each handler's ``only`` (None: every event)
        self._wanted: dict[type, bool] = {}  # wants() answers, until the next (un)subscribe

    def subscribe(self, handler: Callable[[E], Any], *, only: Any = None) -> Unsubscribe:
        """Call ``handler(event)`` for every later event; return a function that unsubscribes.

        Args:
            handler: a callable taking one event.
            only: an event class, a union or a tuple of them: deliver only those events.

        Raises:
            TypeError: ``handler`` is not callable, or ``only`` is not a class, a union or a
                tuple of classes.
        """
        if not callable(handler):
            raise TypeError(f"event handlers are callables taking one event; got {handler!r}")
        delivered = handler
        if only is not None:
            try:
                isinstance(None, only)
            except TypeError:
                raise TypeError(
                    "subscribe only= takes an event class, a union or a tuple of them (e.g. "
                    f"only=RunFinished); got {only!r}"
                ) from None

            def delivered(event: E) -> None:
                if isinstance(event, only):
                    handler(event)

        self._handlers = (*self._handlers, delivered)
        self._filters = (*self._filters, only)
        self._wanted = {}

        def unsubscribe() -> None:
            for index, known in enumerate(self._handlers):
                if known is delivered:
                    self._handlers = self._handlers[:index] + self._handlers[index + 1 :]
                    self._filters = self._filters[:index] + self._filters[index + 1 :]
                    self._wanted = {}
                    return

        return unsubscribe

    def wants(self, kind: type) -> bool:
        """Whether an event of class ``kind`` emitted now would reach any handler."""
        try:
            return self._wanted[kind]
        except KeyError:
            wanted = self._wanted[kind] = any(
                only is None or issubclass(kind, only) for only in self._filters
            )
            return wanted

    def emit(self, event: E) -> None:
        """Deliver ``event`` to every handler; a failing handler is logged, never propagated."""
        for handler in self._handlers:
            try:
                handler(event)
            except Exception:
                logger.exception("event handler %r failed on %r", handler, event)

    def __bool__(self) -> bool:
        return bool(self._handlers)

"""Event subscriptions: supervisors and task supervisors report what happened to subscribers.

A handler is a plain callable taking one event (a frozen attrs value). Handlers run
synchronously on the trio thread, in subscription order; an exception in one is logged and
does not stop the others or the supervisor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from arborist.actors._logging import get_logger

__all__ = ["EventBus", "Unsubscribe"]

logger = get_logger("arborist.supervision")

E = TypeVar("E")

Unsubscribe = Callable[[], None]
"""Call it to remove the handler it was returned for (idempotent)."""


class _Wanted(dict[type, bool]):
    """Whether an event class reaches any handler of a bus (``EventBus.wanted`` shows it).

    The answers are cached until the next (un)subscribe; a class asked for the first time is
    routed then (``__missing__``). Looking one up is a C-level subscript with no Python frame,
    which is what a producer asking on every tick pays (W7: three questions a tick). The one
    mapping lives as long as its bus, so a producer may keep it.

    It holds the bus's subscriptions and routes, not the bus: no reference cycle, so a bus
    (a supervisor's, a run's) still goes with its last reference, not at a collector's pass.
    """

    __slots__ = ("entries", "routes")

    def __init__(self, routes: dict[type, tuple[Callable[[Any], Any], ...]]) -> None:
        super().__init__()
        self.entries: tuple[tuple[Callable[[Any], Any], Any], ...] = ()  # (handler, only)
        self.routes = routes  # the bus's own dict

    def __missing__(self, kind: type) -> bool:
        return bool(self.route(kind))

    def route(self, kind: type) -> tuple[Callable[[Any], Any], ...]:
        """The handlers an event of class ``kind`` reaches, in subscription order (cached)."""
        route = self.routes[kind] = tuple(
            handler for handler, only in self.entries if only is None or issubclass(kind, only)
        )
        self[kind] = bool(route)
        return route


class EventBus(Generic[E]):
    """An ordered list of handlers; ``emit`` calls each with the event.

    A handler subscribed with ``only=`` gets the events of those classes; ``wants(kind)`` says
    whether any handler would get an event of ``kind``, so a producer can skip building one
    that nobody takes.
    """

    __slots__ = ("_handlers", "_routes", "_wanted", "_wanted_view")

    def __init__(self) -> None:
        # Tuples, replaced on (un)subscribe: emit iterates one without copying, and a handler
        # that subscribes or unsubscribes during an emit changes the next emit, not this one.
        # The subscriptions themselves, (handler, only) pairs, are ``_wanted.entries``.
        self._handlers: tuple[Callable[[E], Any], ...] = ()  # every handler, in order
        # The handlers an event class reaches, worked out on first use until the next
        # (un)subscribe: emit calls them directly, with no filter around each (W7).
        self._routes: dict[type, tuple[Callable[[E], Any], ...]] = {}
        self._wanted = _Wanted(self._routes)  # wants() answers, cached with the routes
        self._wanted_view: Mapping[type, bool] = MappingProxyType(self._wanted)

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
        if only is not None:
            try:
                isinstance(None, only)
            except TypeError:
                raise TypeError(
                    "subscribe only= takes an event class, a union or a tuple of them (e.g. "
                    f"only=RunFinished); got {only!r}"
                ) from None
        entry = (handler, only)  # its identity is the subscription's
        self._set((*self._wanted.entries, entry))

        def unsubscribe() -> None:
            entries = self._wanted.entries
            for index, known in enumerate(entries):
                if known is entry:
                    self._set(entries[:index] + entries[index + 1 :])
                    return

        return unsubscribe

    def _set(self, entries: tuple[tuple[Callable[[E], Any], Any], ...]) -> None:
        self._handlers = tuple(handler for handler, _ in entries)
        # Emptied, not replaced: they are the mappings whoever keeps them sees (an emit going
        # on holds its route, a tuple, so it delivers to the handlers it started with).
        self._routes.clear()
        self._wanted.clear()
        self._wanted.entries = entries

    def wants(self, kind: type) -> bool:
        """Whether an event of class ``kind`` emitted now would reach any handler."""
        return self._wanted[kind]

    @property
    def wanted(self) -> Mapping[type, bool]:
        """``wants()`` as a read-only mapping: ``bus.wanted[kind]``, with no Python frame.

        The same mapping for the bus's whole life (it follows every (un)subscribe), so a
        producer that asks on every operation can keep it.
        """
        return self._wanted_view

    def emit(self, event: E) -> None:
        """Deliver ``event`` to every handler; a failing handler is logged, never propagated."""
        try:
            handlers = self._routes[type(event)]
        except KeyError:
            handlers = self._wanted.route(type(event))
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                logger.exception("event handler %r failed on %r", handler, event)

    def __bool__(self) -> bool:
        return bool(self._handlers)

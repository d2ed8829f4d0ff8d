"""A cell's timer, monitor and link collections, each made on first use (benchmarks W8).

Most actors never use them, and an idle actor's memory is mostly its cell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._cell import Cell
    from ._messages import Monitor
    from ._reasons import ExitReason
    from ._timers import TimerHandle

__all__ = ["LazyCollections"]


class LazyCollections:
    """The collections of ``Cell`` (its slots hold them; None until first used)."""

    __slots__ = ("_links", "_timers", "_watchers", "_watching")

    def __init__(self) -> None:
        self._timers: set[TimerHandle] | None = None
        self._watchers: dict[Monitor, Callable[[ExitReason], object]] | None = None
        self._watching: set[Monitor] | None = None
        self._links: set[Cell] | None = None

    @property
    def timers(self) -> set[TimerHandle]:
        """This actor's live timers (cancelled when it exits)."""
        if self._timers is None:
            self._timers = set()
        return self._timers

    @property
    def watchers(self) -> dict[Monitor, Callable[[ExitReason], object]]:
        """Monitors of this actor, each with the callback its exit triggers."""
        if self._watchers is None:
            self._watchers = {}
        return self._watchers

    @property
    def watching(self) -> set[Monitor]:
        """Monitors this actor holds on others (dropped from their targets when it exits)."""
        if self._watching is None:
            self._watching = set()
        return self._watching

    @property
    def links(self) -> set[Cell]:
        """The cells linked with this one."""
        if self._links is None:
            self._links = set()
        return self._links

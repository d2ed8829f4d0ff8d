"""A cell's timer, monitor and link collections, and the monitor and link verbs.

The collections are made on first use (benchmarks W8).

Most actors never use them, and an idle actor's memory is mostly its cell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from ._messages import Down, Monitor

if TYPE_CHECKING:
    from ._cell import Cell
    from ._mailbox import Mailbox
    from ._reasons import ExitReason
    from ._ref import ActorRef
    from ._timers import TimerHandle

__all__ = ["LazyCollections"]


class _SendDown:
    """A monitor's callback: put ``Down(target, reason)`` in the watcher's mailbox.

    One object where a closure is four (function, cells, their tuple): every supervised
    child has one, and the collector walks them all (W7 at 10,000 schedules).
    """

    __slots__ = ("mailbox", "target")

    def __init__(self, mailbox: Mailbox, target: ActorRef) -> None:
        self.mailbox = mailbox
        self.target = target

    def __call__(self, reason: ExitReason) -> None:
        self.mailbox.put_system(Down(self.target, reason))


class LazyCollections:
    """The collections of ``Cell`` (its slots hold them; None until first used)."""

    __slots__ = ("_links", "_timers", "_watchers", "_watching")

    if TYPE_CHECKING:  # provided by Cell
        exit_reason: ExitReason | None
        mailbox: Mailbox
        ref: ActorRef

        def exit_signal(self, sender: ActorRef, reason: ExitReason) -> None: ...

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

    # -- monitors and links ------------------------------------------------------------------

    def add_watcher(self, monitor: Monitor, callback: Callable[[ExitReason], object]) -> None:
        """Call ``callback(reason)`` when this actor ends (at once if it already has)."""
        if self.exit_reason is not None:
            callback(self.exit_reason)
            return
        self.watchers[monitor] = callback
        if monitor.watcher is not None:
            monitor.watcher.watching.add(monitor)

    def monitor(self, target: ActorRef) -> Monitor:
        """Deliver ``Down(target, reason)`` to this actor's mailbox when ``target`` ends."""
        monitor = Monitor(target, cast("Cell", self))  # a Cell's mixin
        mailbox = self.mailbox
        target._cell.add_watcher(monitor, _SendDown(mailbox, target))
        return monitor

    def link(self, other: Cell) -> None:
        """Link both ways; if ``other`` is already dead this actor gets its exit signal now."""
        if other is self:
            raise ValueError("an actor cannot link to itself")
        if other.exit_reason is not None:
            self.exit_signal(other.ref, other.exit_reason)
            return
        self.links.add(other)
        other.links.add(cast("Cell", self))

"""Messages the kernel delivers to actors, and the ``Monitor`` handle that ``Down`` comes from.

``Down`` is delivered for a monitor, ``Exit`` for a trapped link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ._cell import Cell
    from ._reasons import ExitReason
    from ._ref import ActorRef

__all__ = ["Down", "Exit", "Monitor"]


@attrs.frozen
class Down:
    """A monitored actor ended. Delivered once per monitor, also for an already-dead target.

    Attributes:
        ref: the actor that ended.
        reason: why it ended.
    """

    ref: ActorRef
    reason: ExitReason


@attrs.frozen
class Exit:
    """A linked actor ended; delivered as a message only to actors that trap exits.

    Attributes:
        ref: the linked actor that ended.
        reason: why it ended.
    """

    ref: ActorRef
    reason: ExitReason


class Monitor:
    """A handle on one monitor; pass it to ``Actor.demonitor`` to stop watching."""

    __slots__ = ("target", "watcher")

    def __init__(self, target: ActorRef, watcher: Cell | None) -> None:
        self.target = target
        self.watcher = watcher

    def __repr__(self) -> str:
        return f"<Monitor of {self.target!r}>"

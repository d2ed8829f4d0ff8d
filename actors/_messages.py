"""Messages the kernel delivers to actors: ``Down`` for monitors, ``Exit`` for trapped links."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ._reasons import ExitReason
    from ._ref import ActorRef

__all__ = ["Down", "Exit"]


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

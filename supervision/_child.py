"""A supervisor's record of one child, and the messages a supervisor handles besides ``Down``.

``Child`` is mutable run-time state owned by one supervisor (changed only in its handler). The
messages are frozen values: timer and self messages that drive restarts, and the ``Request``s
supervisor refs send with ``ask`` (each answered with an ``outcome``).
"""

from __future__ import annotations

from collections.abc import Hashable

import attrs
import trio

from arborist.actors import ActorRef, ExitReason, Monitor

from ._snapshot import ChildInfo, ChildState
from ._spec import ChildSpec

__all__ = [
    "RESTARTING",
    "RUNNING",
    "STOPPED",
    "Child",
    "CountChildren",
    "Request",
    "RestartDue",
    "Snapshot",
    "TryAgain",
    "WhichChildren",
]

RUNNING = ChildState.RUNNING
RESTARTING = ChildState.RESTARTING
STOPPED = ChildState.STOPPED


@attrs.define(eq=False)
class Child:
    """A supervisor's record of one child: its spec and its current incarnation, if any."""

    key: Hashable
    spec: ChildSpec
    ref: ActorRef | None = None
    monitor: Monitor | None = None
    state: ChildState = STOPPED
    restarts: int = 0
    pending: object | None = None
    started_at: float = 0.0
    uptime: float = 0.0
    streak: int = 0
    changed: trio.Event | None = None
    user_key: Hashable | None = None

    def notify(self) -> None:
        """Wake whoever waits for this child to change state (``get_or_start`` callers)."""
        if self.changed is not None:
            self.changed.set()
            self.changed = None

    def info(self) -> ChildInfo:
        """The public view of this child."""
        return ChildInfo(self.spec.id, self.ref, self.spec.kind, self.spec.restart, self.state)

    def __repr__(self) -> str:
        return f"<Child {self.spec.id!r} {self.state} ref={self.ref!r}>"


@attrs.frozen
class RestartDue:
    """Timer message: the backoff delay of a restart group is over."""

    token: object
    delay: float


@attrs.frozen
class TryAgain:
    """Self-message: a child failed to start during a restart; restart it again.

    ``reason`` (``Crashed`` with the start error) is what a give-up reports if this retry is
    one restart too many.
    """

    key: Hashable
    token: object
    reason: ExitReason


@attrs.frozen
class Request:
    """Base of the requests a supervisor ref sends with ``ask``; answered with an outcome."""


@attrs.frozen
class WhichChildren(Request):
    """Request: list the children."""


@attrs.frozen
class CountChildren(Request):
    """Request: count the children."""


@attrs.frozen
class Snapshot(Request):
    """Request: a snapshot of this supervisor's subtree, under the id its parent knows."""

    id: Hashable | None
    restart_count: int

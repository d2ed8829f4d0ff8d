"""Supervisor events: what happened to a supervisor's children, as frozen values.

Every event carries the supervisor's ref, the child's id, ``time`` (``trio.current_time()``
when it happened) and ``wall_time`` (``time.time()`` then; keyword-only, left out of
equality). A supervisor delivers its events to its own subscribers and then to its parent
supervisor's, so subscribing to the root of a tree sees the whole tree.
"""

from __future__ import annotations

import time as _time
from collections.abc import Hashable
from typing import TypeAlias

import attrs

from arborist.actors import ActorRef, ExitReason

__all__ = ["ChildExited", "ChildRestarted", "ChildStarted", "SupervisorEvent", "SupervisorGaveUp"]


@attrs.frozen
class ChildStarted:
    """An incarnation of a child started (first start, ``start_child``, and every restart).

    Attributes:
        supervisor: the supervisor's ref.
        id: the child's id.
        ref: the new incarnation.
        time: trio time of the event.
        wall_time: seconds since the epoch when the event was built.
    """

    supervisor: ActorRef
    id: Hashable
    ref: ActorRef
    time: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ChildExited:
    """An incarnation of a child ended, on its own or stopped by the supervisor.

    Attributes:
        supervisor: the supervisor's ref.
        id: the child's id.
        ref: the incarnation that ended.
        reason: its exit reason.
        time: trio time of the event.
        wall_time: seconds since the epoch when the event was built.
    """

    supervisor: ActorRef
    id: Hashable
    ref: ActorRef
    reason: ExitReason
    time: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class ChildRestarted:
    """The supervisor restarted a child (the one that exited, or a sibling under its strategy).

    Attributes:
        supervisor: the supervisor's ref.
        id: the child's id.
        ref: the new incarnation.
        restart_count: how many times this supervisor has restarted this child so far.
        delay: the backoff delay waited before the restart, in seconds (0.0 without backoff).
        time: trio time of the event.
        wall_time: seconds since the epoch when the event was built.
    """

    supervisor: ActorRef
    id: Hashable
    ref: ActorRef
    restart_count: int
    delay: float
    time: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


@attrs.frozen
class SupervisorGaveUp:
    """Restart intensity exceeded: the supervisor stops every child and ends crashed.

    Attributes:
        supervisor: the supervisor's ref.
        id: the child whose exit went over the limit.
        reason: that child's exit reason.
        time: trio time of the event.
        wall_time: seconds since the epoch when the event was built.
    """

    supervisor: ActorRef
    id: Hashable
    reason: ExitReason
    time: float
    wall_time: float = attrs.field(factory=_time.time, kw_only=True, eq=False)


SupervisorEvent: TypeAlias = ChildStarted | ChildExited | ChildRestarted | SupervisorGaveUp
"""Any supervisor event."""

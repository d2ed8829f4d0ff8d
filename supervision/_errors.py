"""Errors raised by supervisors; each names the supervisor and the child it is about."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from arborist.actors import ActorStartError

if TYPE_CHECKING:
    from arborist.actors import ExitReason

__all__ = [
    "ChildExistsError",
    "ChildNotFoundError",
    "ChildStartError",
    "ChildStateError",
    "SupervisorError",
    "SupervisorGaveUpError",
    "TooManyChildrenError",
]


class SupervisorError(Exception):
    """Base class of the errors supervisors raise (``ChildStartError`` is also ActorStartError)."""


class ChildStartError(ActorStartError, SupervisorError):
    """A child failed to start; the child's own error is chained as ``__cause__``.

    Raised by ``start_supervisor`` (a child of the initial spec failed: the children already
    started were stopped in reverse order), by ``start_child`` and ``restart_child``.

    Attributes:
        supervisor: a description of the supervisor.
        child_id: the id of the child that failed.
        cause: the child's error (also ``__cause__``).
    """

    def __init__(self, supervisor: str, child_id: Hashable, cause: BaseException) -> None:
        super().__init__(supervisor, cause)
        self.supervisor = supervisor
        self.child_id = child_id
        self.cause = cause
        self.args = (
            f"supervisor {supervisor} could not start child {child_id!r}: "
            f"{type(cause).__name__}: {cause}",
        )


class SupervisorGaveUpError(SupervisorError):
    """Restart intensity exceeded: the supervisor stopped every child and ended.

    A supervisor that gives up ends with ``Crashed(SupervisorGaveUpError(...))``, so its own
    supervisor sees a crash (escalation). When the last exit was a crash, that exception is
    chained as ``__cause__``.

    Attributes:
        supervisor: a description of the supervisor.
        child_id: the child whose exit went over the limit.
        reason: that child's exit reason.
        max_restarts: the supervisor's ``max_restarts``.
        max_seconds: the supervisor's ``max_seconds``.
    """

    def __init__(
        self,
        supervisor: str,
        child_id: Hashable,
        reason: ExitReason,
        max_restarts: int,
        max_seconds: float,
    ) -> None:
        self.supervisor = supervisor
        self.child_id = child_id
        self.reason = reason
        self.max_restarts = max_restarts
        self.max_seconds = max_seconds
        super().__init__(
            f"supervisor {supervisor} gave up: more than {max_restarts} restarts within "
            f"{max_seconds:g} s; the last was child {child_id!r} ({reason})"
        )


class TooManyChildrenError(SupervisorError):
    """A dynamic supervisor already holds ``max_children`` children (restarting ones count).

    Attributes:
        supervisor: a description of the supervisor.
        max_children: the limit.
    """

    def __init__(self, supervisor: str, max_children: int) -> None:
        self.supervisor = supervisor
        self.max_children = max_children
        super().__init__(
            f"dynamic supervisor {supervisor} already has max_children={max_children} children "
            "(restarting ones count); terminate a child first or raise max_children"
        )


class ChildNotFoundError(SupervisorError, LookupError):
    """No child with that id (or ref) belongs to the supervisor.

    Attributes:
        supervisor: a description of the supervisor.
        child: the id or ref asked for.
    """

    def __init__(self, supervisor: str, child: object) -> None:
        self.supervisor = supervisor
        self.child = child
        super().__init__(f"supervisor {supervisor} has no child {child!r}")


class ChildExistsError(SupervisorError, ValueError):
    """``start_child`` got a spec whose id the supervisor already holds.

    Attributes:
        supervisor: a description of the supervisor.
        child_id: the duplicated id.
        state: the existing child's state (``"running"``, ``"restarting"`` or ``"stopped"``).
    """

    def __init__(self, supervisor: str, child_id: Hashable, state: str) -> None:
        self.supervisor = supervisor
        self.child_id = child_id
        self.state = state
        hint = (
            "restart_child() it, or delete_child() it first"
            if state == "stopped"
            else "terminate_child() and delete_child() it first, or choose another id"
        )
        super().__init__(
            f"supervisor {supervisor} already has a child {child_id!r} ({state}); {hint}"
        )


class ChildStateError(SupervisorError):
    """The child is in the wrong state for the request (e.g. ``delete_child`` on a running one).

    Attributes:
        supervisor: a description of the supervisor.
        child_id: the child.
        state: its current state.
    """

    def __init__(self, supervisor: str, child_id: Hashable, state: str, request: str) -> None:
        self.supervisor = supervisor
        self.child_id = child_id
        self.state = state
        super().__init__(
            f"supervisor {supervisor} cannot {request} child {child_id!r}: it is {state}; "
            f"{request} needs a stopped child (terminate_child() it first)"
        )

"""Supervisor refs: the typed handle every supervisor kind shares, and how it asks its actor.

A supervisor ref wraps the ``ActorRef`` of a supervisor actor. Its calls go through the
supervisor's mailbox (``ask``), so they are answered one at a time, after the exits already
queued; an error a request raises comes back as an outcome and is raised at the caller, never
in the supervisor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, cast

import attrs
import trio

from arborist.actors import DEFAULT_ASK_TIMEOUT, ActorRef, AskTimeoutError, ExitReason
from arborist.actors._checks import check_timeout

from ._child import CountChildren, Request, Snapshot, WhichChildren
from ._child_events import SupervisorEvent
from ._core import SupervisorBase
from ._events import Unsubscribe
from ._snapshot import ChildCounts, ChildInfo, NodeSnapshot, TreeSnapshot
from ._spec import INFINITY

__all__ = ["SupervisorRefBase", "call", "supervisor_actor"]


def supervisor_actor(ref: ActorRef) -> SupervisorBase:
    """The supervisor actor behind ``ref`` (same trio thread; used for sync subscriptions).

    ``ref`` comes from a ``SupervisorRefBase``, whose validator checked its actor class.
    """
    return cast("SupervisorBase", ref._cell.actor)


async def call(ref: ActorRef, request: Request, timeout: float | None) -> Any:
    """Ask a supervisor and unwrap its outcome (its errors are raised here, not in it)."""
    result = await ref.ask(request, timeout=timeout)
    return result.unwrap()


@attrs.frozen
class SupervisorRefBase:
    """What every supervisor ref offers: children, counts, snapshots, events, shutdown."""

    ref: ActorRef = attrs.field()

    _expected: ClassVar[type[SupervisorBase]] = SupervisorBase

    @ref.validator
    def _check_ref(self, attribute: Any, value: ActorRef) -> None:
        expected = type(self)._expected
        if not isinstance(value, ActorRef) or not issubclass(value.actor_class, expected):
            raise TypeError(
                f"{type(self).__name__} wraps the ActorRef of a {expected.__name__}; got {value!r}"
            )

    @property
    def name(self) -> str | None:
        """The supervisor's registered name, or None."""
        name: str | None = self.ref.name
        return name

    @property
    def is_alive(self) -> bool:
        """Whether the supervisor is still running."""
        alive: bool = self.ref.is_alive
        return alive

    async def which_children(self, *, timeout: float | None = None) -> list[ChildInfo]:
        """Every child in start order: id, ref (None unless running), kind, restart, state.

        Goes through the supervisor's mailbox, so exits it has not handled yet are not seen.

        Raises:
            ActorDeadError: the supervisor has ended.
        """
        result: list[ChildInfo] = await call(self.ref, WhichChildren(), timeout)
        return result

    async def count_children(self, *, timeout: float | None = None) -> ChildCounts:
        """OTP's counts: specs, active (running), supervisors and workers."""
        result: ChildCounts = await call(self.ref, CountChildren(), timeout)
        return result

    async def tree(self, *, timeout: float | None = DEFAULT_ASK_TIMEOUT) -> TreeSnapshot:
        """A frozen snapshot of the whole tree under this supervisor (``str()`` draws it).

        Each supervisor answers from its own mailbox, children after their parent.

        Raises:
            AskTimeoutError: the tree did not answer within ``timeout``.
            TypeError, ValueError: ``timeout`` is not None or a number of seconds >= 0.
        """
        check_timeout(timeout, "tree timeout")
        with trio.move_on_after(INFINITY if timeout is None else timeout):
            node: NodeSnapshot = await call(self.ref, Snapshot(None, 0), None)
            return TreeSnapshot(node, trio.current_time())
        raise AskTimeoutError(self.ref, "tree()", INFINITY if timeout is None else timeout)

    def subscribe(self, handler: Callable[[SupervisorEvent], Any]) -> Unsubscribe:
        """Call ``handler(event)`` for every later event of this supervisor and its subtree.

        Handlers run synchronously in the supervisor, in subscription order; one that raises
        is logged and does not disturb the others. Returns a function that unsubscribes.
        """
        return supervisor_actor(self.ref)._events.subscribe(handler)

    async def shutdown(self, timeout: float | None = None) -> ExitReason:
        """Stop the supervisor (its children in reverse start order) and wait for its exit.

        Args:
            timeout: kill it after this many seconds; None (default) waits, as OTP's
                ``infinity`` for supervisors.

        Raises:
            TypeError, ValueError: ``timeout`` is not None or a number of seconds >= 0.
        """
        return await self.ref.shutdown(timeout)

    async def wait_exit(self) -> ExitReason:
        """Wait until the supervisor has ended and return its exit reason."""
        return await self.ref.wait_exit()

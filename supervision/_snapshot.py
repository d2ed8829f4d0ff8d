"""Introspection values: child info, child counts and frozen snapshots of a supervision tree.

``str(snapshot)`` renders a box-drawing tree, one line per node::

    app  one_for_one  running
    ├── db  Db  running  restarts=1
    └── workers  one_for_all  running
        ├── a  Worker  running
        └── b  Worker  restarting  restarts=2
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable, Iterator

import attrs

from arborist.actors import ActorRef

from ._spec import Kind, Restart, Strategy

__all__ = ["ChildCounts", "ChildInfo", "ChildState", "NodeSnapshot", "TreeSnapshot"]


class ChildState(enum.StrEnum):
    """A child's state as its supervisor sees it (compares equal to the plain strings)."""

    RUNNING = "running"
    """An incarnation is alive."""
    RESTARTING = "restarting"
    """The supervisor will start it again (waiting for a backoff delay or a retry)."""
    STOPPED = "stopped"
    """No incarnation, none planned: it exited for good or was terminated; the spec stays."""


@attrs.frozen
class ChildInfo:
    """One child as ``which_children()`` reports it.

    Attributes:
        id: the child's id.
        ref: the live incarnation, or None when restarting or stopped.
        kind: worker or supervisor.
        restart: its restart type.
        state: ``"running"``, ``"restarting"`` or ``"stopped"``.
    """

    id: Hashable
    ref: ActorRef | None
    kind: Kind
    restart: Restart
    state: ChildState


@attrs.frozen
class ChildCounts:
    """What ``count_children()`` reports (OTP's four counts).

    Attributes:
        specs: every child spec, running or not.
        active: children with a live incarnation.
        supervisors: children of kind supervisor, running or not.
        workers: children of kind worker, running or not.
    """

    specs: int
    active: int
    supervisors: int
    workers: int


def _to_nodes(children: Iterable[NodeSnapshot]) -> tuple[NodeSnapshot, ...]:
    return tuple(children)


@attrs.frozen
class NodeSnapshot:
    """One node of a tree snapshot: a supervisor (with children) or a worker.

    Attributes:
        id: the child id (for the root: its registered name or its class name).
        kind: worker or supervisor.
        state: ``"running"``, ``"restarting"`` or ``"stopped"``.
        restart_count: how many times its supervisor restarted it (0 for the root).
        mailbox_size: messages waiting in its mailbox (0 when not running).
        actor: the actor class name (None when not running).
        strategy: a static supervisor's strategy, or None.
        children: the child nodes in start order.
    """

    id: Hashable
    kind: Kind
    state: ChildState
    restart_count: int = 0
    mailbox_size: int = 0
    actor: str | None = None
    strategy: Strategy | None = None
    children: tuple[NodeSnapshot, ...] = attrs.field(default=(), converter=_to_nodes)

    def walk(self) -> Iterator[tuple[int, NodeSnapshot]]:
        """Yield ``(depth, node)`` for this node and every descendant, depth first in order."""
        stack: list[tuple[int, NodeSnapshot]] = [(0, self)]
        while stack:
            depth, node = stack.pop()
            yield depth, node
            stack.extend((depth + 1, child) for child in reversed(node.children))

    def label(self) -> str:
        """This node's line without the tree drawing: id, actor or strategy, state, counts."""
        parts = [_id_text(self.id)]
        if self.strategy is not None:
            parts.append(str(self.strategy))
        elif self.actor is not None:
            parts.append(self.actor)
        parts.append(str(self.state))
        if self.restart_count:
            parts.append(f"restarts={self.restart_count}")
        if self.mailbox_size:
            parts.append(f"mailbox={self.mailbox_size}")
        return "  ".join(parts)

    def render(self) -> str:
        """The subtree as box-drawing text, one line per node."""
        lines = [self.label()]
        _render_children(self, "", lines)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def _id_text(child_id: Hashable) -> str:
    """A child id as a tree line shows it: a tuple's parts joined by colons, else ``str``."""
    if isinstance(child_id, tuple):
        return ":".join(_id_text(part) for part in child_id)
    return str(child_id)


def _render_children(node: NodeSnapshot, prefix: str, lines: list[str]) -> None:
    last = len(node.children) - 1
    for index, child in enumerate(node.children):
        branch, extend = ("└── ", "    ") if index == last else ("├── ", "│   ")
        lines.append(prefix + branch + child.label())
        _render_children(child, prefix + extend, lines)


@attrs.frozen
class TreeSnapshot:
    """A frozen picture of a whole supervision tree, taken at one trio time.

    Attributes:
        root: the root supervisor's node.
        time: trio time when it was taken.
    """

    root: NodeSnapshot
    time: float

    def walk(self) -> Iterator[tuple[int, NodeSnapshot]]:
        """Yield ``(depth, node)`` for every node, depth first in start order."""
        return self.root.walk()

    def find(self, *path: Hashable) -> NodeSnapshot:
        """The node reached by following child ids from the root.

        Raises:
            LookupError: no child has the next id.
        """
        node = self.root
        for step in path:
            for child in node.children:
                if child.id == step:
                    node = child
                    break
            else:
                ids = [child.id for child in node.children]
                raise LookupError(f"node {node.id!r} has no child {step!r}; its children: {ids}")
        return node

    def __str__(self) -> str:
        return self.root.render()

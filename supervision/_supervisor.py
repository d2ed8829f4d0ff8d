"""Supervisor: a static supervision tree node with OTP semantics, and its typed ref.

``start_supervisor(system, SupervisorSpec(...))`` starts the children one after another in spec
order (each once its ``on_start`` returned) and returns a ``SupervisorRef``. See
``arborist.supervision`` for the semantics and the deliberate differences from OTP.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, ClassVar

import attrs
import trio

from arborist.actors import (
    DEFAULT_ASK_TIMEOUT,
    ActorRef,
    ActorStartError,
    ActorSystem,
    AskTimeoutError,
    ExitReason,
)

from ._child_events import SupervisorEvent
from ._core import Child, CountChildren, Request, Snapshot, SupervisorBase, WhichChildren
from ._errors import ChildExistsError, ChildNotFoundError, ChildStartError, ChildStateError
from ._events import Unsubscribe
from ._snapshot import ChildCounts, ChildInfo, ChildState, NodeSnapshot, TreeSnapshot
from ._spec import INFINITY, ChildSpec, Strategy, SupervisorSpec, check_significant

__all__ = ["Supervisor", "SupervisorRef", "start_supervisor"]


@attrs.frozen
class StartChild(Request):
    """Request: add a child spec at the end and start it."""

    spec: ChildSpec


@attrs.frozen
class TerminateChild(Request):
    """Request: stop a child, keeping its spec (a temporary one is dropped)."""

    id: Hashable


@attrs.frozen
class RestartChild(Request):
    """Request: start a stopped child again."""

    id: Hashable


@attrs.frozen
class DeleteChild(Request):
    """Request: forget a stopped child's spec."""

    id: Hashable


class Supervisor(SupervisorBase):
    """The actor behind a static supervisor. Start it with ``start_supervisor``.

    Its state lives in the actor and changes only in its message handler, so child exits and
    requests are handled one at a time, in mailbox order.
    """

    def __init__(
        self,
        spec: SupervisorSpec,
        *,
        upstream: SupervisorBase | None = None,
        child_id: Hashable | None = None,
    ) -> None:
        if not isinstance(spec, SupervisorSpec):
            raise TypeError(f"Supervisor takes a SupervisorSpec; got {spec!r}")
        super().__init__(
            max_restarts=spec.max_restarts,
            max_seconds=spec.max_seconds,
            backoff=spec.backoff,
            auto_shutdown=spec.auto_shutdown,
            upstream=upstream,
            child_id=child_id,
        )
        self.spec = spec
        self.strategy = spec.strategy

    async def on_start(self) -> None:
        """Start the children in spec order; on a failure stop the started ones and raise."""
        for spec in self.spec.children:
            child = Child(spec.id, spec)
            self._children[spec.id] = child
            try:
                await self._start(child)
            except ChildStartError:
                del self._children[spec.id]
                await self._terminate_all()
                raise

    def _restart_group(self, child: Child) -> list[Child]:
        if self.strategy is Strategy.ONE_FOR_ONE:
            return [child]
        children = list(self._children.values())
        if self.strategy is Strategy.ONE_FOR_ALL:
            return children
        return children[children.index(child) :]

    def _find(self, child_id: Hashable) -> Child:
        try:
            return self._children[child_id]
        except (KeyError, TypeError):
            raise ChildNotFoundError(self.label, child_id) from None

    async def _handle(self, request: Request) -> Any:
        match request:
            case StartChild(spec):
                return await self._start_new(spec)
            case TerminateChild(child_id):
                child = self._find(child_id)
                await self._terminate(child)
                self._retire(child)
                return None
            case RestartChild(child_id):
                child = self._find(child_id)
                if child.state is not ChildState.STOPPED:
                    raise ChildStateError(self.label, child_id, child.state, "restart_child")
                return await self._start(child)
            case DeleteChild(child_id):
                child = self._find(child_id)
                if child.state is not ChildState.STOPPED:
                    raise ChildStateError(self.label, child_id, child.state, "delete_child")
                del self._children[child_id]
                return None
        return await super()._handle(request)

    async def _start_new(self, spec: ChildSpec) -> ActorRef:
        if not isinstance(spec, ChildSpec):
            raise TypeError(f"start_child takes a ChildSpec; got {spec!r}")
        check_significant(spec, self._auto_shutdown)
        existing = self._children.get(spec.id)
        if existing is not None:
            raise ChildExistsError(self.label, spec.id, existing.state)
        child = Child(spec.id, spec)
        self._children[spec.id] = child
        try:
            return await self._start(child)
        except ChildStartError:
            del self._children[spec.id]
            raise


def supervisor_actor(ref: ActorRef) -> SupervisorBase:
    """The supervisor actor behind ``ref`` (same trio thread; used for sync subscriptions)."""
    actor = ref._cell.actor
    assert isinstance(actor, SupervisorBase)
    return actor


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
        """
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
        """
        return await self.ref.shutdown(timeout)

    async def wait_exit(self) -> ExitReason:
        """Wait until the supervisor has ended and return its exit reason."""
        return await self.ref.wait_exit()


@attrs.frozen
class SupervisorRef(SupervisorRefBase):
    """A typed handle on a static ``Supervisor``; ``.ref`` is its ``ActorRef``.

    Build one from a supervisor's ``ActorRef`` (e.g. a nested supervisor from
    ``which_children()``) with ``SupervisorRef(ref)``. Calls wait for the supervisor as OTP's
    calls do (``timeout=None``); errors raised by a request are raised here, never in the
    supervisor.
    """

    _expected: ClassVar[type[SupervisorBase]] = Supervisor

    async def start_child(self, spec: ChildSpec, *, timeout: float | None = None) -> ActorRef:
        """Add ``spec`` after the existing children and start it; return its ref.

        Raises:
            ChildExistsError: a child with that id exists (running, restarting or stopped).
            ChildStartError: it failed to start (cause chained); the spec is not kept.
            ValueError: it is significant but the supervisor's auto_shutdown is NEVER.
        """
        ref: ActorRef = await call(self.ref, StartChild(spec), timeout)
        return ref

    async def terminate_child(self, child_id: Hashable, *, timeout: float | None = None) -> None:
        """Stop a child within its shutdown time; it is not restarted.

        Its spec stays, ``stopped`` (a temporary child's spec is dropped). A pending restart
        is cancelled.

        Raises:
            ChildNotFoundError: no child has that id.
        """
        await call(self.ref, TerminateChild(child_id), timeout)

    async def restart_child(self, child_id: Hashable, *, timeout: float | None = None) -> ActorRef:
        """Start a stopped child again (not counted against the intensity); return its ref.

        Raises:
            ChildNotFoundError: no child has that id.
            ChildStateError: it is running or restarting.
            ChildStartError: it failed to start (it stays stopped).
        """
        ref: ActorRef = await call(self.ref, RestartChild(child_id), timeout)
        return ref

    async def delete_child(self, child_id: Hashable, *, timeout: float | None = None) -> None:
        """Forget a stopped child's spec.

        Raises:
            ChildNotFoundError: no child has that id.
            ChildStateError: it is running or restarting.
        """
        await call(self.ref, DeleteChild(child_id), timeout)


async def start_supervisor(
    system: ActorSystem,
    spec: SupervisorSpec,
    *,
    name: str | None = None,
    nursery: trio.Nursery | None = None,
) -> SupervisorRef:
    """Start a supervisor and its children (in spec order) and return its ref.

    Returns once every child's ``on_start`` has returned. The supervisor lives in ``nursery``
    (default: the system's, which shuts it down when the system closes).

    Args:
        system: the actor system.
        spec: the children, strategy and intensity.
        name: register the supervisor under this name.
        nursery: run it in this nursery instead of the system's.

    Raises:
        ChildStartError: a child failed to start (names it; the cause is chained); the children
            already started were stopped in reverse order.
        TypeError: ``spec`` is not a SupervisorSpec.

    Example:
        >>> spec = SupervisorSpec([ChildSpec("db", Db)])  # doctest: +SKIP
        >>> sup = await start_supervisor(system, spec)  # doctest: +SKIP
        >>> await sup.which_children()  # doctest: +SKIP
    """
    if not isinstance(spec, SupervisorSpec):
        raise TypeError(
            f"start_supervisor takes a SupervisorSpec; got {spec!r} "
            "(for a dynamic supervisor use start_dynamic_supervisor)"
        )
    try:
        ref = await system.spawn(Supervisor, spec, name=name, nursery=nursery)
    except ActorStartError as error:
        cause = error.__cause__
        if isinstance(cause, ChildStartError):
            raise cause from cause.__cause__
        raise
    return SupervisorRef(ref)

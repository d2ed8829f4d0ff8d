"""Supervisor: a static supervision tree node with OTP semantics: its spec, actor and typed ref.

``start_supervisor(system, SupervisorSpec(...))`` starts the children one after another in spec
order (each once its ``on_start`` returned) and returns a ``SupervisorRef``. See
``arborist.supervision`` for the semantics and the deliberate differences from OTP.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, ClassVar

import attrs
import trio

from arborist.actors import ActorRef, ActorStartError, ActorSystem
from arborist.actors._checks import check_items
from arborist.actors._system import check_system

from ._backoff import Backoff
from ._child import Child, Request
from ._core import SupervisorBase
from ._errors import ChildExistsError, ChildNotFoundError, ChildStartError, ChildStateError
from ._refs import SupervisorRefBase, call
from ._snapshot import ChildState
from ._spec import (
    AutoShutdown,
    ChildSpec,
    Strategy,
    check_enum,
    check_restart_limits,
    check_significant,
    describe,
    to_auto_shutdown,
    to_strategy,
)

__all__ = ["Supervisor", "SupervisorRef", "SupervisorSpec", "start_supervisor"]


def _to_children(children: Any) -> tuple[Any, ...]:
    return check_items(children, "SupervisorSpec children", hint=" of ChildSpecs")


def _check_children(instance: Any, attribute: Any, children: tuple[Any, ...]) -> None:
    seen: set[Hashable] = set()
    for index, child in enumerate(children):
        if not isinstance(child, ChildSpec):
            raise TypeError(
                f"children[{index}] must be a ChildSpec; got {describe(child)} "
                f"(wrap it: ChildSpec('id', {child!r}))"
            )
        if child.id in seen:
            raise ValueError(
                f"child ids must be unique within a supervisor; duplicated: {child.id!r}"
            )
        seen.add(child.id)


@attrs.frozen
class SupervisorSpec:
    """A static supervisor: its children, restart strategy and restart intensity.

    Also usable as ``ChildSpec.start`` to nest a supervisor (kind SUPERVISOR, shutdown
    INFINITY by default).

    Attributes:
        children: the child specs, in start order (ids unique).
        strategy: ``Strategy.ONE_FOR_ONE`` (default), ``ONE_FOR_ALL`` or ``REST_FOR_ONE``.
        max_restarts: more than this many restarts within ``max_seconds`` and the supervisor
            gives up (default 3, as Elixir).
        max_seconds: the intensity window in seconds (default 5).
        backoff: an optional ``Backoff`` delay before each restart (beyond OTP).
        auto_shutdown: end by itself when significant children are done (default NEVER).

    Example:
        >>> SupervisorSpec([ChildSpec("db", Db), ChildSpec("web", Web)],  # doctest: +SKIP
        ...                strategy=Strategy.REST_FOR_ONE)
    """

    children: tuple[ChildSpec, ...] = attrs.field(
        default=(), converter=_to_children, validator=_check_children
    )
    strategy: Strategy = attrs.field(
        default=Strategy.ONE_FOR_ONE, converter=to_strategy, kw_only=True
    )
    max_restarts: int = attrs.field(default=3, kw_only=True)
    max_seconds: float = attrs.field(default=5.0, kw_only=True)
    backoff: Backoff | None = attrs.field(default=None, kw_only=True)
    auto_shutdown: AutoShutdown = attrs.field(
        default=AutoShutdown.NEVER, converter=to_auto_shutdown, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        check_enum("", "strategy", self.strategy, Strategy)
        check_restart_limits(self.max_restarts, self.max_seconds)
        if self.backoff is not None and not isinstance(self.backoff, Backoff):
            raise TypeError(f"backoff must be a Backoff or None; got {self.backoff!r}")
        check_enum("", "auto_shutdown", self.auto_shutdown, AutoShutdown)
        for child in self.children:
            check_significant(child, self.auto_shutdown)

    def child_actor(self) -> tuple[type[Supervisor], tuple[Any, ...], dict[str, Any]]:
        """The ``Supervisor`` actor class and its constructor arguments (for nesting)."""
        return Supervisor, (self,), {}


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
        TypeError: ``system`` is not an ActorSystem, or ``spec`` not a SupervisorSpec.

    Example:
        >>> spec = SupervisorSpec([ChildSpec("db", Db)])  # doctest: +SKIP
        >>> sup = await start_supervisor(system, spec)  # doctest: +SKIP
        >>> await sup.which_children()  # doctest: +SKIP
    """
    check_system(system)
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

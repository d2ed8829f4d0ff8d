"""DynamicSupervisor: children added and removed at run time, one_for_one, optionally keyed.

Elixir's ``DynamicSupervisor`` (OTP's ``simple_one_for_one``): it starts with no children;
``start_child`` adds one from a ``ChildSpec`` or from the spec's template plus arguments;
``terminate_child(ref)`` stops and forgets one. Children are restarted one for one under the
same intensity rules as ``Supervisor``; a child that exits for good is forgotten (there is no
``stopped`` state). ``max_children`` counts every child held, restarting ones included.
``get_or_start(key, ...)`` keeps one child per key (seed 004's "one GenServer per user"): the
lookup and the start happen inside the supervisor, so concurrent callers get the same child.
On stop, the children are shut down concurrently, each within its own shutdown time (as OTP
does for dynamic children); order is not defined.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from typing import Any, ClassVar, TypeAlias

import attrs
import trio

from arborist.actors import ActorRef, ActorSystem
from arborist.actors._checks import check_int, check_timeout
from arborist.actors._system import check_system

from ._backoff import Backoff
from ._child import Child, Request
from ._core import SupervisorBase
from ._errors import ChildNotFoundError, ChildStartError, TooManyChildrenError
from ._refs import SupervisorRefBase, call
from ._snapshot import ChildState
from ._spec import (
    AutoShutdown,
    ChildSpec,
    check_restart_limits,
    check_significant,
    to_auto_shutdown,
)

__all__ = [
    "DynamicSupervisor",
    "DynamicSupervisorRef",
    "DynamicSupervisorSpec",
    "SpecFactory",
    "start_dynamic_supervisor",
]

SpecFactory: TypeAlias = Callable[[Hashable], ChildSpec]
"""Builds the child spec for a key in ``get_or_start`` (called inside the supervisor)."""


def _check_max_children(instance: Any, attribute: Any, value: Any) -> None:
    check_int(value, "max_children", least=0, none="for no limit")


def _check_template(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and not isinstance(value, ChildSpec):
        raise TypeError(f"template must be a ChildSpec or None; got {value!r}")


@attrs.frozen
class DynamicSupervisorSpec:
    """A dynamic supervisor's options. Also usable as ``ChildSpec.start`` for nesting.

    Attributes:
        template: the spec ``start_child(*args)`` and ``get_or_start(key)`` build children
            from (its args are extended by the call's); None to pass a spec each time.
        max_children: at most this many children held (restarting ones count); None: no limit.
        max_restarts: more than this many restarts within ``max_seconds`` and it gives up.
        max_seconds: the intensity window in seconds.
        backoff: an optional ``Backoff`` before each restart.
        auto_shutdown: end (``Normal``) when significant children are done.
    """

    template: ChildSpec | None = attrs.field(default=None, validator=_check_template)
    max_children: int | None = attrs.field(
        default=None, kw_only=True, validator=_check_max_children
    )
    max_restarts: int = attrs.field(default=3, kw_only=True)
    max_seconds: float = attrs.field(default=5.0, kw_only=True)
    backoff: Backoff | None = attrs.field(default=None, kw_only=True)
    auto_shutdown: AutoShutdown = attrs.field(
        default=AutoShutdown.NEVER, converter=to_auto_shutdown, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        check_restart_limits(self.max_restarts, self.max_seconds)
        if self.backoff is not None and not isinstance(self.backoff, Backoff):
            raise TypeError(f"backoff must be a Backoff or None; got {self.backoff!r}")
        if not isinstance(self.auto_shutdown, AutoShutdown):
            raise TypeError(f"unknown auto_shutdown {self.auto_shutdown!r}")
        if self.template is not None:
            check_significant(self.template, self.auto_shutdown)

    def child_actor(self) -> tuple[type[DynamicSupervisor], tuple[Any, ...], dict[str, Any]]:
        """The ``DynamicSupervisor`` actor class and its constructor arguments (for nesting)."""
        return DynamicSupervisor, (self,), {}


@attrs.frozen
class StartDynamic(Request):
    """Request: start a child from a spec, or from the template extended by args/kwargs."""

    spec: ChildSpec | None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class TerminateDynamic(Request):
    """Request: stop and forget the child with this ref."""

    ref: ActorRef


@attrs.frozen
class GetOrStart(Request):
    """Request: the running child for ``key``, or start one."""

    key: Hashable
    spec: ChildSpec | SpecFactory | None


class DynamicSupervisor(SupervisorBase):
    """The actor behind a dynamic supervisor. Start it with ``start_dynamic_supervisor``."""

    drops_stopped_children: ClassVar[bool] = True

    def __init__(
        self,
        spec: DynamicSupervisorSpec,
        *,
        upstream: SupervisorBase | None = None,
        child_id: Hashable | None = None,
    ) -> None:
        if not isinstance(spec, DynamicSupervisorSpec):
            raise TypeError(f"DynamicSupervisor takes a DynamicSupervisorSpec; got {spec!r}")
        super().__init__(
            max_restarts=spec.max_restarts,
            max_seconds=spec.max_seconds,
            backoff=spec.backoff,
            auto_shutdown=spec.auto_shutdown,
            upstream=upstream,
            child_id=child_id,
        )
        self.spec = spec
        self._serial = itertools.count()
        self._keys: dict[Hashable, Child] = {}

    def _forget(self, child: Child) -> None:
        if child.user_key is not None and self._keys.get(child.user_key) is child:
            del self._keys[child.user_key]

    async def _terminate_all(self) -> None:
        children = list(self._children.values())
        async with trio.open_nursery() as nursery:
            for child in children:
                nursery.start_soon(self._terminate, child)
        for child in children:
            child.state = ChildState.STOPPED

    async def _handle(self, request: Request) -> Any:
        match request:
            case StartDynamic(spec, args, kwargs):
                if spec is None:
                    shown = ", ".join(
                        [*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())]
                    )
                    template = self._template(f"start_child({shown})")
                    spec = attrs.evolve(
                        template,
                        args=(*template.args, *args),
                        kwargs={**template.kwargs, **kwargs},
                    )
                return await self._start_new(spec)
            case TerminateDynamic(ref):
                child = self._by_ref.get(ref)
                if child is None:
                    raise ChildNotFoundError(self.label, ref)
                await self._terminate(child)
                self._retire(child)
                return None
            case GetOrStart(key, spec):
                return await self._get_or_start(key, spec)
        return await super()._handle(request)

    def _template(self, call: str) -> ChildSpec:
        template = self.spec.template
        if template is None:
            raise TypeError(
                f"{call}: dynamic supervisor {self.label} has no template to build a child "
                "from; pass a ChildSpec (spec) instead, or give DynamicSupervisorSpec a template"
            )
        return template

    async def _start_new(self, spec: ChildSpec, key: Hashable | None = None) -> ActorRef:
        if not isinstance(spec, ChildSpec):
            raise TypeError(f"start_child takes a ChildSpec; got {spec!r}")
        check_significant(spec, self._auto_shutdown)
        limit = self.spec.max_children
        if limit is not None and len(self._children) >= limit:
            raise TooManyChildrenError(self.label, limit)
        child = Child(next(self._serial), spec, user_key=key)
        self._children[child.key] = child
        try:
            ref = await self._start(child)
        except ChildStartError:
            del self._children[child.key]
            raise
        if key is not None:
            self._keys[key] = child
        return ref

    async def _get_or_start(
        self, key: Hashable, spec: ChildSpec | SpecFactory | None
    ) -> ActorRef | trio.Event:
        child = self._keys.get(key)
        if child is not None:
            if child.ref is not None:
                return child.ref
            if child.changed is None:
                child.changed = trio.Event()
            return child.changed  # restarting: the caller waits, then asks again
        if spec is None:
            template = self._template(f"get_or_start({key!r})")
            args: tuple[Any, ...] = (*template.args, key)
            spec = attrs.evolve(template, args=args)
        elif not isinstance(spec, ChildSpec):
            spec = spec(key)
        return await self._start_new(spec, key)


@attrs.frozen
class DynamicSupervisorRef(SupervisorRefBase):
    """A typed handle on a ``DynamicSupervisor``; ``.ref`` is its ``ActorRef``."""

    _expected: ClassVar[type[SupervisorBase]] = DynamicSupervisor

    async def start_child(
        self, *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> ActorRef:
        """Start a child and return its ref.

        ``start_child(spec)`` starts that ``ChildSpec``; any other call builds the spec from the
        template, appending ``args`` to its args and merging ``kwargs`` into its kwargs.

        Raises:
            TooManyChildrenError: ``max_children`` children are held (restarting ones count).
            ChildStartError: the child failed to start (cause chained); nothing is kept.
            TypeError: no spec was given and the supervisor has no template, or the arguments
                do not fit the template's start (nothing is started).
        """
        if len(args) == 1 and not kwargs and isinstance(args[0], ChildSpec):
            request = StartDynamic(args[0])
        else:
            request = StartDynamic(None, args, kwargs)
        ref: ActorRef = await call(self.ref, request, timeout)
        return ref

    async def terminate_child(self, ref: ActorRef, *, timeout: float | None = None) -> None:
        """Stop the child ``ref`` within its shutdown time and forget it (never restarted).

        Raises:
            ChildNotFoundError: ``ref`` is not a running child of this supervisor.
        """
        await call(self.ref, TerminateDynamic(ref), timeout)

    async def get_or_start(
        self,
        key: Hashable,
        spec: ChildSpec | SpecFactory | None = None,
        *,
        timeout: float | None = None,
    ) -> ActorRef:
        """The running child for ``key``; if there is none, start one and remember its key.

        Race-free: the lookup and the start run inside the supervisor, so concurrent callers
        with the same key get the same child. A keyed child that is being restarted is waited
        for. The key is forgotten when its child exits for good or is terminated.

        Args:
            key: any hashable (a user id...).
            spec: the ``ChildSpec`` to start, or a factory ``spec(key)`` called inside the
                supervisor; None uses the template with ``key`` appended to its args.
            timeout: give up after this many seconds (None waits); then ``trio.TooSlowError``.

        Raises:
            TooManyChildrenError: a new child is needed and ``max_children`` are held.
            ChildStartError: the new child failed to start.
            TypeError: ``key`` is not hashable, ``spec`` is neither a ChildSpec, a factory nor
                None, or ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
        """
        try:
            hash(key)
        except TypeError:
            raise TypeError(
                f"get_or_start key must be hashable (a str, an int, a tuple); got {key!r}"
            ) from None
        if spec is not None and not isinstance(spec, ChildSpec) and not callable(spec):
            raise TypeError(
                "get_or_start spec must be a ChildSpec, a factory spec(key) -> ChildSpec, or "
                f"None for the template; got {spec!r}"
            )
        check_timeout(timeout, "get_or_start timeout")
        with trio.fail_after(float("inf") if timeout is None else timeout):
            while True:
                result = await call(self.ref, GetOrStart(key, spec), None)
                if isinstance(result, ActorRef):
                    return result
                await result.wait()


async def start_dynamic_supervisor(
    system: ActorSystem,
    spec: DynamicSupervisorSpec | None = None,
    *,
    name: str | None = None,
    nursery: trio.Nursery | None = None,
) -> DynamicSupervisorRef:
    """Start a dynamic supervisor (no children yet) and return its ref.

    Args:
        system: the actor system.
        spec: its options (default: no template, no limit, 3 restarts in 5 s).
        name: register the supervisor under this name.
        nursery: run it in this nursery instead of the system's.

    Raises:
        TypeError: ``system`` is not an ActorSystem, or ``spec`` not a DynamicSupervisorSpec.

    Example:
        >>> users = await start_dynamic_supervisor(  # doctest: +SKIP
        ...     system, DynamicSupervisorSpec(ChildSpec("user", UserCache)))
        >>> cache = await users.get_or_start(42)  # UserCache(42), once  # doctest: +SKIP
    """
    check_system(system)
    spec = DynamicSupervisorSpec() if spec is None else spec
    if not isinstance(spec, DynamicSupervisorSpec):
        raise TypeError(f"start_dynamic_supervisor takes a DynamicSupervisorSpec; got {spec!r}")
    ref = await system.spawn(DynamicSupervisor, spec, name=name, nursery=nursery)
    return DynamicSupervisorRef(ref)

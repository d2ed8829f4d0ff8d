"""Child specs: frozen, validated descriptions of a supervisor's children, and their options.

A ``ChildSpec`` says what to start (an ``Actor`` subclass, a plain ``async def`` run as a
long-lived child, or a nested ``SupervisorSpec``), when to restart it (``Restart``) and how to
stop it (``shutdown`` seconds, ``BRUTAL`` or ``INFINITY``). Defaults are Elixir's: permanent,
5 s shutdown for workers and infinity for supervisors. Bad input raises at construction with
a message naming the child and the rule.
"""

from __future__ import annotations

import enum
import inspect
import math
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Any, Final, Protocol, TypeAlias, TypeGuard, TypeVar, runtime_checkable

import attrs

from arborist.actors import Actor
from arborist.actors._checks import (
    check_args_fit,
    check_int,
    check_items,
    check_kwargs,
    check_seconds,
)

from ._function import function_actor_class

__all__ = [
    "BRUTAL",
    "DEFAULT_WORKER_SHUTDOWN",
    "INFINITY",
    "AutoShutdown",
    "ChildSpec",
    "Kind",
    "Restart",
    "Strategy",
    "SupervisorLike",
]

BRUTAL: Final[float] = 0.0
"""Shutdown value: kill the child at once, without running its ``on_stop`` (OTP ``brutal_kill``)."""

INFINITY: Final[float] = math.inf
"""Shutdown value: wait as long as the child takes to stop (the default for supervisors)."""

DEFAULT_WORKER_SHUTDOWN: Final[float] = 5.0
"""Seconds a worker gets to stop before it is killed, as OTP's 5000 ms."""


class Restart(enum.Enum):
    """When a child that exited is restarted (OTP restart types)."""

    PERMANENT = "permanent"
    """Always restarted, whatever the exit reason (also ``Normal``)."""
    TRANSIENT = "transient"
    """Restarted only after an abnormal exit (``Crashed`` or ``Killed``)."""
    TEMPORARY = "temporary"
    """Never restarted; its spec is dropped once it exits."""

    def __str__(self) -> str:
        return self.value


class Strategy(enum.Enum):
    """Which children a supervisor restarts when one of them is to be restarted."""

    ONE_FOR_ONE = "one_for_one"
    """Only the child that exited."""
    ONE_FOR_ALL = "one_for_all"
    """Every child: the others are stopped in reverse start order, then all start in order."""
    REST_FOR_ONE = "rest_for_one"
    """The child and those started after it (stopped in reverse order, started in order)."""

    def __str__(self) -> str:
        return self.value


class Kind(enum.Enum):
    """Whether a child is a worker or a supervisor (decides the default shutdown)."""

    WORKER = "worker"
    SUPERVISOR = "supervisor"

    def __str__(self) -> str:
        return self.value


class AutoShutdown(enum.Enum):
    """When a supervisor ends by itself because its significant children are done (OTP 24)."""

    NEVER = "never"
    """Significant children are not allowed (OTP rejects them too)."""
    ANY_SIGNIFICANT = "any_significant"
    """End (``Normal``) once any significant child has exited and is not restarted."""
    ALL_SIGNIFICANT = "all_significant"
    """End (``Normal``) once the last active significant child has exited for good."""

    def __str__(self) -> str:
        return self.value


@runtime_checkable
class SupervisorLike(Protocol):
    """A spec that can be a ``ChildSpec.start``: it names the supervisor actor to run.

    ``SupervisorSpec`` and ``DynamicSupervisorSpec`` implement it; so can other supervisor
    kinds. ``child_actor()`` returns ``(actor_class, args, kwargs)``.
    """

    def child_actor(self) -> tuple[type[Actor], tuple[Any, ...], dict[str, Any]]:
        """The actor class and constructor arguments that run this supervisor."""
        ...


def _supervisor_like(start: object) -> TypeGuard[SupervisorLike]:
    """Whether ``start`` has a callable ``child_actor``: ``isinstance(start, SupervisorLike)``.

    Without typing's protocol check, which costs 18 us a call on Python 3.11 (0.2 us here),
    paid by every run's coordinator spec.
    """
    return callable(getattr(start, "child_actor", None))


ChildStart: TypeAlias = "type[Actor] | Callable[..., Awaitable[Any]] | SupervisorLike"
"""What ``ChildSpec.start`` accepts."""

E = TypeVar("E", bound=enum.Enum)


def _enum_converter(enum_cls: type[E]) -> Callable[[Any], Any]:
    values = {member.value: member for member in enum_cls}

    def convert(value: Any) -> Any:
        if isinstance(value, str) and value.lower() in values:
            return values[value.lower()]
        return value

    return convert


def _to_restart(value: Any) -> Any:
    return _enum_converter(Restart)(value)


def _to_kind(value: Any) -> Any:
    return _enum_converter(Kind)(value)


def to_strategy(value: Any) -> Any:
    return _enum_converter(Strategy)(value)


def to_auto_shutdown(value: Any) -> Any:
    return _enum_converter(AutoShutdown)(value)


def _choices(enum_cls: type[enum.Enum]) -> str:
    return ", ".join(f"{enum_cls.__name__}.{m.name}" for m in enum_cls)


def check_enum(subject: str, field: str, value: Any, enum_cls: type[enum.Enum]) -> None:
    if isinstance(value, enum_cls):
        return
    error = ValueError if isinstance(value, str) else TypeError
    raise error(f"{subject}unknown {field} {value!r}; use one of {_choices(enum_cls)}")


def _is_supervisor_class(cls: type[Actor]) -> bool:
    return bool(getattr(cls, "supervisor_kind", False))


def describe(value: Any) -> str:
    if inspect.isclass(value):
        return f"class {value.__qualname__}"
    if inspect.isfunction(value) or inspect.ismethod(value):
        return f"function {value.__qualname__}"
    return f"{type(value).__name__} instance {value!r}"


def check_shutdown(subject: str, value: Any) -> float:
    """Return ``value`` as seconds, or raise naming ``subject`` and the rule."""
    hint = "; or BRUTAL (0: kill at once), or INFINITY (wait for it)"
    check_seconds(value, f"{subject}: shutdown", hint=hint)
    return float(value)


def to_tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(values)


def _to_args(values: Iterable[Any]) -> tuple[Any, ...]:
    return check_items(values, "ChildSpec args", hint="; for one argument write args=(value,)")


def _to_kwargs(values: Mapping[str, Any]) -> dict[str, Any]:
    return check_kwargs(values, "ChildSpec kwargs")


@attrs.frozen
class ChildSpec:
    """How a supervisor starts, restarts and stops one child.

    Attributes:
        id: identifies the child within its supervisor (unique there); any hashable but None.
        start: an ``Actor`` subclass (``ThreadActor`` included), an ``async def`` run as a
            long-lived child (return = ``Normal`` exit, raise = ``Crashed``), or a nested
            ``SupervisorSpec`` / ``DynamicSupervisorSpec``.
        args: positional arguments for the constructor (or the function): a tuple or a list,
            never a str. Arguments that cannot fit its signature (too many, an unknown
            keyword) are refused here; missing ones may come later (a dynamic template).
        kwargs: keyword arguments for the constructor (or the function), keyed by name.
        restart: ``Restart.PERMANENT`` (default), ``TRANSIENT`` or ``TEMPORARY``.
        shutdown: seconds the child gets to stop before it is killed; ``BRUTAL`` kills at
            once, ``INFINITY`` waits. Default 5.0 for workers, ``INFINITY`` for supervisors.
        kind: ``Kind.WORKER`` or ``Kind.SUPERVISOR``; inferred from ``start``: supervisor
            specs, and Actor classes with a class attribute ``supervisor_kind = True``, are
            supervisors.
        significant: counts for the supervisor's ``auto_shutdown``; only transient or
            temporary children may be significant.
        name: register each incarnation under this name, so the name survives restarts.

    Raises:
        TypeError: ``start`` is not something a supervisor can start; ``args`` is not a tuple
            or list (a str is refused) or ``kwargs`` not a mapping of names; the arguments do
            not fit ``start``'s signature; a field has the wrong type.
        ValueError: a bad ``id``, ``restart``, ``shutdown`` or ``significant``.

    Example:
        >>> ChildSpec("cache", Cache, restart=Restart.TRANSIENT, name="cache")  # doctest: +SKIP
    """

    id: Hashable = attrs.field()
    start: ChildStart = attrs.field()
    args: tuple[Any, ...] = attrs.field(default=(), converter=_to_args)
    kwargs: Mapping[str, Any] = attrs.field(factory=dict, converter=_to_kwargs)
    restart: Restart = attrs.field(default=Restart.PERMANENT, converter=_to_restart, kw_only=True)
    kind: Kind = attrs.field(converter=_to_kind, kw_only=True)
    shutdown: float = attrs.field(kw_only=True)
    significant: bool = attrs.field(default=False, kw_only=True)
    name: str | None = attrs.field(default=None, kw_only=True)
    _actor: tuple[type[Actor], tuple[Any, ...], dict[str, Any]] = attrs.field(
        init=False, repr=False, eq=False
    )

    @kind.default
    def _default_kind(self) -> Kind:
        start = self.start
        if _supervisor_like(start) and not inspect.isclass(start):
            return Kind.SUPERVISOR
        if inspect.isclass(start) and issubclass(start, Actor) and _is_supervisor_class(start):
            return Kind.SUPERVISOR
        return Kind.WORKER

    @shutdown.default
    def _default_shutdown(self) -> float:
        return INFINITY if self.kind is Kind.SUPERVISOR else DEFAULT_WORKER_SHUTDOWN

    def __attrs_post_init__(self) -> None:
        label = f"child {self.id!r}"
        if self.id is None:
            raise ValueError("child id must not be None; give every child an id such as 'cache'")
        try:
            hash(self.id)
        except TypeError:
            raise TypeError(f"child id must be hashable (a str is best); got {self.id!r}") from None
        check_enum(f"{label}: ", "restart", self.restart, Restart)
        check_enum(f"{label}: ", "kind", self.kind, Kind)
        object.__setattr__(self, "shutdown", check_shutdown(label, self.shutdown))
        if not isinstance(self.significant, bool):
            raise TypeError(f"{label}: significant must be True or False; got {self.significant!r}")
        if self.significant and self.restart is Restart.PERMANENT:
            raise ValueError(
                f"{label}: a significant child must be transient or temporary, not permanent "
                "(a permanent child never ends for good); set restart=Restart.TRANSIENT"
            )
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise TypeError(f"{label}: name must be a non-empty str or None; got {self.name!r}")
        object.__setattr__(self, "_actor", self._resolve_start(label))

    def _resolve_start(self, label: str) -> tuple[type[Actor], tuple[Any, ...], dict[str, Any]]:
        start: Any = self.start
        rule = "start must be an Actor subclass, an `async def` function, or a SupervisorSpec"
        if inspect.isclass(start):
            if issubclass(start, Actor):
                check_args_fit(start, self.args, self.kwargs, what=label, partial=True)
                return start, self.args, dict(self.kwargs)
            raise TypeError(f"{label}: {rule}; got {describe(start)}, which is not an Actor")
        if isinstance(start, Actor):
            raise TypeError(
                f"{label}: {rule}; got an instance of {type(start).__name__}: pass the class "
                f"(start={type(start).__name__}) and its constructor arguments in args/kwargs"
            )
        if _supervisor_like(start):
            if self.args or self.kwargs:
                raise TypeError(
                    f"{label}: a supervisor spec takes no args or kwargs; put them in its children"
                )
            return start.child_actor()
        if inspect.isasyncgenfunction(start):
            raise TypeError(
                f"{label}: {rule}; got async generator {describe(start)}: "
                "supervised functions must be `async def` without `yield`"
            )
        if inspect.iscoroutinefunction(start):
            check_args_fit(start, self.args, self.kwargs, what=label, partial=True)
            return function_actor_class(start), self.args, dict(self.kwargs)
        if callable(start):
            raise TypeError(
                f"{label}: {rule}; got {describe(start)}, which is not `async def`: "
                "make it async, or run blocking code in a ThreadActor"
            )
        raise TypeError(f"{label}: {rule}; got {describe(start)}")

    def actor_start(self) -> tuple[type[Actor], tuple[Any, ...], dict[str, Any]]:
        """The actor class and constructor arguments each incarnation is built from."""
        return self._actor


def check_restart_limits(max_restarts: Any, max_seconds: Any) -> None:
    """Raise unless ``max_restarts`` is an int >= 0 and ``max_seconds`` a number > 0."""
    check_int(max_restarts, "max_restarts (the restart intensity)", least=0)
    check_seconds(max_seconds, "max_seconds (the intensity window)", strict=True)


def check_significant(child: ChildSpec, auto_shutdown: AutoShutdown) -> None:
    """Raise if ``child`` is significant under a supervisor whose auto_shutdown is NEVER."""
    if child.significant and auto_shutdown is AutoShutdown.NEVER:
        raise ValueError(
            f"child {child.id!r} is significant, but the supervisor's auto_shutdown is NEVER; "
            "set auto_shutdown=AutoShutdown.ANY_SIGNIFICANT or ALL_SIGNIFICANT, or drop "
            "significant=True"
        )

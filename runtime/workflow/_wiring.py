"""Argument sources: where each argument of a step comes from when the step runs.

A step's parameters are wired by name (a parameter named like an input or a step receives its
value); ``args={...}`` wires them explicitly with these sources:

* ``input("user_id")``: a workflow input;
* ``result("fetch_profile", "name")``: another step's result, optionally followed along a path
  of keys, indices and attributes;
* ``value(3)``: a constant;
* ``outcome("fetch_activity")``: another step's ``outcome.Value`` or ``outcome.Error``; that
  step's failure then does not fail the run.

The factory ``input`` shadows the builtin on purpose, as in the workflow DSL it serves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeAlias

import attrs

__all__ = [
    "InputRef",
    "OutcomeRef",
    "ResultRef",
    "Source",
    "ValueRef",
    "input",
    "outcome",
    "resolve_path",
    "result",
    "value",
]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


def _step_name(step: str | _Named, factory: str) -> str:
    name = step if isinstance(step, str) else getattr(step, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{factory}() takes a step or a step name, got {step!r}")
    return name


def _describe_path(path: tuple[object, ...]) -> str:
    return "".join(f", {key!r}" for key in path)


@attrs.frozen
class InputRef:
    """The workflow input ``name``, followed along ``path`` when one is given.

    Attributes:
        name: The input's name.
        path: Keys, indices or attribute names applied in order (see :func:`resolve_path`).
    """

    name: str
    path: tuple[object, ...] = ()

    def apply(self, given: object) -> object:
        """Follow ``path`` into the input's value ``given`` (the value itself for no path)."""
        return resolve_path(given, self.path, owner=f"input {self.name!r}")

    def __str__(self) -> str:
        return f"input({self.name!r}{_describe_path(self.path)})"


@attrs.frozen
class ResultRef:
    """The result of step ``step``, followed along ``path`` when one is given.

    Attributes:
        step: The producing step's name.
        path: Keys, indices or attribute names applied in order (see :func:`resolve_path`).
    """

    step: str
    path: tuple[object, ...] = ()

    def apply(self, produced: object) -> object:
        """Follow ``path`` into the step's result ``produced`` (the result itself for no path)."""
        return resolve_path(produced, self.path, owner=f"the result of step {self.step!r}")

    def __str__(self) -> str:
        return f"result({self.step!r}{_describe_path(self.path)})"


@attrs.frozen
class ValueRef:
    """A constant, passed as is (the same object) to every run of the step.

    Attributes:
        value: The constant.
    """

    value: Any

    def __str__(self) -> str:
        return f"value({self.value!r})"


@attrs.frozen
class OutcomeRef:
    """The outcome of step ``step``: ``outcome.Value(result)`` or ``outcome.Error(exc)``.

    A step taking another as an outcome runs once that step has finished either way, and the
    producer's failure does not fail the run.

    Attributes:
        step: The producing step's name.
    """

    step: str

    def __str__(self) -> str:
        return f"outcome({self.step!r})"


Source: TypeAlias = InputRef | ResultRef | ValueRef | OutcomeRef
"""Any argument source: what ``args=`` maps parameter names to."""


def input(name: str, *path: object) -> InputRef:
    """Wire an argument to the workflow input ``name``, optionally followed along ``path``.

    Example:
        >>> input("order", "id")
        InputRef(name='order', path=('id',))
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"input() takes an input name, got {name!r}")
    return InputRef(name, tuple(path))


def result(step: str | _Named, *path: object) -> ResultRef:
    """Wire an argument to the result of ``step`` (a name or a step), followed along ``path``.

    Example:
        >>> result("fetch_profile", "name")
        ResultRef(step='fetch_profile', path=('name',))
    """
    return ResultRef(_step_name(step, "result"), tuple(path))


def value(constant: object) -> ValueRef:
    """Wire an argument to a constant.

    Example:
        >>> value(3)
        ValueRef(value=3)
    """
    return ValueRef(constant)


def outcome(step: str | _Named) -> OutcomeRef:
    """Wire an argument to the outcome (``outcome.Value`` or ``outcome.Error``) of ``step``.

    Example:
        >>> outcome("fetch_activity")
        OutcomeRef(step='fetch_activity')
    """
    return OutcomeRef(_step_name(step, "outcome"))


def resolve_path(data: object, path: Sequence[object], *, owner: str) -> object:
    """Follow ``path`` into ``data``, one key at a time.

    Each key is applied to the current value: a mapping is subscripted; an ``int`` key
    subscripts anything else (lists, tuples); a ``str`` key on a non-mapping reads the
    attribute; any other key subscripts.

    Args:
        data: The value to start from.
        path: The keys to apply, in order; empty returns ``data`` itself.
        owner: What ``data`` is, for the error message, e.g. ``"the result of step 'fetch'"``.

    Returns:
        The value at the end of the path.

    Raises:
        LookupError: A key is missing; the message names ``owner``, the failing key and where
            in the path it is, and the original error is chained.

    Example:
        >>> resolve_path({"user": {"tags": ["a", "b"]}}, ["user", "tags", 1], owner="x")
        'b'
    """
    current = data
    for position, key in enumerate(path):
        try:
            if isinstance(current, Mapping) or not isinstance(key, str):
                current = current[key]  # type: ignore[index]
            else:
                current = getattr(current, key)
        except (LookupError, AttributeError, TypeError) as exc:
            followed = "".join(f"[{k!r}]" for k in path[:position])
            where = f"{owner}{followed}" if followed else owner
            by_attribute = isinstance(key, str) and not isinstance(current, Mapping)
            kind = "attribute" if by_attribute else "key"
            raise LookupError(
                f"cannot follow {kind} {key!r} (position {position} of path {list(path)!r}): "
                f"{where} is a {type(current).__name__} without it; fix the path or the "
                f"producer"
            ) from exc
    return current

"""Argument checks every layer shares: each raises at the call, naming the parameter and the value.

One function per rule that recurs across the public API (a number of seconds, a timeout that
may be None, a positive int, a real bool, a callable, an instance of a class, arguments that
fit a function's signature), so that the same rule reads the same everywhere:
``"<name> must be <what is allowed>; got <value!r>"``. A wrong type raises ``TypeError``
(a bool is never taken for a number), a value out of range ``ValueError``. ``arborist.supervision``
and ``arborist.runtime`` import them from here: this is the lowest layer.

The checks are cheap, but they are not free: ``tell`` and ``send`` call none, ``ask`` calls
``check_timeout`` only for a timeout other than the default, and timers test a plain float
inline before they call ``check_seconds``; the signature check caches what it reads per
function, so it binds nothing in the common case.
"""

from __future__ import annotations

import inspect
import math
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, NamedTuple

__all__ = [
    "MIN_PERIOD",
    "check_args_fit",
    "check_bool",
    "check_callable",
    "check_instance",
    "check_int",
    "check_items",
    "check_kwargs",
    "check_seconds",
    "check_timeout",
]

MIN_PERIOD: Final = 0.001
"""The shortest period of a repeating timer or interval schedule, in seconds (1 ms).

A timer fires from one trio task reading trio's clock; below a millisecond a period is no
longer something the loop can keep (each tick is a wake-up, a heap push and a message), and a
period of nanoseconds reads as hundreds of millions of "missed" ticks per second.
"""


def check_seconds(
    value: object,
    name: str,
    *,
    least: float = 0.0,
    strict: bool = False,
    finite: bool = False,
    none: str | None = None,
    hint: str = "",
) -> float | None:
    """Return ``value`` as float seconds, or raise naming ``name`` and the rule.

    Args:
        value: what the caller passed.
        name: the parameter as the message names it (``"send_after delay"``).
        least: the smallest value allowed (``-math.inf``: no bound).
        strict: ``value`` must be above ``least``, not equal to it.
        finite: refuse ``math.inf``.
        none: if given, None is allowed and this says what it means (``"to wait forever"``);
            it is returned as None.
        hint: appended to the message (``"; use every(seconds=30)"``).

    Raises:
        TypeError: not a number (a bool, a str, None where it is not allowed).
        ValueError: NaN, infinite when ``finite``, or below the bound.
    """
    if value is None and none is not None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(_rule(value, name, least, strict, finite, none, hint))
    ok = value > least if strict else value >= least  # NaN fails both
    if not ok or (finite and math.isinf(value)):
        raise ValueError(_rule(value, name, least, strict, finite, none, hint))
    return float(value)


def _rule(
    value: object, name: str, least: float, strict: bool, finite: bool, none: str | None, hint: str
) -> str:
    kind = "a finite number of seconds" if finite else "a number of seconds"
    bound = "" if least == -math.inf else f" {'>' if strict else '>='} {least:g}"
    or_none = f", or None {none}" if none is not None else ""
    return f"{name} must be {kind}{bound}{or_none}; got {value!r}{hint}"


def check_timeout(timeout: object, name: str = "timeout", *, none: str = "to wait forever") -> None:
    """Raise unless ``timeout`` is None or a number of seconds >= 0 (``math.inf`` allowed).

    The common case (None, or a plain int or float >= 0) costs two type checks.

    Raises:
        TypeError: not a number and not None (a str, a bool).
        ValueError: negative or NaN.
    """
    if timeout is None:
        return
    kind = type(timeout)
    if (kind is float or kind is int) and timeout >= 0:  # type: ignore[operator]
        return
    check_seconds(timeout, name, none=none)


def check_int(value: object, name: str, *, least: int = 1, none: str | None = None) -> int | None:
    """Return ``value`` if it is an int >= ``least`` (None too, when ``none`` says what it means).

    Raises:
        TypeError: not an int (a bool, a float such as 1.5, a str).
        ValueError: below ``least``.
    """
    if value is None and none is not None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "a positive int" if least == 1 else f"an int >= {least}"
        or_none = f", or None {none}" if none is not None else ""
        error = ValueError if isinstance(value, int) and not isinstance(value, bool) else TypeError
        raise error(f"{name} must be {kind}{or_none}; got {value!r}")
    return value


def check_bool(value: object, name: str, *, none: str | None = None) -> bool | None:
    """Return ``value`` if it is True or False (or None, when ``none`` says what it means).

    Anything else is refused, 1 and "yes" included: a truthy value is not a decision.

    Raises:
        TypeError: not a bool.
    """
    if value is None and none is not None:
        return None
    if not isinstance(value, bool):
        or_none = f", or None {none}" if none is not None else ""
        raise TypeError(f"{name} must be True or False{or_none}; got {value!r}")
    return value


def check_callable(value: object, name: str, *, hint: str = "") -> None:
    """Raise unless ``value`` is callable.

    Raises:
        TypeError: not callable.
    """
    if not callable(value):
        raise TypeError(f"{name} must be a callable (a function); got {value!r}{hint}")


def check_instance(
    value: object,
    kind: type | tuple[type, ...],
    name: str,
    *,
    wanted: str | None = None,
    hint: str = "",
) -> None:
    """Raise unless ``value`` is an instance of ``kind`` (a class or a tuple of classes).

    Args:
        value: what the caller passed.
        kind: the class (or classes) allowed.
        name: the parameter as the message names it.
        wanted: how the message says what is allowed (default: "a <class name>").
        hint: appended to the message.

    Raises:
        TypeError: it is not.
    """
    if not isinstance(value, kind):
        if wanted is None:
            kinds = kind if isinstance(kind, tuple) else (kind,)
            wanted = " or ".join(_article(k.__name__) for k in kinds)
        raise TypeError(f"{name} must be {wanted}; got {value!r}{hint}")


def check_items(value: object, name: str, *, hint: str = "") -> tuple[Any, ...]:
    """Return ``value`` as a tuple if it is a list, a tuple or another iterable, not a string.

    A string is refused although it iterates (``args="ab"`` would pass two arguments).

    Raises:
        TypeError: not an iterable, or a str or bytes.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a tuple or a list; got {value!r}{hint}")
    return tuple(value)


def check_kwargs(value: object, name: str) -> dict[str, Any]:
    """Return ``value`` as a dict if it is a mapping whose keys are names (strs).

    Raises:
        TypeError: not a mapping, or a key is not a str.
    """
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping of names (str) to values; got {value!r}")
    for key in value:
        if not isinstance(key, str):
            raise TypeError(
                f"{name} must be a mapping of names (str) to values; got {value!r}, "
                f"whose key {key!r} is not a str"
            )
    return dict(value)


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


class _Shape(NamedTuple):
    """What ``check_args_fit`` needs of a signature, read once per function."""

    signature: inspect.Signature
    required: int
    """Positional parameters without a default."""
    most: float
    """How many positional arguments it takes (``math.inf`` with ``*args``)."""
    needs_keyword: bool
    """A keyword-only parameter has no default: positional arguments alone never fit."""
    positional: tuple[str, ...]
    """The names of the positional parameters, in order."""
    positional_only: frozenset[str]
    """The names that may not be passed as keywords (before ``/``)."""
    keywords: frozenset[str] | None
    """The names a keyword argument may have (None with ``**kwargs``: any name)."""


_shapes: weakref.WeakKeyDictionary[Any, _Shape | None] = weakref.WeakKeyDictionary()


def _shape(fn: Callable[..., Any]) -> _Shape | None:
    """``fn``'s shape, or None for a callable whose signature cannot be read (some builtins).

    Cached per function, weakly: a function is not kept alive by having been checked.
    """
    try:
        return _shapes[fn]
    except (KeyError, TypeError):
        pass
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        shape = None
    else:
        kinds = inspect.Parameter
        params = list(signature.parameters.values())
        positional = [
            p for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
        ]
        shape = _Shape(
            signature,
            required=sum(p.default is kinds.empty for p in positional),
            most=math.inf
            if any(p.kind is kinds.VAR_POSITIONAL for p in params)
            else len(positional),
            needs_keyword=any(
                p.kind is kinds.KEYWORD_ONLY and p.default is kinds.empty for p in params
            ),
            positional=tuple(p.name for p in positional),
            positional_only=frozenset(
                p.name for p in positional if p.kind is kinds.POSITIONAL_ONLY
            ),
            keywords=None
            if any(p.kind is kinds.VAR_KEYWORD for p in params)
            else frozenset(
                p.name
                for p in params
                if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)
            ),
        )
    try:
        _shapes[fn] = shape
    except TypeError:
        pass  # not weakly referenceable: read again next time
    return shape


def _fits(
    shape: _Shape, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None, partial: bool
) -> bool:
    """Whether the arguments surely fit (the common cases, without binding); False: bind."""
    if len(args) > shape.most:
        return False
    if not kwargs:
        return partial or (len(args) >= shape.required and not shape.needs_keyword)
    if not partial:
        return False  # keywords may fill required parameters: let bind() decide
    keywords = shape.keywords
    if keywords is not None and not keywords.issuperset(kwargs):
        return False
    if not shape.positional_only.isdisjoint(kwargs):
        return False
    return not any(name in kwargs for name in shape.positional[: len(args)])


def check_args_fit(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any] | None = None,
    *,
    what: str,
    partial: bool = False,
) -> None:
    """Raise unless ``fn(*args, **kwargs)`` fits ``fn``'s signature (when it can be read).

    The common cases compare counts and names read once per function, so it may run per job
    or per run; only a mismatch (or keywords that may fill required parameters) binds.
    ``partial`` allows missing arguments (a template whose last arguments come later) and
    refuses only extra or unknown ones.

    Args:
        fn: the function (or class) that will be called.
        args: the positional arguments it will get.
        kwargs: the keyword arguments it will get.
        what: who is calling, for the message (``"start_child"``, ``"child 'c'"``).
        partial: whether missing arguments are allowed.

    Raises:
        TypeError: the arguments do not fit; the message shows them, the signature and why.
    """
    shape = _shape(fn)
    if shape is None or _fits(shape, args, kwargs, partial):
        return
    signature = shape.signature
    try:
        if partial:
            signature.bind_partial(*args, **(kwargs or {}))
        else:
            signature.bind(*args, **(kwargs or {}))
    except TypeError as error:
        given = f"args {args!r}" + (f" and kwargs {dict(kwargs)!r}" if kwargs else "")
        label = getattr(fn, "__qualname__", None) or repr(fn)
        shown = signature.replace(return_annotation=inspect.Signature.empty)
        raise TypeError(
            f"{what}: {given} do not fit {label}{shown}: {error}; pass the arguments "
            "its signature takes"
        ) from None

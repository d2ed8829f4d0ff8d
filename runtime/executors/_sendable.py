"""``check_sendable``: fail early, naming the step and the value, when a call cannot be pickled.

Both engines send functions by value with cloudpickle; this pickles the function and each
argument the same way before the engine would, so the error names what to change instead of
surfacing as an engine traceback at dispatch.
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Callable, Mapping
from functools import cache
from types import ModuleType
from typing import Any

from ._errors import NotSendableError
from ._info import RemoteStepInfo

__all__ = ["check_sendable", "pickler", "refuse_local_objects"]


@cache
def pickler() -> ModuleType:
    """The pickler the engines use: cloudpickle, imported on first use, else plain pickle."""
    try:
        return importlib.import_module("cloudpickle")
    except ImportError:  # pragma: no cover - dask brings cloudpickle in the test extra
        return pickle


def check_sendable(
    what: str,
    fn: Callable[..., Any] | None,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
) -> None:
    """Pickle ``fn`` and every argument as the engines would; raise on the first that fails.

    Call it before a run starts for the values known then (the function, constant
    arguments), and at a remote step's first dispatch for the values its dependencies made.
    It costs one pickling of each value (not cached). A trio or arborist object given
    directly is refused even when it pickles: it would arrive as a disconnected copy.

    Args:
        what: names the sender in the error, e.g. ``"step 'parse'"``.
        fn: the function to send (None to check only arguments).
        args: positional arguments.
        kwargs: keyword arguments.

    Raises:
        NotSendableError: naming ``what``, the value (``the function``, ``argument 0``,
            ``argument 'lock'``) and the pickling error, which is its ``__cause__``.
    """
    if fn is not None:
        _check(what, "the function", fn)
    for position, value in enumerate(args):
        _check(what, f"argument {position}", value)
    for name, value in (kwargs or {}).items():
        _check(what, f"argument {name!r}", value)


def refuse_local_objects(
    what: str, args: tuple[Any, ...] = (), kwargs: Mapping[str, Any] | None = None
) -> None:
    """The cheap half of ``check_sendable``: refuse trio and arborist objects, pickle nothing.

    For values checked on every submission, where the engine's own serialisation error (at
    submit) is the signal for the rest: it costs a type lookup per argument.

    Raises:
        NotSendableError: as ``check_sendable``, for a trio or arborist object.
    """
    for position, value in enumerate(args):
        _refuse_local(what, f"argument {position}", value)
    for name, value in (kwargs or {}).items():
        _refuse_local(what, f"argument {name!r}", value)


_LOCAL_ONLY = ("trio", "arborist")


def _refuse_local(what: str, name: str, value: Any) -> None:
    module = type(value).__module__ or ""
    if module.split(".", 1)[0] in _LOCAL_ONLY and type(value) is not RemoteStepInfo:
        # Many trio objects (Event, Lock, channels) pickle fine and would arrive as a
        # disconnected copy that nothing ever sets: refuse them even though pickle would not.
        problem = TypeError(f"a {type(value).__qualname__} works only in this process")
        raise NotSendableError(what, name, value, problem) from problem


def _check(what: str, name: str, value: Any) -> None:
    _refuse_local(what, name, value)
    try:
        pickler().dumps(value)
    except Exception as exc:  # pickling raises TypeError, PicklingError, AttributeError...
        raise NotSendableError(what, name, value, exc) from exc

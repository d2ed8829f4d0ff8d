"""Helpers every executor shares: labels, the open/closed state, plain-function checks."""

from __future__ import annotations

import inspect
import itertools
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from ._errors import ExecutorClosedError, ExecutorOptionError

__all__ = ["CLOSED", "NEW", "OPEN", "Lifecycle", "check_plain", "reject_options"]

NEW: Final = "not open yet"
OPEN: Final = "open"
CLOSED: Final = "closed"


class Lifecycle:
    """An executor's name, open state and unique call labels (``<label>-<token>-<n>``)."""

    __slots__ = ("_counter", "_token", "name", "state")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"executor name must be a non-empty str; got {name!r}")
        self.name = name
        self.state = NEW
        self._token = uuid.uuid4().hex[:10]
        self._counter = itertools.count()

    def require_open(self) -> None:
        """Raise ``ExecutorClosedError`` unless open."""
        if self.state is not OPEN:
            raise ExecutorClosedError(self.name, self.state)

    def label(self, fn: Callable[..., Any], label: str | None) -> str:
        """A label unique to this executor and submission."""
        base = label if label is not None else getattr(fn, "__name__", "call")
        return f"{base}-{self._token}-{next(self._counter)}"


def check_plain(executor: str, fn: Callable[..., Any]) -> None:
    """Refuse what an executor cannot run: non-callables and ``async def`` functions.

    Raises:
        TypeError: naming the function and what to change.
    """
    if not callable(fn):
        raise TypeError(f"executor {executor!r} runs callables; got {fn!r}")
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - a callable object's async __call__
    ):
        raise TypeError(
            f"executor {executor!r} runs plain functions, but {fn!r} is an async function; "
            "make it a plain def (it runs on a worker, outside trio)"
        )


def reject_options(
    executor: str, options: Mapping[str, Any] | None, allowed: Iterable[str]
) -> None:
    """Raise ``ExecutorOptionError`` for the first key of ``options`` not in ``allowed``."""
    if not options:
        return
    known = set(allowed)
    for key in options:
        if key not in known:
            raise ExecutorOptionError(executor, key, "is not an option of this executor", known)

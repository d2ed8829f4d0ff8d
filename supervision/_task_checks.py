"""The checks a ``TaskSupervisor`` makes of its options and of each job it is asked to start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arborist.actors._checks import check_args_fit, check_instance, check_int, check_seconds

from ._task_jobs import check_fn, is_async

__all__ = ["LastJobChecked", "check_job", "check_name", "check_options"]


def check_options(shutdown: float, max_children: int | None) -> None:
    """Raise unless ``shutdown`` and ``max_children`` are valid ``TaskSupervisor`` options."""
    hint = "; the seconds running jobs get to finish when it stops (math.inf: wait forever)"
    check_seconds(shutdown, "shutdown", hint=hint)
    check_int(max_children, "max_children", none="for no limit")


def check_job(fn: Any, args: tuple[Any, ...], name: object, what: str) -> None:
    """Raise unless ``fn(*args)`` can be a job named ``name`` (None: ``fn``'s own name)."""
    check_fn(fn, what)
    check_args_fit(fn, args, what=what)
    check_name(name, what)


def check_name(name: object, what: str) -> None:
    """Raise unless ``name`` is a str or None."""
    if name is not None:
        check_instance(name, str, f"{what} name", hint="; or None for the function's name")


class LastJobChecked:
    """``check_job`` that remembers the last function it passed (W5).

    A loop that starts one function N times with the same number of arguments checks it
    once: the function's kind and signature cannot change, and keyword arguments are not
    taken. One entry only, so it keeps at most one function alive.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: tuple[Callable[..., Any], int, bool] | None = None

    def check(self, fn: Any, args: tuple[Any, ...], name: object, what: str) -> bool:
        """Raise as ``check_job`` would; return whether ``fn`` is async (runs as a task)."""
        last = self._last
        if last is not None and last[0] is fn and last[1] == len(args):
            check_name(name, what)
            return last[2]
        check_job(fn, args, name, what)
        asynchronous = is_async(fn)
        self._last = (fn, len(args), asynchronous)
        return asynchronous

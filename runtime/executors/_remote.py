"""The code that runs on the engine's side: chunk and pickled-call trampolines (stdlib only).

Workers import this module by reference, so arborist must be installed where they run when
a feature sends one of these (``chunk_size > 1``, ``ProcessExecutor``).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["run_chunk", "run_pickled", "settle_chunk"]


def run_chunk(
    fn: Callable[..., Any], items: Sequence[tuple[tuple[Any, ...], dict[str, Any]]]
) -> list[tuple[bool, Any]]:
    """Call ``fn`` once per item, one after another; ``(True, value)`` or ``(False, error)``.

    One item's exception does not stop the others (each element has its own outcome).
    """
    results: list[tuple[bool, Any]] = []
    append = results.append
    for args, kwargs in items:
        try:
            append((True, fn(*args, **kwargs)))
        except Exception as exc:
            append((False, exc))
    return results


def run_pickled(payload: bytes) -> Any:
    """Unpickle ``(fn, args, kwargs)`` (made with cloudpickle) and call it."""
    fn, args, kwargs = pickle.loads(payload)
    return fn(*args, **kwargs)


def settle_chunk(payload: bytes) -> list[tuple[bool, Any]]:
    """``run_chunk`` for a cloudpickled ``(fn, items)`` (the process pool's chunks)."""
    fn, items = pickle.loads(payload)
    return run_chunk(fn, items)

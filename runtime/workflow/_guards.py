"""Guards for ``when=``: ``case(...)`` for switch-style routing on inputs and results."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["case"]


def case(**expected: Any) -> Callable[..., bool]:
    """Return a guard that is true when each named input or step equals the given value.

    A step with ``when=case(route="fulfill")`` runs only when step (or input) ``route``
    equals ``"fulfill"``; otherwise it is skipped, and so are the steps that need its value.

    Example:
        >>> @wf.step(when=case(route="backorder"))  # doctest: +SKIP
        ... async def handle_backorder(order_id): ...
    """
    if not expected:
        raise TypeError("case() takes at least one name=value pair, e.g. case(route='fulfill')")

    def guard(**actual: Any) -> bool:
        return all(actual[name] == wanted for name, wanted in expected.items())

    guard.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in expected]
    )
    guard.__name__ = "case(" + ", ".join(f"{k}={v!r}" for k, v in expected.items()) + ")"
    return guard

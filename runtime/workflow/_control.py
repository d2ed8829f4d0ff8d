"""Values a step (or its compensate/undo function) returns to steer its run.

- ``Again(after=s)``: run this step again in ``s`` seconds (polling), holding no slot meanwhile.
- ``Halt(reason)``: stop the run once the steps in flight finish; it can be resumed later.
- ``RetryStep(after=None)``: from ``@step.compensate`` or ``@step.undo``: try again.
- ``ContinueWith(value)``: from ``@step.compensate``: the step succeeds with ``value``.

A compensate function that returns anything else (``None``) lets the error stand.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

__all__ = ["Again", "ContinueWith", "Halt", "RetryStep"]


def _non_negative(_: object, attribute: attrs.Attribute[Any], seconds: float | None) -> None:
    if seconds is None:
        return
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds >= 0:
        raise ValueError(f"{attribute.name} must be a number of seconds >= 0; got {seconds!r}")
    if math.isinf(seconds):
        raise ValueError(f"{attribute.name} must be finite; got {seconds!r}")


@attrs.frozen
class Again:
    """Returned by a step: run it again after ``after`` seconds (bounded by ``max_again``).

    The step releases its concurrency slot and pools while it waits.
    """

    after: float = attrs.field(default=0.0, validator=_non_negative)


@attrs.frozen
class Halt:
    """Returned by a step: halt the run. Steps in flight finish; nothing new starts.

    ``result()`` then raises ``WorkflowHaltedError``, whose ``state`` resumes the run with
    ``rt.resume(state)`` without re-running completed steps. The halting step runs again.
    """

    reason: str = ""


@attrs.frozen
class RetryStep:
    """Returned by a compensate or undo function: try the step (or the undo) again.

    ``after`` overrides the delay (else the step's ``Retry`` backoff, else none).
    """

    after: float | None = attrs.field(default=None, validator=_non_negative)


@attrs.frozen
class ContinueWith:
    """Returned by a compensate function: the step succeeds with ``value`` instead."""

    value: Any

"""Backoff: how long to wait before the n-th retry or restart, one vocabulary for all of arborist.

The same value serves a supervisor (``SupervisorSpec(backoff=...)``: a delay before restarting a
crashed child, beyond OTP, which restarts at once) and a workflow step (``Retry(backoff=...)``:
the wait between attempts). The n-th consecutive wait is

    d = min(max, initial * factor ** (n - 1))

and with ``jitter`` j (a fraction in [0, 1]; ``True`` means 1, "full jitter") a random part of
it is dropped: the wait is uniform in ``[d * (1 - j), d]``, so it never exceeds ``max``. For a
supervisor, an incarnation that ran at least ``reset_after`` seconds (default: ``max``) starts
a new streak, and the restart intensity still applies: every restart is counted when it is
decided, before the delay.
"""

from __future__ import annotations

import math
import random
from typing import Any

import attrs

__all__ = ["Backoff"]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _at_least(low: float, *, infinite: bool = False) -> Any:
    def check(instance: Backoff, attribute: attrs.Attribute[float], value: float) -> None:
        ok = (
            _number(value)
            and not math.isnan(value)
            and (infinite or math.isfinite(value))
            and value >= low
        )
        if not ok:
            kind = "a number" if infinite else "a finite number"
            raise ValueError(f"Backoff {attribute.name} must be {kind} >= {low:g}; got {value!r}")

    return check


def _jitter(value: float | bool) -> float:
    if value is True:
        return 1.0
    if value is False:
        return 0.0
    if not _number(value) or not 0 <= value <= 1:
        raise ValueError(
            f"Backoff jitter is a fraction in [0, 1] of the delay that may be dropped "
            f"(True means 1, full jitter); got {value!r}"
        )
    return float(value)


@attrs.frozen
class Backoff:
    """Exponential, capped, jittered delay before each retry or restart.

    Attributes:
        initial: seconds before the first retry or restart of a streak (>= 0).
        factor: each further one waits ``factor`` times longer (>= 1; 1 is a constant delay).
        max: the cap in seconds (>= ``initial``; ``math.inf`` for no cap).
        jitter: the fraction of each delay that may be dropped at random, in [0, 1]
            (``True``: 1, "full jitter"; ``False``: 0).
        reset_after: for supervisors, an incarnation that ran this many seconds ends the
            streak (default ``max``, or never when ``max`` is infinite).

    Example:
        >>> Backoff(initial=0.5, factor=2.0, max=4.0, jitter=0.0).delay(3)
        2.0
        >>> Backoff.constant(1.5).delay(7)
        1.5
    """

    initial: float = attrs.field(default=0.1, validator=_at_least(0.0))
    factor: float = attrs.field(default=2.0, validator=_at_least(1.0))
    max: float = attrs.field(default=5.0, validator=_at_least(0.0, infinite=True))
    jitter: float = attrs.field(default=0.1, converter=_jitter)
    reset_after: float | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if self.max < self.initial:
            raise ValueError(
                f"Backoff max ({self.max!r}) must be >= initial ({self.initial!r}); "
                "raise max or lower initial"
            )
        if self.reset_after is None:
            object.__setattr__(self, "reset_after", self.max)
        elif not (_number(self.reset_after) and 0 < self.reset_after < math.inf):
            raise ValueError(
                f"Backoff reset_after must be a finite number > 0; got {self.reset_after!r}"
            )

    @classmethod
    def constant(cls, seconds: float, *, jitter: float | bool = 0.0) -> Backoff:
        """The same delay every time (``factor`` 1, capped at ``seconds``)."""
        return cls(initial=seconds, factor=1.0, max=seconds, jitter=jitter)

    @classmethod
    def exponential(
        cls,
        initial: float = 0.1,
        *,
        factor: float = 2.0,
        max: float = 5.0,
        jitter: float | bool = 0.0,
    ) -> Backoff:
        """``initial``, then ``factor`` times longer each time, capped at ``max``."""
        return cls(initial=initial, factor=factor, max=max, jitter=jitter)

    def base_delay(self, attempt: int) -> float:
        """The ``attempt``-th delay before jitter: ``min(max, initial * factor ** (n - 1))``."""
        if self.factor == 1.0 or self.initial == 0.0:
            return min(self.max, self.initial)
        try:
            return min(self.max, self.initial * self.factor ** max(0, attempt - 1))
        except OverflowError:
            return self.max

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before the ``attempt``-th consecutive retry or restart (1: first).

        Args:
            attempt: the position in the current streak, from 1.
            rng: the random source for the jitter (the ``random`` module's by default; pass a
                seeded ``random.Random`` for reproducible delays).

        Returns:
            The delay in seconds, in ``[base * (1 - jitter), base]`` and so never above ``max``.
        """
        base = self.base_delay(attempt)
        if not self.jitter:
            return base
        draw = rng.uniform if rng is not None else random.uniform
        return base * (1.0 - self.jitter) + draw(0.0, base * self.jitter)

"""Backoff: an optional delay before a supervisor restarts a child, so a crash loop does not spin.

Beyond OTP (which restarts at once). The n-th consecutive restart of a child waits
``min(max, initial * factor ** (n - 1))`` seconds, spread by ``jitter``; an incarnation that ran
at least ``reset_after`` seconds (default: ``max``) starts a new streak. The restart intensity
still applies: every restart is counted when it is decided, before the delay.
"""

from __future__ import annotations

import math
import random
from typing import Any

import attrs

__all__ = ["Backoff"]


def _finite_at_least(low: float, *, strict: bool = False) -> Any:
    def check(instance: Backoff, attribute: attrs.Attribute[float], value: float) -> None:
        ok = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and (value > low if strict else value >= low)
        )
        if not ok:
            rule = f"> {low:g}" if strict else f">= {low:g}"
            raise ValueError(
                f"Backoff {attribute.name} must be a finite number {rule}; got {value!r}"
            )

    return check


@attrs.frozen
class Backoff:
    """Exponential, capped, jittered delay before each restart.

    Attributes:
        initial: seconds before the first restart of a streak (>= 0).
        factor: each further restart of the streak waits ``factor`` times longer (>= 1).
        max: the cap in seconds (>= ``initial``).
        jitter: spread as a fraction of the delay, in [0, 1]: the delay is multiplied by a
            uniform factor in ``[1 - jitter, 1 + jitter]`` and capped at ``max`` again.
        reset_after: an incarnation that ran this many seconds ends the streak (default
            ``max``); None before construction means "use ``max``".

    Example:
        >>> Backoff(initial=0.5, factor=2.0, max=4.0, jitter=0.0).delay(3, random.Random())
        2.0
    """

    initial: float = attrs.field(default=0.1, validator=_finite_at_least(0.0))
    factor: float = attrs.field(default=2.0, validator=_finite_at_least(1.0))
    max: float = attrs.field(default=5.0, validator=_finite_at_least(0.0))
    jitter: float = attrs.field(default=0.1, validator=_finite_at_least(0.0))
    reset_after: float | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if self.max < self.initial:
            raise ValueError(
                f"Backoff max ({self.max!r}) must be >= initial ({self.initial!r}); "
                "raise max or lower initial"
            )
        if self.jitter > 1:
            raise ValueError(f"Backoff jitter is a fraction in [0, 1]; got {self.jitter!r}")
        if self.reset_after is None:
            object.__setattr__(self, "reset_after", self.max)
        else:
            check = _finite_at_least(0.0, strict=True)
            check(self, attrs.fields(Backoff).reset_after, self.reset_after)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before the ``attempt``-th consecutive restart (1 for the first).

        Args:
            attempt: the restart's position in the current streak, from 1.
            rng: the random source for the jitter.

        Returns:
            The delay in seconds, in ``[0, max]``.
        """
        try:
            base = min(self.max, self.initial * self.factor ** max(0, attempt - 1))
        except OverflowError:
            base = self.max
        if self.jitter:
            base *= 1.0 + self.jitter * (2.0 * rng.random() - 1.0)
        return min(self.max, max(0.0, base))

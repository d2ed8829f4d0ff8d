"""Adaptive concurrency: a pool limit that finds a service's saturation point by itself.

``rt.pool("api", limit=Adaptive(min=1, max=64))`` declares a pool whose limit is not fixed but
steered by what its step attempts observe: how long each one held its slot (the latency) and
whether it raised. The controller is ours, in the spirit of TCP congestion control and of the
gradient and AIMD limiters of Netflix's concurrency-limits library:

1. The attempts are grouped in *rounds*. A round is ``max(limit, 4)`` attempts that all
   started under the current limit; attempts that started before the last change are ignored,
   so every decision sees the effect of the one before it (TCP's "one decision per RTT").
2. The *baseline* is the lowest round mean latency seen so far: the service's latency when it
   is not queueing. If a round at the ``min`` limit is still more than ``tolerance`` times
   slower, the service itself got slower: the baseline is re-learnt from that round.
3. At the end of a round, with ``ratio = round mean latency / baseline``:

   - ``ratio > tolerance``: the service is queueing. The limit shrinks to
     ``limit * backoff / ratio``: where a queueing service's latency would be back at its
     baseline, times ``backoff`` so that the next rounds measure the unloaded latency again.
   - otherwise, if the pool was *saturated* (some attempt of the round found every slot
     taken): the limit grows. It doubles per round until the first decrease (slow start),
     then grows by one per round (additive increase).
   - otherwise (the demand is below the limit) it stays.

4. An attempt that raised (including a step timeout) shrinks the limit at once to
   ``limit * backoff``, at most once per round, and ends slow start.
5. The limit is always an integer clamped to ``[min, max]``. Every change is reported.

Against a service that serves ``K`` requests at its base latency and queues the rest, the limit
climbs to the knee, overshoots to ``tolerance * K``, falls just under ``K``, and climbs again: a
sawtooth between about ``backoff * K`` and ``tolerance * K``. The controller is pure (no clock,
no trio): the pool feeds it samples.
"""

from __future__ import annotations

import math
from typing import Literal

import attrs

__all__ = ["Adaptive", "AdaptiveController", "LimitReason"]

LimitReason = Literal["growth", "latency", "error"]
"""Why an adaptive limit changed: ``growth`` (saturated and fast), ``latency`` (queueing),
``error`` (an attempt raised)."""

#: The fewest attempts a round averages over, so tiny limits are not steered by one sample.
MIN_ROUND = 4


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Adaptive({name}={value!r}): {name} must be an int, e.g. {name}=8")
    if value < 1:
        raise ValueError(f"Adaptive({name}={value!r}): {name} must be at least 1")


def _check_min(_: Adaptive, __: attrs.Attribute[int], value: int) -> None:
    _positive_int("min", value)


def _check_max(spec: Adaptive, __: attrs.Attribute[int], value: int) -> None:
    _positive_int("max", value)
    if value < spec.min:
        raise ValueError(
            f"Adaptive(min={spec.min}, max={value}): max must be >= min; raise max or lower min"
        )


def _check_initial(spec: Adaptive, __: attrs.Attribute[int | None], value: int | None) -> None:
    if value is None:
        return
    _positive_int("initial", value)
    if not spec.min <= value <= spec.max:
        raise ValueError(
            f"Adaptive(min={spec.min}, max={spec.max}, initial={value}): initial must lie in "
            f"[min, max]; pick an initial limit between them or leave it out (it defaults to min)"
        )


def _check_tolerance(_: Adaptive, __: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Adaptive(tolerance={value!r}): tolerance must be a number, e.g. 1.5")
    if not math.isfinite(value) or value <= 1:
        raise ValueError(
            f"Adaptive(tolerance={value!r}): tolerance is how many times the baseline latency "
            f"counts as queueing, so it must be a finite number > 1, e.g. tolerance=1.5"
        )


def _check_backoff(_: Adaptive, __: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Adaptive(backoff={value!r}): backoff must be a number, e.g. 0.9")
    if not 0 < value < 1:
        raise ValueError(
            f"Adaptive(backoff={value!r}): backoff multiplies the limit on a decrease, so it "
            f"must lie strictly between 0 and 1, e.g. backoff=0.9"
        )


@attrs.frozen(kw_only=True)
class Adaptive:
    """The limit of a pool that adapts to the service behind it (see the module docstring).

    Pass it as ``limit`` to ``Runtime.pool``::

        rt.pool("api", limit=Adaptive(min=1, max=64))

    Attributes:
        min: the limit never goes below this (default 1).
        max: the limit never goes above this.
        initial: the limit to start from (default: ``min``).
        tolerance: a round whose mean latency exceeds ``tolerance`` times the baseline means
            the service is queueing, and the limit shrinks (default 1.5).
        backoff: the factor of a multiplicative decrease, in (0, 1) (default 0.9).

    Raises:
        TypeError: a field has the wrong type.
        ValueError: a bound is below 1, ``max < min``, ``initial`` is outside ``[min, max]``,
            ``tolerance <= 1`` or ``backoff`` is outside (0, 1).
    """

    min: int = attrs.field(default=1, validator=_check_min)
    max: int = attrs.field(validator=_check_max)
    initial: int | None = attrs.field(default=None, validator=_check_initial)
    tolerance: float = attrs.field(default=1.5, validator=_check_tolerance)
    backoff: float = attrs.field(default=0.9, validator=_check_backoff)

    @property
    def start(self) -> int:
        """The limit a new pool starts with."""
        return self.min if self.initial is None else self.initial


class AdaptiveController:
    """The state of one adaptive limit; the pool reports each attempt to ``observe``.

    Pure and synchronous: it never reads a clock. ``epoch`` counts the limit's changes; the
    pool stamps each attempt with the epoch it started in and hands it back with the outcome.
    """

    __slots__ = (
        "_count",
        "_saturated",
        "_slow_start",
        "_total",
        "baseline",
        "epoch",
        "limit",
        "spec",
    )

    def __init__(self, spec: Adaptive) -> None:
        self.spec = spec
        self.limit = spec.start
        self.epoch = 0
        self.baseline: float | None = None
        self._slow_start = True
        self._count = 0
        self._total = 0.0
        self._saturated = False

    def observe(
        self, epoch: int, latency: float, *, error: bool, saturated: bool
    ) -> tuple[int, int, LimitReason] | None:
        """Take one attempt's outcome; return ``(old, new, reason)`` if the limit changed.

        Args:
            epoch: the ``epoch`` when the attempt started; older attempts are ignored.
            latency: seconds the attempt held its slot.
            error: whether the attempt raised.
            saturated: whether every slot was taken when the attempt got its slot.
        """
        if epoch != self.epoch:
            return None
        if error:
            self._slow_start = False
            return self._change(math.floor(self.limit * self.spec.backoff), "error")
        self._count += 1
        self._total += latency
        self._saturated = self._saturated or saturated
        if self._count < max(self.limit, MIN_ROUND):
            return None
        return self._end_round()

    def _end_round(self) -> tuple[int, int, LimitReason] | None:
        mean = self._total / self._count
        saturated = self._saturated
        self._count, self._total, self._saturated = 0, 0.0, False
        if self.baseline is None or mean < self.baseline:
            self.baseline = mean
        ratio = mean / self.baseline if self.baseline > 0 else 1.0
        if ratio > self.spec.tolerance:
            self._slow_start = False
            if self.limit <= self.spec.min:
                self.baseline = mean  # slow even at the floor: the service itself got slower
                return None
            return self._change(math.floor(self.limit * self.spec.backoff / ratio), "latency")
        if saturated:
            grown = self.limit * 2 if self._slow_start else self.limit + 1
            return self._change(grown, "growth")
        return None

    def _change(self, target: int, reason: LimitReason) -> tuple[int, int, LimitReason] | None:
        new = min(self.spec.max, max(self.spec.min, target))
        self._count, self._total, self._saturated = 0, 0.0, False
        if new == self.limit:
            return None
        old, self.limit = self.limit, new
        self.epoch += 1
        return old, new, reason

    def __repr__(self) -> str:
        baseline = "?" if self.baseline is None else f"{self.baseline:.6g}s"
        return f"<AdaptiveController limit={self.limit} baseline={baseline} epoch={self.epoch}>"

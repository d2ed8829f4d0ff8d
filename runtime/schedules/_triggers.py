"""Triggers: the pure, deterministic time maths that decide when a schedule comes due.

Triggers are frozen values, validated at construction, with no clock and no I/O: the scheduler
asks them "when next?" and executes the answer. There are two families:

- `Interval` (made by `every`) runs on trio's *monotonic* clock (`trio.current_time()` floats,
  so `MockClock` drives it). Due times are anchored: each one is the previous *due* time plus
  the period, never "when the last run happened to start" plus the period, so lateness never
  accumulates.
- Wall-clock triggers satisfy the `Trigger` protocol, `next_after(after) -> datetime | None`,
  over timezone-aware datetimes, and always answer in UTC: `Cron` (made by `cron`) and `At`
  (made by `at`).

Cron (syntax and daylight-saving rules) lives in ``_cron``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from arborist.actors._checks import MIN_PERIOD

__all__ = ["At", "Interval", "Trigger", "at", "every", "grid_count", "next_due"]


@runtime_checkable
class Trigger(Protocol):
    """A wall-clock trigger: it knows its next due instant after any given instant.

    `Cron` and `At` satisfy it; `Interval` does not, because it runs on the monotonic clock.
    """

    def next_after(self, after: datetime) -> datetime | None:
        """Return the first due instant strictly after aware `after`, in UTC, or None.

        Raises:
            ValueError: If `after` is naive.
        """
        ...


def _aware_utc(value: object, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{what} must be timezone-aware, got naive {value.isoformat()}: attach a tzinfo, "
            "e.g. datetime(..., tzinfo=ZoneInfo('Europe/Paris')) or when.replace(tzinfo=UTC)"
        )
    return value.astimezone(UTC)


# --------------------------------------------------------------------------- intervals


def _period_seconds(value: float | timedelta) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | timedelta):
        raise TypeError(f"Interval period must be a number of seconds, got {value!r}")
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(
            f"Interval period must be a positive, finite number of seconds, got {value!r}: "
            "use e.g. every(seconds=30)"
        )
    if seconds < MIN_PERIOD:
        raise ValueError(
            f"Interval period must be at least {MIN_PERIOD:g} seconds (1 ms), got {value!r}: "
            "trio's timers cannot keep a shorter period"
        )
    return seconds


def _finite_time(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite monotonic time, got {value!r}")
    return value


@attrs.frozen
class Interval:
    """A periodic trigger on trio's monotonic clock (`trio.current_time()` seconds).

    Due times form a grid anchored at the schedule's start: `start + k * period` for
    k = 1, 2, ... (k = 0, 1, ... when `immediate`). All methods are pure.

    Attributes:
        period: Seconds between due times; finite and at least 1 ms (``MIN_PERIOD``).
        immediate: Whether the first due time is the start itself rather than one period later.

    Example:
        >>> trigger = every(minutes=1)
        >>> trigger.first_fire(100.0), trigger.next_fire(160.0)
        (160.0, 220.0)
    """

    period: float = attrs.field(converter=_period_seconds)
    immediate: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    def first_fire(self, start: float) -> float:
        """Return the first due time of a schedule started at `start`."""
        return start if self.immediate else start + self.period

    def next_fire(self, previous_due: float) -> float:
        """Return the due time after `previous_due`: `previous_due + period`.

        Pass the previous *due* time, not the time its run started: a late run does not push
        the schedule back. Chaining this k times rounds k times; `nth_fire` rounds once.
        """
        return previous_due + self.period

    def nth_fire(self, start: float, n: int) -> float:
        """Return the n-th due time (n >= 1) of a schedule started at `start`, in one rounding.

        Raises:
            ValueError: If `n` < 1.
        """
        if n < 1:
            raise ValueError(f"nth_fire() counts due times from 1, got n={n}")
        return start + self.multiple(n) * self.period

    def multiple(self, n: int) -> int:
        """Return k such that the n-th due time is ``start + k * period`` (see `nth_fire`).

        A timer that repeats on the same grid (``TimerService.call_every``) starts from it.
        """
        return n - 1 if self.immediate else n

    def missed_count(self, previous_due: float, now: float) -> int:
        """Return how many due times fell in `(previous_due, now]`, in constant time.

        These are the ticks that came due since `previous_due` and have not run yet; 1 when
        the scheduler woke on time, more when it fell behind. A due time exactly at `now`
        counts.

        Raises:
            ValueError: If `now` is before `previous_due` or either is not finite.
        """
        _finite_time(previous_due, "previous_due")
        _finite_time(now, "now")
        if now < previous_due:
            raise ValueError(
                f"now ({now!r}) is before previous_due ({previous_due!r}): the monotonic "
                "clock never goes backwards, so pass the times in that order"
            )
        period = self.period
        n = math.floor((now - previous_due) / period)
        # Agree exactly with the values due_times_between() computes, despite rounding.
        while previous_due + (n + 1) * period <= now:
            n += 1
        while n > 0 and previous_due + n * period > now:
            n -= 1
        return n

    def due_times_between(self, previous_due: float, now: float) -> list[float]:
        """Return the due times in `(previous_due, now]`, oldest first.

        Each is `previous_due + k * period`, computed by one multiplication, so the k-th equals
        `nth_fire` for a schedule anchored at `previous_due`. The list holds `missed_count`
        items; after a long stall of a short period that can be large, so use `missed_count`
        when only the number matters.

        Raises:
            ValueError: If `now` is before `previous_due` or either is not finite.
        """
        count = self.missed_count(previous_due, now)
        return [previous_due + k * self.period for k in range(1, count + 1)]


def grid_count(trigger: Interval, anchor: float, now: float) -> int:
    """Return how many n >= 1 have ``trigger.nth_fire(anchor, n) <= now``: the ticks due by then."""
    shift = 1 if trigger.immediate else 0
    n = max(0, math.floor((now - anchor) / trigger.period) + shift)
    while n >= 1 and trigger.nth_fire(anchor, n) > now:
        n -= 1
    while trigger.nth_fire(anchor, n + 1) <= now:
        n += 1
    return n


def every(
    *,
    seconds: float = 0,
    minutes: float = 0,
    hours: float = 0,
    days: float = 0,
    immediate: bool = False,
) -> Interval:
    """Return an `Interval` trigger firing every given amount of (monotonic) time.

    Args:
        seconds: Seconds to add to the period.
        minutes: Minutes to add to the period.
        hours: Hours to add to the period.
        days: Days of 86,400 seconds to add; monotonic days know nothing of DST.
        immediate: Fire at the start too, not only one period after it.

    Raises:
        TypeError: If an amount is not a number (a bool, a str, None).
        ValueError: If an amount is negative or not finite, or the total is below 1 ms (the
            shortest period trio's timers keep).

    Example:
        >>> every(minutes=1, seconds=30)
        Interval(period=90.0, immediate=False)
    """
    amounts = {"seconds": seconds, "minutes": minutes, "hours": hours, "days": days}
    for name, amount in amounts.items():
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise TypeError(f"every() takes numbers, got {name}={amount!r}")
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(
                f"every() takes finite, non-negative amounts, got {name}={amount!r}: "
                "build the period from positive parts, e.g. every(minutes=1, seconds=30)"
            )
    total = seconds + 60 * minutes + 3600 * hours + 86400 * days
    given = ", ".join(f"{name}={amount!r}" for name, amount in amounts.items())
    if total <= 0:
        raise ValueError(
            f"every() needs a positive period, got {given}: "
            "pass at least one positive amount, e.g. every(seconds=30)"
        )
    if total < MIN_PERIOD:
        raise ValueError(
            f"every() needs a period of at least {MIN_PERIOD:g} seconds (1 ms), got {given}: "
            "trio's timers cannot keep a shorter period"
        )
    return Interval(period=total, immediate=immediate)


def next_due(trigger: Trigger, after: datetime, label: str) -> datetime | None:
    """``trigger.next_after(after)``, checked: None, or an aware datetime strictly after ``after``.

    A custom trigger that answers anything else would fail later or never stop answering the
    same instant; this raises naming it (``label``, e.g. ``"schedule 'report'"``) instead.

    Raises:
        TypeError: The answer is neither None nor a datetime.
        ValueError: The answer is naive, or not after ``after``.
    """
    answer: object = trigger.next_after(after)
    if answer is None:
        return None
    asked = f"{label}: trigger {trigger!r} answered next_after({after.isoformat()})"
    due = _aware_utc(answer, f"{asked}: its answer")
    if due <= after:
        raise ValueError(
            f"{asked} with {due.isoformat()}, which is not after it; next_after must return "
            "an instant strictly after the one it is given (or None when done)"
        )
    return due


# --------------------------------------------------------------------------- one-shot


def _aware_when(value: datetime) -> datetime:
    return _aware_utc(value, "at() time")


@attrs.frozen
class At:
    """A wall-clock trigger that fires once, at `when` (stored in UTC).

    Example:
        >>> once = at(datetime(2026, 6, 1, 9, tzinfo=UTC))
        >>> once.next_after(datetime(2026, 6, 1, 9, tzinfo=UTC)) is None
        True
    """

    when: datetime = attrs.field(converter=_aware_when)

    def next_after(self, after: datetime) -> datetime | None:
        """Return `when` if it is strictly after `after`, else None.

        Raises:
            ValueError: If `after` is naive.
        """
        moment = _aware_utc(after, "At.next_after() argument")
        return self.when if self.when > moment else None


def at(when: datetime) -> At:
    """Return an `At` trigger firing once at `when`, a timezone-aware datetime.

    Raises:
        ValueError: If `when` is naive; attach a tzinfo.
    """
    return At(when)

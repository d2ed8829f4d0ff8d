"""Wall clocks: where wall-clock schedules (cron, one-shot `at`) read the current UTC time.

Interval schedules never read a wall clock: they run on trio's monotonic clock
(`trio.current_time`), so `trio.testing.MockClock` drives them. Wall-clock triggers need the
civil time instead, and a scheduler takes it from an injected `WallClock` (its `wall_clock=`
argument): `SystemWallClock` in production, `ManualWallClock` in tests, where the test moves
time by hand and can also step it backwards, as an NTP correction would, and `TrioWallClock`
in tests and examples that let trio's `MockClock` drive cron schedules over simulated days.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs
import trio

from ._options import _seconds

__all__ = ["ManualWallClock", "SystemWallClock", "TrioWallClock", "WallClock"]


@runtime_checkable
class WallClock(Protocol):
    """A source of the current civil time, as a timezone-aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current time; aware, in UTC. Never blocks."""
        ...


@attrs.frozen
class SystemWallClock:
    """The operating system's clock: `datetime.now(UTC)`.

    It may jump in either direction (NTP steps, a VM resumed, an operator setting the time);
    schedulers must treat its readings as hints and re-plan, never as a monotonic sequence.

    Example:
        >>> SystemWallClock().now().tzinfo is UTC
        True
    """

    def now(self) -> datetime:
        """Return the current UTC time. Never blocks."""
        return datetime.now(UTC)


def _require_aware(value: object, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{what} must be timezone-aware, got naive {value.isoformat()}: "
            "attach a tzinfo, e.g. datetime(..., tzinfo=UTC)"
        )
    return value.astimezone(UTC)


def _start_time(value: datetime) -> datetime:
    return _require_aware(value, "ManualWallClock start")


@attrs.define(eq=False)
class ManualWallClock:
    """A wall clock that only moves when a test moves it.

    `advance` moves forwards only; `set` goes anywhere, backwards included, to simulate a clock
    step. Readings are normalised to UTC whatever zone the datetimes were given in.

    Args:
        start: The first reading; must be timezone-aware.

    Raises:
        ValueError: If `start` is naive.

    Example:
        >>> clock = ManualWallClock(datetime(2026, 3, 29, tzinfo=UTC))
        >>> clock.advance(90)
        >>> clock.now().isoformat()
        '2026-03-29T00:01:30+00:00'
    """

    _now: datetime = attrs.field(alias="start", converter=_start_time)

    def now(self) -> datetime:
        """Return the current reading, in UTC. Never blocks."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when`, forwards or backwards.

        Raises:
            ValueError: If `when` is naive.
        """
        self._now = _require_aware(when, "ManualWallClock.set() time")

    def advance(self, delta: timedelta | float) -> None:
        """Move forwards by `delta` (a timedelta, or a number of seconds).

        Raises:
            TypeError: If `delta` is neither a timedelta nor a number (a str, a bool).
            ValueError: If `delta` is negative or not finite; use `set` to go backwards.
        """
        rule = "a finite, non-negative delta (use set(when) to go backwards)"
        seconds = _seconds(delta, "ManualWallClock.advance() delta", rule)
        if seconds < 0:
            raise ValueError(
                f"ManualWallClock.advance() needs a finite, non-negative delta, got {delta!r}: "
                "a wall clock only moves backwards through an explicit set(when)"
            )
        self._now += timedelta(seconds=seconds) if not isinstance(delta, timedelta) else delta

    def __repr__(self) -> str:
        return f"<ManualWallClock {self._now.isoformat()}>"


class TrioWallClock:
    """A wall clock that follows trio's clock: `start` plus the trio seconds since creation.

    Under `trio.testing.MockClock` (autojump), cron schedules then run over simulated days in
    milliseconds, DST changes included. `jump` steps it like an NTP correction or a resumed VM.
    Create it inside `trio.run` (it reads `trio.current_time()` once, at creation).

    Args:
        start: The reading at creation; must be timezone-aware.

    Raises:
        ValueError: If `start` is naive.

    Example:
        >>> clock = TrioWallClock(datetime(2026, 3, 29, tzinfo=UTC))  # doctest: +SKIP
        >>> await trio.sleep(90)  # doctest: +SKIP
        >>> clock.now().isoformat()  # doctest: +SKIP
        '2026-03-29T00:01:30+00:00'
    """

    __slots__ = ("_base", "_origin")

    def __init__(self, start: datetime) -> None:
        self._base = _require_aware(start, "TrioWallClock start")
        self._origin = trio.current_time()

    def now(self) -> datetime:
        """Return `start` plus the trio seconds elapsed (plus any jumps), in UTC. Never blocks."""
        return self._base + timedelta(seconds=trio.current_time() - self._origin)

    def jump(self, seconds: float | timedelta) -> None:
        """Step the clock by `seconds`: forwards if positive, backwards if negative.

        Raises:
            ValueError: If `seconds` is not finite.
        """
        if not isinstance(seconds, timedelta):
            if not math.isfinite(seconds):
                raise ValueError(f"TrioWallClock.jump() needs a finite step, got {seconds!r}")
            seconds = timedelta(seconds=seconds)
        self._base += seconds

    def __repr__(self) -> str:
        return f"<TrioWallClock {self.now().isoformat()}>"

"""Cron: a wall-clock trigger from a cron expression in a time zone, DST-aware.

Cron syntax: 5 fields, ``minute hour day-of-month month day-of-week``, or 6 with a *leading*
seconds field, ``second minute hour day-of-month month day-of-week`` (the Quartz and cronsim
order; croniter puts seconds last, we do not). A field holds numbers, ranges ``1-5``, lists
``1,15``, steps ``*/10`` or ``3-59/15``; months also take JAN-DEC, days of week SUN-SAT or 0-7
(0 and 7 are both Sunday); day-of-month takes ``L`` (last day) and ``LW`` (last weekday),
day-of-week ``5L`` (last Friday) and ``MON#2`` (second Monday). The aliases ``@yearly``,
``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight`` and ``@hourly`` stand for
their 5-field forms. When both day fields are restricted (neither starts with ``*``), a day
matches if either one matches, as in Vixie and Debian cron. Parsing and calendar arithmetic
come from cronsim, used only on naive wall times; the time-zone rules below are ours.

Daylight saving time. A cron expression is read in its zone's wall time. It is *fixed-time*
when its minute and hour fields both start with something other than ``*`` (``30 2 * * *``,
``0 9-17 * * MON-FRI``), and *periodic* otherwise (``0 * * * *``, ``*/15 * * * *``). This is
Debian cron's rule; cronsim applies it to 5-field expressions only (a 6-field ``0 30 2 * * *``
skips the spring-forward day and fires twice on fall-back day there), we apply it to both.

1. Spring forward, a gap in wall time (Europe/Paris, 2026-03-29, 02:00 CET jumps to 03:00
   CEST): a fixed-time job whose time falls in the gap fires **once, at the first instant
   after the gap** (03:00 CEST, 01:00 UTC), however many of its times fall in the gap. This is
   cronie's and Debian cron's behaviour, and we prefer it to skipping the day: a nightly backup
   or report that silently does not happen one day a year is a worse surprise than one that
   runs at 03:00 instead of the 02:30 that did not exist. A periodic job simply has no ticks in
   the gap: ``0 * * * *`` fires at 01:00 CET and then 03:00 CEST, one real hour apart.
2. Fall back, a repeated hour (Paris, 2026-10-25, 02:00-03:00 happens twice): a fixed-time job
   fires **once, at the first occurrence** (``fold=0``, the summer-time offset); the second
   pass is not a new day. A periodic job fires at every real instant whose wall time matches,
   so ``0 * * * *`` fires at 02:00 CEST and at 02:00 CET, two instants an hour apart: every
   real hour exactly once, never twice in one instant.

Results are strictly increasing UTC instants with no duplicates; wall times that do not exist
are never returned.
"""

from __future__ import annotations

import calendar
import functools
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from cronsim import CronSim, CronSimError

from ._triggers import _aware_utc

__all__ = ["Cron", "cron"]

_ONE_SECOND = timedelta(seconds=1)
_UTC_ZONE = ZoneInfo("UTC")
_FIRST_PROBE = int(datetime(1, 1, 2, tzinfo=UTC).timestamp())
_LAST_PROBE = int(datetime(9999, 12, 30, tzinfo=UTC).timestamp())


_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELD_NAMES = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")
_FIELD_RULES = {
    "second": "0-59",
    "minute": "0-59",
    "hour": "0-23",
    "day-of-month": "1-31 (a day that exists in one of the chosen months), L or LW",
    "month": "1-12 or JAN-DEC",
    "day-of-week": "0-7 (0 and 7 are Sunday), SUN-SAT, MON#2 or 5L",
}
_SYNTAX_HINT = (
    "use 5 fields (minute hour day-of-month month day-of-week), 6 with a leading seconds "
    "field (second minute hour day-of-month month day-of-week), or an alias such as @daily"
)


def _normalise_expr(expr: str) -> str:
    if not isinstance(expr, str):
        raise TypeError(f"cron expression must be a string, got {expr!r}")
    text = " ".join(expr.split())
    text = _ALIASES.get(text.lower(), text)
    fields = text.split(" ") if text else []
    if len(fields) not in (5, 6):
        raise ValueError(f"cron expression {expr!r} has {len(fields)} fields: {_SYNTAX_HINT}")
    try:
        CronSim(text, datetime(2000, 1, 1))
    except CronSimError as exc:
        names = _FIELD_NAMES[6 - len(fields) :]
        name = str(exc).removeprefix("Bad ")
        if name not in names:  # pragma: no cover - cronsim names every field it rejects
            raise ValueError(f"cron expression {expr!r} is invalid: {_SYNTAX_HINT}") from exc
        field = fields[names.index(name)]
        raise ValueError(
            f"cron expression {expr!r} has an invalid {name} field {field!r}: "
            f"use {_FIELD_RULES[name]}, a range like 1-5, a list like 1,15 or a step like */10"
        ) from exc
    return text


def _zone(tz: str | tzinfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    if tz is UTC:
        return _UTC_ZONE
    if not isinstance(tz, str):
        raise TypeError(
            f"tz must be an IANA time-zone name or a zoneinfo.ZoneInfo, got {tz!r}: "
            "pass e.g. tz='Europe/Paris'; fixed offsets have no DST rules to follow"
        )
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"time zone {tz!r} is not in the IANA time-zone database: use a name such as "
            "'Europe/Paris', 'America/New_York' or 'UTC' (install tzdata if the system has none)"
        ) from exc


def _offset(tz: ZoneInfo, timestamp: int) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, tz).utcoffset()


@functools.lru_cache(maxsize=512)
def _transitions_in_year(tz: ZoneInfo, year: int) -> tuple[int, ...]:
    """Return the whole-second Unix times in UTC `year` at which `tz` changes its offset.

    Probes every 6 hours, then bisects to the second: this assumes no zone changes its offset
    twice within 6 hours, which holds for tzdata in any era jobs are scheduled in.
    """
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = start + (366 if calendar.isleap(year) else 365) * 86400
    start, end = max(start, _FIRST_PROBE), min(end, _LAST_PROBE)  # stay inside datetime's range
    step = 6 * 3600
    found: list[int] = []
    probe, before = start - 1, _offset(tz, start - 1)
    while probe < end - 1:
        ahead = min(probe + step, end - 1)
        after = _offset(tz, ahead)
        if after != before:
            low, high = probe, ahead  # offset(low) == before != offset(high)
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(tz, middle) == before:
                    low = middle
                else:
                    high = middle
            found.append(high)
        probe, before = ahead, after
    return tuple(found)


def _first_transition(tz: ZoneInfo, after: datetime, until: datetime) -> datetime | None:
    """Return the first instant in `(after, until]` at which `tz` changes offset, if any."""
    low, high = after.timestamp(), until.timestamp()
    for year in range(after.year, until.year + 1):
        for moment in _transitions_in_year(tz, year):
            if moment > high:
                return None
            if moment > low:
                return datetime.fromtimestamp(moment, UTC)
    return None


def _real_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """Map a naive wall time to the instant a fixed-time job fires for it.

    An existing wall time maps to its first occurrence (fold=0); one inside a spring-forward
    gap maps to the first instant after the gap.
    """
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # In a gap: fold=0 reads the wall with the offset before the jump, fold=1 with the one
    # after; the jump lies between the two readings.
    other = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(first, other), max(first, other)
    jump = _first_transition(tz, low, high)
    return high if jump is None else jump  # None only if the probe missed the jump


@attrs.frozen
class Cron:
    """A wall-clock trigger from a cron expression read in a time zone.

    See the module docstring for the syntax (5 fields, or 6 with leading seconds) and for the
    daylight-saving rules. Pure and deterministic: the same inputs always give the same answer.

    Attributes:
        expr: The expression, whitespace-normalised, aliases expanded.
        tz: The zone whose wall time the expression is read in.

    Example:
        >>> trigger = cron("0 8 * * MON-FRI", tz="Europe/Paris")
        >>> trigger.next_after(datetime(2026, 3, 27, 12, tzinfo=UTC)).isoformat()
        '2026-03-30T06:00:00+00:00'
    """

    expr: str = attrs.field(converter=_normalise_expr)
    tz: ZoneInfo = attrs.field(default=_UTC_ZONE, converter=_zone)

    @property
    def is_fixed_time(self) -> bool:
        """Whether the minute and hour fields both name specific values (see DST rules)."""
        *_, minute, hour, _dom, _month, _dow = self.expr.split(" ")
        return not minute.startswith("*") and not hour.startswith("*")

    def next_after(self, after: datetime) -> datetime | None:
        """Return the first due instant strictly after `after`, in UTC.

        Args:
            after: A timezone-aware datetime, in any zone.

        Returns:
            The next due instant, or None if the expression has no match in the next 50
            years or before the end of the calendar.

        Raises:
            ValueError: If `after` is naive.
        """
        moment = _aware_utc(after, "Cron.next_after() argument")
        try:
            if self.is_fixed_time:
                return self._next_fixed_time(moment)
            return self._next_periodic(moment)
        except (StopIteration, OverflowError):
            return None

    def _next_fixed_time(self, after: datetime) -> datetime | None:
        # Walk wall times in calendar order; the mapping to instants is non-decreasing, so the
        # first instant past `after` is the answer. Walls in a gap all map to its end, and
        # only the first of them passes `after`; the second pass of a repeated hour is never
        # produced.
        wall = after.astimezone(self.tz).replace(tzinfo=None)
        for candidate in CronSim(self.expr, wall):
            instant = _real_instant(candidate, self.tz)
            if instant > after:
                return instant
        return None

    def _next_periodic(self, after: datetime) -> datetime:
        # Walk the timeline one constant-offset stretch at a time: inside a stretch, wall
        # time is UTC plus the offset, so the first matching wall time gives the answer
        # unless the stretch ends first; then continue from the start of the next stretch.
        # Gap walls belong to no stretch, and both passes of a repeated hour do.
        start = after.replace(microsecond=0) + _ONE_SECOND
        while True:
            offset = start.astimezone(self.tz).utcoffset()
            assert offset is not None  # a ZoneInfo always knows its offset
            wall = (start + offset).replace(tzinfo=None)
            match = next(CronSim(self.expr, wall - _ONE_SECOND))
            instant = (match - offset).replace(tzinfo=UTC)
            jump = _first_transition(self.tz, start, instant)
            if jump is None:
                return instant
            start = jump


def cron(expr: str, *, tz: str | tzinfo = "UTC") -> Cron:
    """Return a `Cron` trigger for `expr` read in the time zone `tz`.

    Args:
        expr: 5 fields, or 6 with a leading seconds field, or an alias such as ``@daily``.
        tz: An IANA zone name or a `zoneinfo.ZoneInfo` (or `datetime.UTC`); UTC by default.

    Raises:
        ValueError: If the expression or the zone is invalid; the message names the field.

    Example:
        >>> cron("*/15 * * * *").next_after(datetime(2026, 1, 1, 9, 7, tzinfo=UTC)).isoformat()
        '2026-01-01T09:15:00+00:00'
    """
    return Cron(expr, tz)

"""Run timelines: a run's step attempts drawn as a text Gantt chart.

``render_timeline`` is pure: it takes ``StepRecord`` values and the run's start and end times
(trio's clock) and returns a string, so the same records always give the same chart.
``RunHandle.timeline()`` calls it for a run. The chart has a header (the run's total time,
steps and attempts), one row per step in order of first start, and a legend::

    user_data: 300ms, 4 steps, 6 attempts
    step               start   took  tries  status  |0ms                   300ms|
    fetch_profile        0ms  200ms      1  ok      |████████████████         |
    fetch_activity       0ms  300ms      3  ok      |▓▓▓·····▓▓▓▓·····███████|
    ...
    █ ok  ▓ failed

Each attempt is a segment of its row, drawn with its status's character, scaled to the run's
span (every attempt gets at least one column); the wait between two attempts of a step (a retry
backoff, an ``Again`` delay) is dotted. A ``skipped`` record has no bar.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from arborist.actors._checks import check_seconds

if TYPE_CHECKING:
    from ._handle import StepRecord

__all__ = ["render_timeline"]

#: The bar character of each attempt status, in legend order.
BARS = {
    "ok": "█",
    "failed": "▓",
    "again": "▒",
    "cancelled": "░",
    "halted": "▄",
}
UNKNOWN_BAR = "▪"
WAIT = "·"
MIN_WIDTH = 10
MAX_NAME = 32


def format_seconds(seconds: float) -> str:
    """A short human duration: ``850ms``, ``1.25s``, ``2m05.0s``."""
    if seconds < 0.9995:  # would print as 1000ms
        return f"{seconds * 1000:.0f}ms"
    if seconds < 59.995:  # would print as 60.00s
        return f"{seconds:.2f}s"
    minutes, rest = divmod(round(seconds, 1), 60)
    return f"{minutes:.0f}m{rest:04.1f}s"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _columns(offset: float, until: float, span: float, width: int) -> range:
    """The columns a segment ``[offset, until]`` (seconds from the start) covers."""
    if span <= 0:
        return range(1)
    first = math.floor(round(offset / span * width, 6))
    last = math.ceil(round(until / span * width, 6))
    first = min(max(first, 0), width - 1)
    last = min(max(last, first + 1), width)
    return range(first, last)


def render_timeline(
    records: Iterable[StepRecord],
    start: float,
    end: float,
    width: int = 60,
    *,
    title: str = "run",
) -> str:
    """Draw step attempts as a text Gantt chart (see the module docstring for the layout).

    Args:
        records: the attempts, e.g. ``handle.records`` (any order).
        start: when the run started (trio's clock); offsets are measured from it.
        end: when the run ended; the bars are scaled to ``end - start``.
        width: the number of columns of the bars, at least 10.
        title: the header's first word, e.g. the workflow's name.

    Returns:
        The chart, lines joined by newlines, with a trailing newline.

    Raises:
        TypeError: ``start`` or ``end`` is not a number.
        ValueError: ``width`` is below 10, or ``end`` is before ``start`` (or not finite).
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < MIN_WIDTH:
        raise ValueError(
            f"timeline width must be an int >= {MIN_WIDTH} (columns of the bars); got {width!r}"
        )
    check_seconds(start, "timeline start", least=-math.inf, finite=True)
    check_seconds(end, "timeline end", least=-math.inf, finite=True)
    if end < start:
        raise ValueError(f"timeline end {end!r} is before its start {start!r}; swap them")
    span = end - start
    rows: dict[str, list[StepRecord]] = {}
    for record in sorted(records, key=lambda r: (r.start, r.attempt, r.step)):
        rows.setdefault(record.step, []).append(record)
    attempts = sum(1 for row in rows.values() for r in row if r.status != "skipped")
    names = {step: step if len(step) <= MAX_NAME else step[: MAX_NAME - 1] + "…" for step in rows}
    name_width = max([4, *(len(name) for name in names.values())])
    lines = [
        f"{title}: {format_seconds(span)}, {_count(len(rows), 'step')}, "
        f"{_count(attempts, 'attempt')}",
    ]
    left, right = format_seconds(0), format_seconds(span)
    axis = left + right.rjust(width - len(left)) if width > len(left) + len(right) else ""
    columns = f"{'step':<{name_width}}  {'start':>7}  {'took':>7}  tries  {'status':<9}"
    lines.append(f"{columns}  |{axis:<{width}}|")
    seen: set[str] = set()
    for step, row in rows.items():
        first, last = row[0], row[-1]
        tried = [r for r in row if r.status != "skipped"]
        cells = [" "] * width
        if tried:
            waited = _columns(tried[0].start - start, tried[-1].end - start, span, width)
            for column in waited:
                cells[column] = WAIT
        for record in tried:
            bar = BARS.get(record.status, UNKNOWN_BAR)
            seen.add(record.status)
            for column in _columns(record.start - start, record.end - start, span, width):
                cells[column] = bar
        lines.append(
            f"{names[step]:<{name_width}}  {format_seconds(first.start - start):>7}  "
            f"{format_seconds(last.end - first.start):>7}  {len(tried):>5}  "
            f"{last.status:<9}  |{''.join(cells)}|"
        )
    legend = [f"{bar} {status}" for status, bar in BARS.items() if status in seen]
    legend += [f"{UNKNOWN_BAR} {status}" for status in sorted(seen - BARS.keys())]
    if any(sum(r.status != "skipped" for r in row) > 1 for row in rows.values()):
        legend.append(f"{WAIT} waiting")
    if legend:
        lines.append("  ".join(legend))
    return "\n".join(lines) + "\n"

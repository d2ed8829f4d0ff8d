"""``arborist schedules list``: the durable schedules in a store, with their recent ticks.

Takes ``--store URL`` (default ``$ARBORIST_STORE``) and only reads. Each schedule shows its
trigger, its job, the last due instant consumed (fired, skipped or missed), the next one on
its trigger (``every`` and ``cron``, from the stored anchor), its run count and its
newest ticks with their outcomes; ``--json`` prints one JSON object per schedule instead.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import trio

from ..schedules._cron import cron
from ..store import ScheduleInfo, TickRow
from ._exits import EXIT_OK
from ._runs import STORE_ENV, open_url, store_url

__all__ = ["add_schedules_parser", "schedules_command"]

_EVERY = re.compile(r"^every ([0-9.e+-]+)s( immediate)?$")
_CRON = re.compile(r"^cron '(.+)' (\S+)$")


def add_schedules_parser(commands: Any) -> None:
    """Add ``schedules`` and its ``list`` subcommand to the ``arborist`` parser."""
    schedules = commands.add_parser(
        "schedules",
        help="list the durable schedules in a store, with their recent ticks",
        description="Durable schedules (rt.schedule with Runtime(store=...)): last and next "
        "due instants, runs, and the outcome of each recent tick.",
    )
    sub = schedules.add_subparsers(dest="schedules_command", metavar="<subcommand>", required=True)
    listing = sub.add_parser("list", help="every schedule by name, with its newest ticks")
    listing.add_argument("--ticks", type=int, default=5, help="newest ticks shown (default 5)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.add_argument(
        "--store",
        metavar="URL",
        default=None,
        help=f"the store: sqlite:///path.db or postgresql://... (default: ${STORE_ENV})",
    )


def schedules_command(args: argparse.Namespace) -> int:
    """Run ``arborist schedules list``; return the exit status."""
    return trio.run(_list, args, store_url(args))


def next_due(info: ScheduleInfo) -> datetime | None:
    """The next due instant after the last one consumed, for ``every`` and ``cron`` rows."""
    if info.anchor_utc is None:
        return None
    cron_match = _CRON.match(info.trigger)
    if cron_match is not None:
        try:
            trigger = cron(cron_match.group(1), tz=cron_match.group(2))
        except (ValueError, KeyError):
            return None  # a zone or an expression this host does not know: not shown
        return trigger.next_after(info.last_due or info.anchor_utc)
    match = _EVERY.match(info.trigger)
    if match is None:
        return None
    period = timedelta(seconds=float(match.group(1)))
    first = info.anchor_utc if match.group(2) else info.anchor_utc + period
    if info.last_due is None or info.last_due < first:
        return first
    return first + period * ((info.last_due - first) // period + 1)


async def _list(args: argparse.Namespace, url: str) -> int:
    async with open_url(url) as store:
        found = await store.list_schedules(ticks=max(0, args.ticks))
    out = sys.stdout
    if args.json:
        for info in found:
            out.write(json.dumps(_schedule_json(info)) + "\n")
    elif not found:
        out.write("no schedules\n")
    else:
        _table(found, out)
    return EXIT_OK


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    text = f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"
    return text.rstrip("0").rstrip(".") + "Z"


def _table(found: list[ScheduleInfo], out: IO[str]) -> None:
    name_w = max(8, *(len(i.name) for i in found))
    trig_w = max(7, *(len(i.trigger) for i in found))
    out.write(
        f"{'schedule':<{name_w}}  {'trigger':<{trig_w}}  {'last due':<24}  {'next due':<24}"
        "  runs  state   job\n"
    )
    for info in found:
        state = "paused" if info.paused else "active"
        out.write(
            f"{info.name:<{name_w}}  {info.trigger:<{trig_w}}  {_when(info.last_due):<24}  "
            f"{_when(next_due(info)):<24}  {info.runs:<4}  {state:<6}  {info.job}\n"
        )
        for tick in info.recent_ticks:
            reason = f"  ({tick.reason})" if tick.reason else ""
            out.write(f"    {_when(tick.due):<24}  {tick.outcome.value:<11}{reason}\n")


def _tick_json(tick: TickRow) -> dict[str, Any]:
    return {
        "due": tick.due.isoformat(),
        "outcome": tick.outcome.value,
        "reason": tick.reason,
        "run_id": tick.run_id,
        "owner_id": tick.owner_id,
        "claimed_at": tick.claimed_at.isoformat(),
        "finished_at": None if tick.finished_at is None else tick.finished_at.isoformat(),
    }


def _schedule_json(info: ScheduleInfo) -> dict[str, Any]:
    upcoming = next_due(info)
    return {
        "name": info.name,
        "trigger": info.trigger,
        "job": info.job,
        "options": dict(info.options),
        "anchor_utc": None if info.anchor_utc is None else info.anchor_utc.isoformat(),
        "last_due": None if info.last_due is None else info.last_due.isoformat(),
        "next_due": None if upcoming is None else upcoming.isoformat(),
        "runs": info.runs,
        "paused": info.paused,
        "ticks": [_tick_json(t) for t in info.recent_ticks],
    }

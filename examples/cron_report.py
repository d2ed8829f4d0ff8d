"""A daily report at 08:00 Paris time, over four simulated days across a DST change.

``cron("0 8 * * *", tz="Europe/Paris")`` reads the wall clock in Paris: the report runs at
08:00 local time every day, which is 07:00 UTC in winter time and 06:00 UTC once the clocks
go forward (Sunday 29 March 2026), so the gap between two runs is 23 real hours that day.

The wall clock here is a ``TrioWallClock``: it follows trio's clock from Friday 27 March
2026, 18:00 in Paris, so trio's MockClock drives the days in milliseconds. In production
the runtime reads the system clock (``Runtime()`` without ``wall_clock=``).

Expected output::

    next report: Sat 28 Mar 08:00 CET
    Sat 28 Mar 08:00 CET (07:00 UTC, +14 h): report for Fri 27 Mar: 120 orders
    Sun 29 Mar 08:00 CEST (06:00 UTC, +23 h): report for Sat 28 Mar: 121 orders
    Mon 30 Mar 08:00 CEST (06:00 UTC, +24 h): report for Sun 29 Mar: 122 orders
    Tue 31 Mar 08:00 CEST (06:00 UTC, +24 h): report for Mon 30 Mar: 123 orders
    schedule 'daily-report' ended: max_runs after 4 runs
"""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import trio
import trio.testing

from arborist.runtime import Runtime, ScheduleEnded, TrioWallClock, WallClock, cron

PARIS = ZoneInfo("Europe/Paris")


def local(when: datetime) -> str:
    return when.astimezone(PARIS).strftime("%a %d %b %H:%M %Z")


class Reports:
    def __init__(self, clock: WallClock) -> None:
        self.clock = clock
        self.last: datetime | None = None
        self.orders = 120

    async def send_report(self) -> None:
        now = self.clock.now()
        hours = (now - (self.last or START)).total_seconds() / 3600
        yesterday = (now.astimezone(PARIS) - timedelta(days=1)).strftime("%a %d %b")
        await trio.sleep(2)  # query and send
        print(
            f"{local(now)} ({now:%H:%M} UTC, +{hours:g} h): report for {yesterday}: "
            f"{self.orders} orders"
        )
        self.orders += 1
        self.last = now


START = datetime(2026, 3, 27, 18, 0, tzinfo=PARIS)


def report_end(event: Any) -> None:
    if isinstance(event, ScheduleEnded):
        print(f"schedule {event.schedule!r} ended: {event.reason} after {event.runs} runs")


async def main() -> None:
    clock = TrioWallClock(START)
    reports = Reports(clock)
    async with Runtime(wall_clock=clock) as rt:
        rt.subscribe(report_end)
        handle = rt.schedule(
            "daily-report",
            cron("0 8 * * *", tz="Europe/Paris"),
            reports.send_report,
            max_runs=4,
        )
        next_fire = handle.info().next_fire
        assert next_fire is not None
        print("next report:", local(next_fire))
        await handle.wait_ended()


if __name__ == "__main__":
    # Simulated days: trio's MockClock jumps over the idle time.
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))

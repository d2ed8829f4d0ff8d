"""Periodic work (seed 004): "do the work every 3 minutes", supervised, on trio's clock.

The seed's GenServer re-arms ``Process.send_after`` after each run, under a one_for_one
supervisor. Here ``schedule(..., every(minutes=3), ...)`` does the same with a scheduler actor,
a permanent child of the runtime's schedules supervisor:

1. Ticks are anchored: due at 3, 6, 9, ... minutes after the schedule was made, however long
   each run takes (no drift from re-arming after the work).
2. A run still going when the next tick comes (run 3 takes 4 minutes) makes that tick
   skipped (``overlap="skip"``, the default), reported as an event, never silent.
3. A failing run is an event; the schedule goes on.
4. The scheduler actor crashes at 7:00 (a bug, simulated): the supervisor restarts it and
   the next tick is still at 9:00, because the timing lives outside the actor.
5. After ``max_runs=5`` runs the schedule ends.

Expected output::

    [03:00] work #1: synced 3 records
    [06:00] work #2: synced 6 records
    [07:00] the scheduler crashes (a bug); its supervisor restarts it
    [09:00] work #3: slow today...
    [12:00] tick due 12:00 skipped: overlap
    [13:00] work #3: synced 9 records
    [15:00] run 4 failed: ConnectionError: db is down
    [18:00] work #5: synced 15 records
    [18:00] schedule 'sync' ended: max_runs after 5 runs
"""

from typing import Any

import trio
import trio.testing

from arborist.runtime import Runtime, ScheduleEnded, ScheduleRunFailed, ScheduleSkipped, every


def stamp(seconds: float | None = None) -> str:
    seconds = trio.current_time() if seconds is None else seconds
    return f"[{int(seconds // 60):02d}:{int(seconds % 60):02d}]"


class Records:
    """The work: sync some records (run 3 is slow, run 4 fails)."""

    def __init__(self) -> None:
        self.runs = 0

    async def sync(self) -> None:
        self.runs += 1
        if self.runs == 3:
            print(stamp(), f"work #{self.runs}: slow today...")
            await trio.sleep(240)
        elif self.runs == 4:
            raise ConnectionError("db is down")
        else:
            await trio.sleep(0.5)
        print(stamp(), f"work #{self.runs}: synced {3 * self.runs} records")


def report(event: Any) -> None:
    match event:
        case ScheduleSkipped(due=due, reason=reason):
            print(stamp(), f"tick due {stamp(due)[1:-1]} skipped: {reason}")
        case ScheduleRunFailed(run=run, error=error):
            print(stamp(), f"run {run} failed: {type(error).__name__}: {error}")
        case ScheduleEnded(schedule=name, reason=reason, runs=count):
            print(stamp(), f"schedule {name!r} ended: {reason} after {count} runs")


async def main() -> None:
    async with Runtime() as rt:
        rt.subscribe(report)
        handle = rt.schedule("sync", every(minutes=3), Records().sync, max_runs=5)
        await trio.sleep_until(7 * 60)
        print(stamp(), "the scheduler crashes (a bug); its supervisor restarts it")
        assert handle.ref is not None
        handle.ref.tell("crash")  # not a scheduler message: it raises, the actor crashes
        await handle.wait_ended()


if __name__ == "__main__":
    # Simulated minutes: trio's MockClock jumps over the idle time.
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))

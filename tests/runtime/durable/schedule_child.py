"""The child process of the durable-schedule process tests: ``python schedule_child.py MODE ...``.

- ``grid URL PERIOD COUNT OUT``: open the runtime and print ``ready``, then read the ISO
  instant ``START`` from stdin and schedule ``grid`` (``every(PERIOD)`` from ``START``,
  ending after ``COUNT`` due instants, ``catch_up="all"``, overlap allowed) on the real wall
  clock; each run appends one line (this pid) to ``OUT``. When the schedule ended, print one
  JSON line: the pid and the due instants this process ran. (The start comes after
  ``ready`` so that a slow start-up on a loaded machine cannot miss the window.)
- ``stuck URL``: schedule ``nightly`` (``every(0.05)``) firing the workflow ``nightly``,
  whose step prints ``running <due>`` and then blocks; the test SIGKILLs the process there,
  and resumes the run in its own process (the step returns when ``ARBORIST_RELEASE`` is set).
- ``freeze URL OUT``: schedule ``doomed`` (``every(0.05)``) and freeze the whole process right
  after its first claim wins, before the run starts (printing ``claimed <due>``); the test
  SIGKILLs it there. A run would append to ``OUT``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta
from typing import Any

import trio

from arborist.runtime import Runtime, ScheduleEnded, ScheduleRunStarted, Workflow, every
from arborist.runtime.schedules._scheduler import Scheduler


def say(*words: object) -> None:
    print(*words, flush=True)


def appender(out: str) -> Any:
    def run() -> None:
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
        finally:
            os.close(fd)

    return run


async def grid(url: str, period: str, count: str, out: str) -> None:
    step = float(period)
    ran: list[str] = []
    ended = trio.Event()

    def seen(event: object) -> None:
        if isinstance(event, ScheduleRunStarted):
            ran.append(event.due.isoformat())  # type: ignore[union-attr]
        elif isinstance(event, ScheduleEnded):
            ended.set()

    async with Runtime(store=url) as rt:
        say("ready")
        line = await trio.to_thread.run_sync(sys.stdin.readline)
        first = datetime.fromisoformat(line.strip())
        end = first + timedelta(seconds=step * int(count))
        rt.subscribe(seen)
        rt.schedule(
            "grid",
            every(seconds=step),
            appender(out),
            start=first,
            end=end,
            catch_up="all",
            overlap="allow",
        )
        await ended.wait()
    say(json.dumps({"pid": os.getpid(), "ran": ran}))


nightly = Workflow("nightly")


@nightly.step
async def work() -> str:
    if os.environ.get("ARBORIST_RELEASE"):
        return "done"
    say("running")
    await trio.sleep_forever()
    return "never"


async def stuck(url: str) -> None:
    async with Runtime(store=url) as rt:
        rt.schedule("nightly", every(seconds=0.05), nightly)
        await trio.sleep_forever()


async def freeze(url: str, out: str) -> None:
    claimed = Scheduler._claimed

    def frozen(self: Scheduler, due: datetime, *, manual: bool) -> None:
        say("claimed", due.isoformat())
        time.sleep(3600)  # the test kills the process here, between claim and run start
        claimed(self, due, manual=manual)

    Scheduler._claimed = frozen  # type: ignore[method-assign]
    async with Runtime(store=url) as rt:
        rt.schedule("doomed", every(seconds=0.05), appender(out))
        await trio.sleep_forever()


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    trio.run({"grid": grid, "stuck": stuck, "freeze": freeze}[mode], *rest)

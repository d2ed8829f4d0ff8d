"""Durable job functions of the job tests: each appends a marker line, and may block.

A marker line is ``NAME ATTEMPT IDEMPOTENCY_KEY PID``; ``MARKERS`` (an environment variable)
names the file. ``BLOCK_JOBS=1`` makes ``interrupted`` signal ``BLOCKED`` and wait forever
after its first marker (the test kills the process there). Imported by name (``module:
qualname``) by the child process (``durable_jobs_child.py``) and by in-process tests.
"""

from __future__ import annotations

import os
import threading

import trio

from arborist.runtime import current_job

BLOCKED = trio.Event()
"""Set when ``interrupted`` blocks (in the child process)."""

RAN: list[tuple[str, object]] = []
"""In-process tests: (function, argument) of every call, in order."""

STARTED = trio.Event()
"""In-process tests: set when ``wait_forever`` starts (the tests make a new one each)."""


def mark(name: str) -> None:
    job = current_job()
    with open(os.environ["MARKERS"], "a", encoding="utf-8") as out:
        out.write(f"{name} {job.attempt} {job.idempotency_key} {os.getpid()}\n")


async def interrupted() -> None:
    mark("interrupted.start")
    if os.environ.get("BLOCK_JOBS") == "1":
        BLOCKED.set()
        await trio.sleep_forever()
    mark("interrupted.done")


async def counted(index: int) -> None:
    mark(f"counted.{index}")


async def record(value: object) -> None:
    RAN.append(("record", value))


def record_on_thread(value: object) -> None:
    RAN.append(("record_on_thread", (value, threading.current_thread() is threading.main_thread(),
                                     current_job().job_id)))  # fmt: skip


async def fail(reason: str) -> None:
    raise ValueError(reason)


async def wait_forever(value: object) -> None:
    RAN.append(("wait_forever", value))
    STARTED.set()
    await trio.sleep_forever()


async def record_pair(first: object, second: object) -> None:
    RAN.append(("record_pair", (first, second)))


RELEASE = trio.Event()
"""In-process tests: ``held`` returns once this is set (the tests make a new one each)."""


async def held(value: object) -> None:
    RAN.append(("held", value))
    STARTED.set()
    await RELEASE.wait()

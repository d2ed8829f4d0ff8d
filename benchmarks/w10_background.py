"""W10 calls into a background runtime from another thread (threaded hosts).

Each repetition makes N sequential blocking calls from a plain thread into a runtime running
on its own thread, and reports microseconds per call.

Implementations:
- trio floor: ``trio.from_thread.run(noop)`` into a bare ``trio.run`` on another thread, the
  least a cross-thread call into trio can cost.
- asyncio peer: ``asyncio.run_coroutine_threadsafe(noop(), loop).result()`` into a loop on
  another thread.
- arborist call: ``bg.call(noop)`` through ``Runtime.background()``.
- arborist fire_and_forget: ``bg.fire_and_forget(job)`` (returns once the job is accepted).
- arborist run: ``bg.run(wf)`` of a one-step no-op workflow, end to end (coordinator, step).

Target: arborist call within 1.5x of the trio floor.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import trio

from arborist.runtime import Runtime, Workflow
from benchmarks._harness import Row, Target, alternate, repeats, rows

__all__ = ["run"]

N = 2_000
QUICK_N = 50
FLOOR = "trio floor"


async def _noop() -> None:
    return None


class _TrioThread:
    """A bare trio run on a thread, for the floor."""

    def __init__(self) -> None:
        self.token: trio.lowlevel.TrioToken | None = None
        self._ready = threading.Event()
        self._stop: trio.Event | None = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)

    async def _main(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        self._ready.set()
        await self._stop.wait()

    def __enter__(self) -> _TrioThread:
        self._thread.start()
        self._ready.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.token is not None
        assert self._stop is not None
        self.token.run_sync_soon(self._stop.set)
        self._thread.join()


class _AsyncioThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> _AsyncioThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


def _timed(n: int, call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    for _ in range(n):
        call()
    return time.perf_counter() - started


def run(quick: bool) -> list[Row]:
    n = QUICK_N if quick else N
    wf = Workflow("noop")

    @wf.step
    async def step() -> None:
        return None

    wf.plan()

    async def job() -> None:
        return None

    with _TrioThread() as floor, _AsyncioThread() as aio, Runtime.background() as bg:
        token = floor.token

        def floor_call() -> None:
            trio.from_thread.run(_noop, trio_token=token)

        def asyncio_call() -> None:
            asyncio.run_coroutine_threadsafe(_noop(), aio.loop).result()

        samples = alternate(
            {
                FLOOR: lambda: _timed(n, floor_call),
                "asyncio run_coroutine_threadsafe": lambda: _timed(n, asyncio_call),
                "arborist call": lambda: _timed(n, lambda: bg.call(_noop)),
                "arborist fire_and_forget": lambda: _timed(n, lambda: bg.fire_and_forget(job)),
                "arborist run (1-step workflow)": lambda: _timed(n, lambda: bg.run(wf)),
            },
            repeats(quick),
        )
    return rows(
        "W10 call into Runtime.background() from a thread",
        samples,
        per=n,
        unit="us/call",
        scale=1e6,
        floor=FLOOR,
        targets={"arborist call": [Target(1.5)]},
        notes={"arborist run (1-step workflow)": "end to end: supervisor, coordinator, step"},
    )

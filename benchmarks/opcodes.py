"""Python opcodes per operation, counted: a steady companion to the timed benchmarks.

``python -m benchmarks.opcodes [w1|w2|w2-thread|w5|w7|w12-chain|w12-wide] [--top K]``

On a small shared machine two runs of the same code differ by 10-20% in time, which hides a
change worth 3%. The number of Python opcodes the trio thread executes per operation moves
by well under 1% between runs (``sys.settrace`` with opcode events; trio's scheduler shuffles
a little), so it shows such a change at once. It counts Python only: C code, system calls
and the GIL are invisible to it, so it ranks and compares Python work; the timed benchmarks
say what that is worth.

Each workload is counted at two sizes, n and 2n, and reported as the difference divided by
n: the cost of one more operation, without start-up and shutdown. Every workload is run once
untraced first, so that modules imported lazily on first use (a store's) are not counted in
the first size only. Only the thread that calls ``trio.run`` is traced, so the durable rows
run with every commit made inline on the trio thread (``inline_commits``: no hand-off to the
writer thread, no checkpoint on it, no deferred-start timer firing mid-run): then they are as
steady as the in-memory rows, and they count the SQL's Python too, which a store's writer
thread runs in a real run. ``w7`` runs on trio's ``MockClock`` (autojump): 500 interval
schedules due together every second, one operation a tick (a schedule's run started). ``w5``
runs on it too, so that the supervisor's shutdown grace cannot run out in a slow traced run.
``w2-thread`` is the exception to "only the trio thread": a ThreadActor's ask against its
floor (a hand-over to a plain thread), counted on every thread the run starts, because with
one GIL the Python of both sides is run one after the other and each side's share is the
point; it moves by 1-3% between runs (whether a quick reply came in time picks the path).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import attrs
import trio
import trio.testing

__all__ = [
    "CLOCKS",
    "THREADED",
    "Count",
    "count_trio",
    "inline_commits",
    "main",
    "marginal",
    "w7_arborist_on_mock_clock",
    "w7_ticks",
]

Key = tuple[str, str]


@attrs.frozen
class Count:
    """Opcodes and Python calls, in all and per function (``(file name, function name)``)."""

    opcodes: collections.Counter[Key]
    calls: collections.Counter[Key]

    @property
    def total_opcodes(self) -> int:
        return sum(self.opcodes.values())

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def _tracer() -> tuple[Count, Callable[[FrameType, str, Any], Any]]:
    """A trace function that counts into a ``Count`` of its own (one per thread: no races)."""
    count = Count(collections.Counter(), collections.Counter())
    opcodes, calls = count.opcodes, count.calls

    def trace(frame: FrameType, event: str, _arg: Any) -> Any:
        code = frame.f_code
        key = (Path(code.co_filename).name, code.co_name)
        if event == "call":
            calls[key] += 1
            frame.f_trace_opcodes = True
            frame.f_trace_lines = False
        elif event == "opcode":
            opcodes[key] += 1
        return trace

    return count, trace


def count_trio(
    fn: Callable[..., Awaitable[Any]],
    *args: Any,
    clock: trio.abc.Clock | None = None,
    threads: bool = False,
) -> Count:
    """Run ``trio.run(fn, *args, clock=clock)`` with every Python opcode of this thread counted.

    With ``threads``, also those of every thread started during the run (a ThreadActor's).
    """
    count, trace = _tracer()
    counts = [count]

    def thread_trace(frame: FrameType, event: str, arg: Any) -> Any:
        own, trace_here = _tracer()  # the first event of a new thread
        counts.append(own)
        sys.settrace(trace_here)
        return trace_here(frame, event, arg)

    async def traced() -> None:
        sys.settrace(trace)
        if threads:
            threading.settrace(thread_trace)
        try:
            await fn(*args)
        finally:
            sys.settrace(None)
            threading.settrace(None)  # type: ignore[arg-type]

    trio.run(traced, clock=clock)
    for other in counts[1:]:
        count.opcodes.update(other.opcodes)
        count.calls.update(other.calls)
    return count


def marginal(
    make: Callable[[int], Callable[[], Awaitable[Any]]],
    n: int,
    clock: Callable[[], trio.abc.Clock] | None = None,
    threads: bool = False,
) -> tuple[float, Count]:
    """Opcodes per operation: (count at 2n - count at n) / n, and the per-function difference.

    ``make(size)`` returns the async function that does ``size`` operations; ``clock()``
    makes each run's clock (None: trio's own); ``threads`` counts the run's threads too.
    """

    def new_clock() -> trio.abc.Clock | None:
        return None if clock is None else clock()

    trio.run(make(1), clock=new_clock())  # untraced: lazy imports and first-use caches
    small = count_trio(make(n), clock=new_clock(), threads=threads)
    large = count_trio(make(2 * n), clock=new_clock(), threads=threads)
    opcodes = large.opcodes.copy()
    opcodes.subtract(small.opcodes)
    calls = large.calls.copy()
    calls.subtract(small.calls)
    return (large.total_opcodes - small.total_opcodes) / n, Count(opcodes, calls)


# -- workloads: {name: {implementation: make(size)}} -----------------------------------------


def _sized(fn: Callable[[int], Awaitable[Any]]) -> Callable[[int], Callable[[], Awaitable[Any]]]:
    return lambda size: lambda: fn(size)


@contextlib.contextmanager
def inline_commits() -> Iterator[None]:
    """Make every commit of a store opened inside happen on the trio thread (see the doc)."""
    from arborist.runtime.engine import _journal
    from arborist.runtime.store import _sqlite, _writer

    saved = (
        _writer.HAND_OFF_AT,
        _writer.CHECKPOINT_COMMITS,
        _writer.CHECKPOINT_ROWS,
        _sqlite.INLINE_MAX,
    )
    delay = _journal.START_DELAY
    _writer.HAND_OFF_AT = _writer.CHECKPOINT_COMMITS = _writer.CHECKPOINT_ROWS = 10**9
    _sqlite.INLINE_MAX = 10**9
    _journal.START_DELAY = 1e6
    try:
        yield
    finally:
        (
            _writer.HAND_OFF_AT,
            _writer.CHECKPOINT_COMMITS,
            _writer.CHECKPOINT_ROWS,
            _sqlite.INLINE_MAX,
        ) = saved
        _journal.START_DELAY = delay


def _durable_shape(shape: str, store: bool) -> Callable[[int], Callable[[], Awaitable[Any]]]:
    from arborist.runtime import Runtime
    from arborist.runtime.store import SQLiteStore
    from benchmarks.w3_dispatch import build_workflow, chain, wide

    def make(size: int) -> Callable[[], Awaitable[Any]]:
        graph = chain(size) if shape == "chain" else wide(size)
        wf = build_workflow(graph, join_by_wait_for=True)
        wf.plan()  # built once and cached, as in W3 and W12: not counted

        async def run() -> None:
            with tempfile.TemporaryDirectory(prefix="arborist-opcodes-") as folder:
                path = Path(folder) / "journal.db"
                where = SQLiteStore(path, "normal", max_batch=10**6) if store else None
                with inline_commits():
                    async with Runtime(store=where) as rt:
                        await rt.run(wf)

        return run

    return make


W7_SCHEDULES = 500


def w7_ticks(
    fn: Callable[..., Awaitable[Any]], schedules: int = W7_SCHEDULES, **kwargs: Any
) -> Callable[[int], Callable[[], Awaitable[Any]]]:
    """W7 at ``size`` ticks: ``schedules`` schedules every second, for ``size / schedules`` s.

    The window ends half a period after a tick, so no run's start races the window's end.
    Run it on ``CLOCKS["w7"]``.
    """
    from benchmarks.w7_timers import Load

    def make(size: int) -> Callable[[], Awaitable[Any]]:
        load = Load("opcodes", schedules, 1.0, window=max(1, size // schedules) + 0.5)
        return lambda: fn(load, **kwargs)

    return make


async def w7_arborist_on_mock_clock(load: Any) -> Any:
    """W7's arborist row with a wall clock that follows trio's (made inside ``trio.run``).

    Every schedule then shares one anchor however long the traced setup takes.
    """
    from arborist.runtime.schedules import TrioWallClock
    from benchmarks.w7_timers import arborist_schedules

    return await arborist_schedules(load, wall_clock=TrioWallClock(datetime.now(UTC)))


def workloads() -> dict[str, dict[str, Callable[[int], Callable[[], Awaitable[Any]]]]]:
    """The workloads this tool counts, each with its floor or in-memory row first."""
    from benchmarks import w1_tell, w2_ask, w5_fire_and_forget, w7_timers

    return {
        "w1": {
            "trio deque floor": _sized(w1_tell.deque_floor),
            w1_tell.C_TELL: _sized(w1_tell.tell_as_append),
            w1_tell.API_SHAPED: _sized(w1_tell.api_shaped),
            "arborist Actor": _sized(w1_tell.arborist_actor),
        },
        "w2": {
            "trio deque floor": _sized(w2_ask.deque_floor),
            w2_ask.API_SHAPED: _sized(w2_ask.api_shaped),
            "arborist Actor": _sized(w2_ask.arborist_actor),
        },
        "w2-thread": {
            "trio-thread hand-over, checkpoint while the thread works": _sized(
                w2_ask.thread_overlapped_hand_over
            ),
            "arborist ThreadActor": _sized(_thread_actor_asks),
        },
        "w5": {
            "trio floor": _sized(w5_fire_and_forget.trio_floor),
            "arborist start_child": _sized(w5_fire_and_forget.arborist_start_child),
        },
        "w7": {
            "trio floor (one task, heap, checkpoint every 64 starts)": w7_ticks(
                w7_timers.trio_floor, sliced=True
            ),
            "trio floor (one task, heap)": w7_ticks(w7_timers.trio_floor),
            "trio floor (heap of due times, one entry per instant)": w7_ticks(
                w7_timers.grouped_floor
            ),
            "arborist ScheduleManager": w7_ticks(w7_arborist_on_mock_clock),
        },
        "w12-chain": {
            "in memory": _durable_shape("chain", store=False),
            "SQLite normal (trio thread)": _durable_shape("chain", store=True),
        },
        "w12-wide": {
            "in memory": _durable_shape("wide", store=False),
            "SQLite normal (trio thread)": _durable_shape("wide", store=True),
        },
    }


def _thread_actor_asks(size: int) -> Awaitable[float]:
    from benchmarks import w2_ask

    cls = w2_ask.thread_actor_class()
    assert cls is not None
    return w2_ask.arborist_thread_actor(cls, size)


SIZES = {
    "w1": 20_000,
    "w2": 5_000,
    "w2-thread": 1_000,
    "w5": 5_000,
    "w7": 4 * W7_SCHEDULES,
    "w12-chain": 200,
    "w12-wide": 500,
}


def _autojump_clock() -> trio.abc.Clock:
    return trio.testing.MockClock(autojump_threshold=0)


CLOCKS: dict[str, Callable[[], trio.abc.Clock]] = {
    # A traced run is some 20x slower: on the real clock, a 10,000-job W5 run outlasted the
    # supervisor's 5 s shutdown grace now and then, and cancelled the jobs left (its count
    # jumped from ~1,040 to ~4,500 opcodes a job). Time stands still while tasks can run.
    "w5": _autojump_clock,
    "w7": _autojump_clock,
}
# Counted on every thread of the run, not only trio's. Not as steady as the rest: whether a
# quick reply came within ``reply_wait`` picks the path, so two runs differ by 1-3%.
THREADED = {"w2-thread"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.opcodes",
        description="Count the Python opcodes per operation of a workload (deterministic).",
    )
    parser.add_argument("workload", choices=sorted(SIZES))
    parser.add_argument("--top", type=int, default=0, help="also list the K costliest functions")
    parser.add_argument("-n", type=int, help="operations per count (default: the workload's)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    n = args.n or SIZES[args.workload]
    first: float | None = None
    for name, make in workloads()[args.workload].items():
        per_op, count = marginal(make, n, CLOCKS.get(args.workload), args.workload in THREADED)
        first = per_op if first is None else first
        print(
            f"{name}: {per_op:,.0f} opcodes, {count.total_calls / n:.1f} Python calls per "
            f"operation ({per_op / first:.2f}x the first row)"
        )
        for key, ops in count.opcodes.most_common(args.top):
            print(f"  {ops / n:8.1f} opcodes {count.calls[key] / n:6.2f} calls  {key[0]}:{key[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

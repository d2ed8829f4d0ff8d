"""W6 restarts: a child that crashes right after it started, restarted 2,000 times.

Each repetition times from the first start to the moment the child has been restarted N times
(intensity raised so the supervisor never gives up); start-up and shutdown are not timed. It
also records, for every restart, the latency from the crash (just before the ``raise``) to the
next incarnation's start, and reports the median.

Implementations:
- trio floor: a task loops { open a nursery, ``nursery.start(child)``; the child calls
  ``started()`` and raises; catch the ExceptionGroup }: a bare restart loop.
- arborist Supervisor: a ``Supervisor`` (one_for_one, permanent child) whose child actor tells
  itself a message in ``on_start`` and raises on it. Crash logging off (logger level), as the
  floor does not log.
- arborist Supervisor, async def child: the same supervisor whose child is a plain
  ``async def`` function that raises right after it started (as the triotp child).
- arborist Supervisor + crash log: the actor child, with each crash formatted by ``logging`` into a
  discarding stream (what a service with a log handler pays).
- triotp supervisor: triotp 0.2 (it pins trio 0.19, so it runs in a throwaway venv, one
  subprocess per repetition; logbook output discarded). Full runs only; skipped, with a note
  printed, when the venv cannot be made.

Targets (issue #13): an actor child within 1.5x of the floor's time per restart, an
``async def`` child within 2x and ahead of triotp; median crash-to-restarted latency
<= 120 us.
"""

from __future__ import annotations

import io
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

import trio

from arborist import actors, supervision
from benchmarks._harness import Row, Target, alternate, repeats, rows

__all__ = ["run"]

N = 2_000
QUICK_N = 50

FLOOR = "trio floor"
SUPERVISOR = "arborist Supervisor"
FUNCTION = "arborist Supervisor, async def child"
LOGGED = "arborist Supervisor + crash log"
TRIOTP = "triotp supervisor"

TRIOTP_VENV = Path(os.environ.get("ARBORIST_TRIOTP_VENV", "/tmp/arborist-bench-triotp"))


class Measurement:
    """One repetition: total seconds and per-restart latencies (seconds)."""

    def __init__(self, seconds: float, latencies: list[float]) -> None:
        self.seconds = seconds
        self.latencies = latencies


def _latencies(crashes: list[float], starts: list[float]) -> list[float]:
    # starts[0] is the first incarnation; starts[i] follows crashes[i - 1].
    return [start - crash for crash, start in zip(crashes, starts[1:], strict=False)]


# -- trio floor ----------------------------------------------------------------------------------


async def trio_floor(n: int) -> Measurement:
    crashes: list[float] = []
    starts: list[float] = []
    clock = time.perf_counter

    async def child(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        starts.append(clock())
        task_status.started()
        crashes.append(clock())
        raise RuntimeError("crash")

    began = clock()
    for _ in range(n):
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(child)
        except ExceptionGroup:
            pass
    starts.append(clock())  # the (n+1)-th start
    return Measurement(clock() - began, _latencies(crashes, starts))


# -- arborist ------------------------------------------------------------------------------------


class Crasher(actors.Actor):
    def __init__(self, n: int, crashes: list[float], starts: list[float], done: trio.Event) -> None:
        self.n = n
        self.crashes = crashes
        self.starts = starts
        self.done = done

    def on_start(self) -> None:
        self.starts.append(time.perf_counter())
        if len(self.starts) > self.n:
            self.done.set()
        else:
            self.ref.tell("crash")

    def on_receive(self, message: Any) -> None:
        self.crashes.append(time.perf_counter())
        raise RuntimeError("crash")


async def crasher_function(
    n: int, crashes: list[float], starts: list[float], done: trio.Event
) -> None:
    starts.append(time.perf_counter())
    if len(starts) > n:
        done.set()
        await trio.sleep_forever()
    crashes.append(time.perf_counter())
    raise RuntimeError("crash")


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


async def arborist_supervisor(n: int, log_crashes: bool, child: Any = Crasher) -> Measurement:
    logger = logging.getLogger("arborist.supervision")
    level, propagate = logger.level, logger.propagate
    handler = logging.StreamHandler(_Discard())
    if log_crashes:
        logger.addHandler(handler)
        logger.propagate = False
    else:
        logger.setLevel(logging.CRITICAL)
    crashes: list[float] = []
    starts: list[float] = []
    done = trio.Event()
    spec = supervision.SupervisorSpec(
        [supervision.ChildSpec("crasher", child, (n, crashes, starts, done))],
        max_restarts=n + 10,
        max_seconds=3600.0,
    )
    try:
        async with actors.open_actor_system() as system:
            began = time.perf_counter()
            sup = await supervision.start_supervisor(system, spec)
            await done.wait()
            elapsed = time.perf_counter() - began
            await sup.shutdown()
    finally:
        logger.setLevel(level)
        logger.propagate = propagate
        logger.removeHandler(handler)
    return Measurement(elapsed, _latencies(crashes, starts))


# -- triotp, in its own venv ---------------------------------------------------------------------

TRIOTP_CHILD = r"""
import json, sys, time
import logbook, trio
from triotp import supervisor

n = int(sys.argv[1])
crashes, starts = [], []

async def crasher(done):
    starts.append(time.perf_counter())
    if len(starts) > n:
        done.set()
        await trio.sleep_forever()
    crashes.append(time.perf_counter())
    raise RuntimeError("crash")

async def main():
    done = trio.Event()
    spec = supervisor.child_spec(id="crasher", task=crasher, args=[done])
    opts = supervisor.options(max_restarts=n + 10, max_seconds=3600)
    async with trio.open_nursery() as nursery:
        began = time.perf_counter()
        await nursery.start(supervisor.start, [spec], opts)
        await done.wait()
        elapsed = time.perf_counter() - began
        nursery.cancel_scope.cancel()
    latencies = [s - c for c, s in zip(crashes, starts[1:])]
    print(json.dumps({"seconds": elapsed, "latencies": latencies}))

with logbook.NullHandler().applicationbound():
    trio.run(main)
"""


def triotp_python() -> tuple[Path | None, str]:
    """The throwaway venv's python with triotp installed (made on first use), or why not."""
    python = TRIOTP_VENV / "bin" / "python"
    if python.exists():
        return python, ""
    try:
        venv.create(TRIOTP_VENV, with_pip=True, clear=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "triotp"],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return None, f"triotp could not be installed in a throwaway venv: {detail.strip()[-300:]}"
    return python, ""


def run_triotp(python: Path, n: int) -> Measurement:
    proc = subprocess.run(
        [str(python), "-c", TRIOTP_CHILD, str(n)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"triotp run failed: {proc.stderr.strip()[-500:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return Measurement(data["seconds"], data["latencies"])


# -- the benchmark -------------------------------------------------------------------------------


def run(quick: bool) -> list[Row]:
    n = QUICK_N if quick else N
    latencies: dict[str, list[float]] = {}

    def measure(name: str, fn: Any) -> Any:
        def once() -> float:
            result: Measurement = fn()
            latencies.setdefault(name, []).append(statistics.median(result.latencies))
            return result.seconds

        return once

    implementations = {
        FLOOR: measure(FLOOR, lambda: trio.run(trio_floor, n)),
        SUPERVISOR: measure(SUPERVISOR, lambda: trio.run(arborist_supervisor, n, False)),
        FUNCTION: measure(
            FUNCTION, lambda: trio.run(arborist_supervisor, n, False, crasher_function)
        ),
        LOGGED: measure(LOGGED, lambda: trio.run(arborist_supervisor, n, True)),
    }
    notes = {
        SUPERVISOR: "crash logging off (logger level), as the floor",
        FUNCTION: "crash logging off",
        LOGGED: "each crash's traceback formatted by logging into a discarding stream",
    }
    if not quick:
        python, why = triotp_python()
        if python is None:
            print(f"W6: {why}", file=sys.stderr)
        else:
            implementations[TRIOTP] = measure(TRIOTP, lambda: run_triotp(python, n))
            notes[TRIOTP] = "triotp 0.2 on trio 0.19 in its own venv (logbook output discarded)"
    # Each repetition is timed inside its own run; latencies are medians per repetition.
    latencies.clear()
    samples = alternate(implementations, repeats(quick))
    for name in latencies:
        latencies[name] = latencies[name][-repeats(quick) :]  # drop the warm-up

    rate_notes = {
        name: f"{n / statistics.median(values):,.0f} restarts/s; " + notes.get(name, "")
        for name, values in samples.items()
    }
    cost = rows(
        f"W6 restart {n:,}",
        samples,
        unit="us/restart",
        floor=FLOOR,
        per=n,
        scale=1e6,
        targets={SUPERVISOR: [Target(1.5)], FUNCTION: [Target(2.0), Target(1.0, of=TRIOTP)]},
        notes={name: note.rstrip("; ") for name, note in rate_notes.items()},
    )
    latency = rows(
        "W6 crash-to-restarted latency",
        latencies,
        unit="us (median)",
        floor=FLOOR,
        scale=1e6,
        targets={
            SUPERVISOR: [Target(120.0, absolute=True)],
            FUNCTION: [Target(120.0, absolute=True), Target(1.0, of=TRIOTP)],
        },
    )
    return cost + latency


if __name__ == "__main__":
    from benchmarks._harness import format_tables

    print(format_tables(run(quick="--quick" in sys.argv)))

"""W11 soak: a mixed load inside one Runtime for minutes, accounting for every item (issue 9).

``python -m benchmarks.w11_soak [--seconds 300] [--seed 11]`` runs, on the real clock:

- workflow runs of four shapes (``_soak_load``): a chain (retry, undo, a ``def`` step), a
  fan-out (a step with its own nursery, retry, undo), a map step (retry per element) and a
  parent running a child workflow through ``ctx.run``; each run's plan (failures, retries,
  ``handle.cancel()`` after a random delay) is drawn from a seeded generator;
- fire-and-forget jobs, some failing;
- ``every(...)`` schedules with each overlap policy, async jobs (two with a nursery of their
  own), a blocking job and a workflow job;
- worker actors spawned with ``rt.spawn`` taking tells and asks;
- a chaos task crashing or killing a worker, or killing a scheduler, every ``chaos_every``
  seconds (each supervisor sees at most one restart per two seconds, under its intensity),
  and every ``burst_every`` seconds a crash loop of one extra actor (``soak-victim``).

Then it stops the load, removes the schedules, drains (waits until every item settled, at
most ``drain`` seconds), checks the books (``_soak_ledger``) and closes the runtime. It samples
RSS (``/proc/self/statm``) every second and reports its start, end and least-squares slope
after the warm-up. The accounting is exact and does not depend on timing: the counts vary
from run to run, the verdict does not. Target: zero lost, no problem, RSS slope under
0.5 MiB/min after warm-up (judged for soaks of 60 s or more).

Exit status: 0 when nothing was lost and no problem found, 1 otherwise, 2 when only the RSS
target was missed. ``--child`` (the harness) prints the report as JSON on the last line and
exits 0. In ``python -m benchmarks`` it is one long repetition (a soak is not a comparison):
``run(quick)`` reports its counts and RSS as rows, in a fresh interpreter for full runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from arborist.runtime import (
    Runtime,
    ScheduleHandle,
    WorkflowCancelledError,
    WorkflowCrashedError,
    WorkflowFailedError,
    every,
)
from benchmarks._harness import Row, run_child
from benchmarks._soak_ledger import Ledger, Tally
from benchmarks._soak_load import (
    Ask,
    Boom,
    Plan,
    Tell,
    Worker,
    build_workflows,
    draw_plan,
    fire_job,
    schedule_job,
    sync_schedule_job,
)
from benchmarks._soak_report import MIB, RSS_TARGET, SoakReport, close_books, sample_rss, slope
from benchmarks._soak_ticks import ScheduleBook

__all__ = ["SoakConfig", "SoakReport", "main", "run", "soak"]

DEFAULT_SECONDS = 300.0
WORKERS = 6
VICTIM = "soak-victim"
SLOT_HOLD = 5.0
"""A run holds its in-flight slot at most this long (a hung run must not stall the load)."""
TICK_MARGIN = 0.5


@attrs.frozen
class SoakConfig:
    """How long and how hard the soak runs (rates are per second of the real clock)."""

    seconds: float = DEFAULT_SECONDS
    seed: int = 11
    run_rate: float = 30.0
    max_in_flight: int = 24
    cancel_share: float = 0.15
    job_rate: float = 40.0
    message_rate: float = 150.0
    chaos_every: float = 1.0
    burst_every: float | None = 60.0
    drain: float = 10.0
    shutdown_timeout: float = 1.0
    sample_every: float = 1.0
    warmup: float | None = None
    """Seconds of samples left out of the slope (default: 20% of the soak, at most 60 s)."""

    @property
    def warmup_seconds(self) -> float:
        """The warm-up actually used."""
        return min(60.0, 0.2 * self.seconds) if self.warmup is None else self.warmup


# (name, period, overlap, kind, job options, schedule options)
SCHEDULES: tuple[tuple[str, float, str, str, dict[str, Any], dict[str, Any]], ...] = (
    ("skip", 0.1, "skip", "async", {"low": 0.02, "high": 0.25}, {}),
    ("buffer_one", 0.1, "buffer_one", "async", {"low": 0.02, "high": 0.2}, {}),
    ("buffer_all", 0.2, "buffer_all", "async", {"low": 0.02, "high": 0.3}, {}),
    ("cancel_other", 0.1, "cancel_other", "async", {"low": 0.02, "high": 0.2, "nursery": True}, {}),
    ("allow", 0.1, "allow", "async", {"low": 0.02, "high": 0.3, "fail_every": 7}, {"timeout": 0.3}),
    ("nursery", 0.15, "skip", "async", {"low": 0.05, "high": 0.3, "nursery": True}, {}),
    ("thread", 0.3, "skip", "sync", {}, {}),
    ("workflow", 0.25, "skip", "workflow", {}, {}),
)


class _Soak:
    def __init__(self, config: SoakConfig, rt: Runtime, ledger: Ledger) -> None:
        self.config = config
        self.rt = rt
        self.ledger = ledger
        self.rng = random.Random(config.seed)
        self.workflows = build_workflows(ledger)
        self.slots = trio.Semaphore(config.max_in_flight)
        self.handles: dict[str, Any] = {}  # open driver runs, for the shutdown check
        self.schedules: dict[str, ScheduleHandle] = {}
        self.workers = [f"soak-worker-{i}" for i in range(WORKERS)]
        self.chaos = 0
        self.running = True
        self._job_token = self._seq = 0

    async def drive(
        self,
        rate: float,
        action: Callable[[trio.Nursery | None], Awaitable[None]],
        nursery: trio.Nursery | None,
    ) -> None:
        """Call ``action`` ``rate`` times per second until the load stops (never cut mid-call).

        Behind schedule, it catches up at most one second's worth at once.
        """
        interval = 1.0 / rate
        due = trio.current_time()
        while self.running:
            due = max(due + interval, trio.current_time() - 1.0)
            await trio.sleep_until(due)
            if self.running:
                await action(nursery)

    # -- setup ---------------------------------------------------------------------------------

    async def setup(self) -> None:
        for name in (*self.workers, VICTIM):
            await self.rt.spawn(Worker, self.ledger, name=name)
        for name, period, overlap, kind, job_options, schedule_options in SCHEDULES:
            job: Any
            options = dict(schedule_options)
            if kind == "workflow":
                job = self.workflows["scheduled"]
                options["inputs"] = {"plan": Plan("scheduled", items=5, delay=0.004)}
            elif kind == "sync":
                job = sync_schedule_job(self.ledger, name)
            else:
                rng = random.Random(f"{self.config.seed}-{name}")
                job = schedule_job(self.ledger, name, rng, **job_options)
            anchor = trio.current_time()  # rt.schedule anchors the grid at this same instant
            book = ScheduleBook(name, period, anchor, kind, self.ledger.problems)
            self.ledger.add_schedule(book)
            self.schedules[name] = self.rt.schedule(
                name, every(seconds=period), job, overlap=overlap, **options
            )

    # -- runs ----------------------------------------------------------------------------------

    async def start_run(self, waiters: trio.Nursery | None) -> None:
        assert waiters is not None
        plan = draw_plan(self.rng, cancel_share=self.config.cancel_share)
        await self.slots.acquire()
        try:
            handle = await self.rt.start(self.workflows[plan.shape], plan=plan)
        except Exception as error:
            self.slots.release()
            self.ledger.run_refused(error)
            return
        self.ledger.run_started(handle.run_id, plan)
        self.handles[handle.run_id] = handle
        waiters.start_soon(self.wait_run, handle)
        if plan.cancel_after is not None:
            waiters.start_soon(self.cancel_later, handle, plan.cancel_after)

    async def cancel_later(self, handle: Any, delay: float) -> None:
        await trio.sleep(delay)
        self.ledger.run_cancel_requested(handle.run_id)
        handle.cancel()

    async def wait_run(self, handle: Any) -> None:
        outcome = None
        with trio.move_on_after(SLOT_HOLD):
            outcome = await _outcome(handle)
        self.slots.release()
        if outcome is None:
            outcome = await _outcome(handle)
        del self.handles[handle.run_id]
        self.ledger.run_outcome(handle.run_id, outcome)

    # -- jobs and messages ---------------------------------------------------------------------

    async def fire(self, _: trio.Nursery | None) -> None:
        self._job_token += 1
        token = self._job_token
        fail = self.rng.random() < 0.2
        delay = self.rng.uniform(0.0, 0.02)
        try:
            job = self.rt.fire_and_forget(fire_job, self.ledger, token, delay, fail)
        except Exception as error:
            self.ledger.job_refused(error)
        else:
            self.ledger.job_fired(job.id, token, fail)

    async def message(self, waiters: trio.Nursery | None) -> None:
        assert waiters is not None
        name = self.rng.choice((*self.workers, VICTIM))
        if self.rng.random() < 0.5:
            try:
                ref = self.rt.system.resolve(name)
                ref.tell(Tell())
            except Exception as error:
                self.ledger.tell_refused(error)
            else:
                self.ledger.tell_sent(ref)
            return
        self._seq += 1
        self.ledger.asks_sent += 1
        self.ledger.asks_open += 1
        waiters.start_soon(self.ask, name, self._seq, self.rng.choice((0.0, 0.0, 0.002)))

    async def ask(self, name: str, seq: int, delay: float) -> None:
        try:
            reply = await self.rt.system.ask(name, Ask(seq, delay), timeout=2.0)
        except Exception as error:
            self.ledger.ask_done(seq, None, error)
        else:
            self.ledger.ask_done(seq, reply, None)

    # -- chaos ---------------------------------------------------------------------------------

    async def chaos_loop(self) -> None:
        beat = 0
        while True:
            await trio.sleep(self.config.chaos_every)
            beat += 1
            if beat % 2:  # a worker: crash it (queued messages first) or kill it
                ref = self.rt.system.whereis(self.rng.choice(self.workers))
                if ref is not None:
                    if beat % 4 == 1:
                        ref.kill()
                    else:
                        try:
                            ref.tell(Boom())
                        except Exception:
                            continue
                    self.chaos += 1
            else:  # a scheduler
                handle = self.schedules[self.rng.choice(sorted(self.schedules))]
                scheduler = handle.ref
                if scheduler is not None and scheduler.is_alive:
                    scheduler.kill()
                    self.chaos += 1

    async def burst_loop(self, every: float) -> None:
        await trio.sleep(every / 2)
        while True:
            for _ in range(5):  # more than the actors supervisor's 3 restarts in 5 s
                ref = None
                with trio.move_on_after(1.0):
                    while (ref := self.rt.system.whereis(VICTIM)) is None:  # noqa: ASYNC110
                        await trio.sleep(0.01)  # polling the registry: it has no event to wait on
                if ref is None:
                    break
                ref.kill()
                self.chaos += 1
                await ref.wait_exit()
            await trio.sleep(every)

    # -- the end -------------------------------------------------------------------------------

    async def remove_schedules(self) -> dict[str, tuple[int, float]]:
        """Remove every schedule; return how many ticks each had consumed, and when."""
        stops: dict[str, tuple[int, float]] = {}
        for name, handle in self.schedules.items():
            book = self.ledger.schedules[name]
            info = handle.info()
            consumed = 0
            if info.next_time is not None:  # tick n is due at anchor + n * period
                consumed = round((info.next_time - book.anchor) / book.period) - 1
            stops[name] = (consumed, trio.current_time())
            try:
                await handle.remove()
            except Exception as error:
                self.ledger.problems.add("schedule removal failed", f"{name}: {error!r}")
        return stops

    def settled(self) -> bool:
        ledger = self.ledger
        return (
            not self.handles
            and not ledger.open_runs()
            and not ledger.open_jobs()
            and ledger.asks_open == 0
            and ledger.tells_pending() == 0
            and not any(book.open_runs() for book in ledger.schedules.values())
        )


async def _outcome(handle: Any) -> str:
    try:
        await handle.result()
    except WorkflowFailedError:
        return "failed"
    except WorkflowCancelledError:
        return "cancelled"
    except WorkflowCrashedError:
        return "crashed"
    except Exception as error:
        return f"raised {type(error).__name__}"
    return "ok"


async def soak_async(config: SoakConfig) -> SoakReport:
    """Run the soak in the current trio run (real clock) and return its report."""
    ledger = Ledger()
    samples: list[tuple[float, int, int]] = []
    tallies: dict[str, Tally] = {}
    hung: list[Any] = []
    shutdown = ""
    chaos = 0
    try:
        async with Runtime(shutdown_timeout=config.shutdown_timeout, seed=config.seed) as rt:
            rt.subscribe(ledger.on_event)
            load = _Soak(config, rt, ledger)
            async with trio.open_nursery() as outer:
                outer.start_soon(sample_rss, samples, config.sample_every)
                async with trio.open_nursery() as waiters:
                    await load.setup()
                    async with trio.open_nursery() as drivers:
                        drivers.start_soon(load.drive, config.run_rate, load.start_run, waiters)
                        drivers.start_soon(load.drive, config.job_rate, load.fire, None)
                        drivers.start_soon(load.drive, config.message_rate, load.message, waiters)
                        async with trio.open_nursery() as chaos_tasks:
                            chaos_tasks.start_soon(load.chaos_loop)
                            if config.burst_every:
                                chaos_tasks.start_soon(load.burst_loop, config.burst_every)
                            await trio.sleep(config.seconds)
                            load.running = False
                            chaos_tasks.cancel_scope.cancel()
                    stops = await load.remove_schedules()
                    with trio.move_on_after(config.drain):
                        while not load.settled():  # noqa: ASYNC110 - many books, no one event
                            await trio.sleep(0.05)
                    workers = {name: rt.system.whereis(name) is not None for name in load.workers}
                    tallies = close_books(ledger, stops, workers, TICK_MARGIN)
                    hung = list(load.handles.values())
                    chaos = load.chaos
                    waiters.cancel_scope.cancel()
                outer.cancel_scope.cancel()
            report = await rt.aclose()
            shutdown = str(report)
    except Exception as error:  # the runtime itself died: that loses everything in it
        ledger.problems.add("the runtime raised out of `async with Runtime()`", repr(error))
        shutdown = f"raised {error!r}"
    if hung:
        settled = sum(1 for handle in hung if handle.done)
        shutdown += f"; of {len(hung)} runs with no outcome, {settled} were settled by the shutdown"
    return _report(config, ledger, tallies, samples, shutdown, chaos)


def _report(
    config: SoakConfig,
    ledger: Ledger,
    tallies: dict[str, Tally],
    samples: list[tuple[float, int, int]],
    shutdown: str,
    chaos: int,
) -> SoakReport:
    warm = [(t / 60.0, rss / MIB) for t, rss, _ in samples if t >= config.warmup_seconds]
    first = samples[0] if samples else (0.0, 0, 0)
    last = samples[-1] if samples else (0.0, 0, 0)
    return SoakReport(
        seconds=config.seconds,
        seed=config.seed,
        tallies=tallies,
        problems=tuple(ledger.problems.lines()),
        rss_start=first[1] / MIB,
        rss_end=last[1] / MIB,
        rss_slope=slope(warm),
        warmup=config.warmup_seconds,
        samples=len(samples),
        objects_start=first[2],
        objects_end=last[2],
        shutdown=shutdown,
        chaos=chaos,
    )


def soak(config: SoakConfig) -> SoakReport:
    """Run the soak in a new trio run on the real clock and return its report (blocking).

    The runtime's logs (a traceback per failing job, step and crash, by the thousand) are
    silenced meanwhile: the ledger accounts for every failure.
    """
    quiet = logging.getLogger("arborist")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        return trio.run(soak_async, config)
    finally:
        quiet.setLevel(level)


# -- the harness and the command line ------------------------------------------------------------

QUICK = SoakConfig(seconds=0.3, drain=0.5, shutdown_timeout=0.2, burst_every=None)


def run(quick: bool) -> list[Row]:
    """The harness entry: quick runs in-process; full runs in a fresh interpreter (RSS)."""
    if quick:
        report = soak(QUICK)
    else:
        seconds = os.environ.get("ARBORIST_SOAK_SECONDS", str(DEFAULT_SECONDS))
        payload = run_child("w11_soak", "--seconds", seconds, timeout=float(seconds) + 600.0)
        report = SoakReport.from_json(payload)
    return report_rows(report)


def report_rows(report: SoakReport) -> list[Row]:
    """Rows for the harness table: per kind, started (the floor) and accounted; then RSS."""
    result: list[Row] = []
    for name, tally in report.tallies.items():
        if tally.started == 0:
            continue
        workload = f"W11 soak {report.seconds:g} s: {name}"
        accounted = tally.started - tally.lost
        target = f"lost == 0: {tally.lost:,} {'ok' if tally.lost == 0 else 'MISSED'}"
        result += [
            Row(workload, "started", float(tally.started), "items", 1.0, (float(tally.started),)),
            Row(
                workload,
                "accounted",
                float(accounted),
                "items",
                accounted / tally.started,
                (float(accounted),),
                target=target,
                met=tally.lost == 0,
                note=tally.note,
            ),
        ]
    workload = f"W11 soak {report.seconds:g} s: RSS"
    shown = "n/a" if report.rss_slope is None else f"{report.rss_slope:+.3f} MiB/min"
    target = (
        f"slope < {RSS_TARGET} MiB/min: {shown} {'ok' if report.rss_ok else 'MISSED'}"
        if report.rss_judged
        else ""
    )
    result += [
        Row(workload, "start", report.rss_start, "MiB", 1.0, (report.rss_start,)),
        Row(
            workload,
            "end",
            report.rss_end,
            "MiB",
            report.rss_end / report.rss_start,
            (report.rss_end,),
            target=target,
            met=report.rss_ok,
            note=f"slope {shown} after {report.warmup:g} s warm-up; "
            f"{len(report.problems)} kinds of problems",
        ),
    ]
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.w11_soak``: run the soak, print the report, exit with the verdict."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.w11_soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    defaults = SoakConfig()
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--drain", type=float, default=defaults.drain)
    parser.add_argument(
        "--burst-every", type=float, default=defaults.burst_every, help="0: no crash loops"
    )
    parser.add_argument("--json", help="also write the report to this JSON file")
    parser.add_argument("--child", action="store_true", help="print JSON last and exit 0")
    args = parser.parse_args(argv)
    config = SoakConfig(
        seconds=args.seconds,
        seed=args.seed,
        drain=args.drain,
        burst_every=args.burst_every or None,
    )
    report = soak(config)
    print(report.render(), file=sys.stderr if args.child else sys.stdout, flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report.to_json(), f, indent=2)
    if args.child:
        print(json.dumps(report.to_json()), flush=True)
        return 0
    if not report.ok:
        return 1
    return 2 if report.rss_ok is False else 0


if __name__ == "__main__":
    sys.exit(main())

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
import sys
from typing import Any

import trio

from arborist.runtime import Runtime
from benchmarks._harness import Row, run_child
from benchmarks._soak_driver import DEFAULT_SECONDS, TICK_MARGIN, Driver, SoakConfig
from benchmarks._soak_ledger import Ledger, Tally
from benchmarks._soak_report import MIB, RSS_TARGET, SoakReport, close_books, sample_rss, slope

__all__ = ["SoakConfig", "SoakReport", "main", "run", "soak"]


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
            load = Driver(config, rt, ledger)
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
            cut_jobs = len(report.jobs.cut) if report.jobs is not None else 0
            shutdown = (
                f"{len(report.runs_finished)} runs finished in the grace time, "
                f"{len(report.runs_cancelled)} cancelled, {cut_jobs} jobs cut, "
                f"{report.duration:.3f} s"
            )
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

"""The soak's report (W11): closing the books into tallies, RSS sampling and the verdict."""

from __future__ import annotations

import gc
import os
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs
import trio

from benchmarks._soak_ledger import Ledger, Tally

__all__ = ["RSS_TARGET", "SoakReport", "close_books", "rss_bytes", "sample_rss", "slope"]

RSS_TARGET = 0.5
"""MiB per minute: the RSS slope after warm-up a soak must stay under."""
JUDGE_RSS_AFTER = 60.0
"""Soaks shorter than this many seconds report the slope without judging it."""
MIB = 1024 * 1024


def rss_bytes() -> int:
    """This process's resident set size in bytes (``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def sample_rss(samples: list[tuple[float, int, int]], every: float) -> None:
    """Append (seconds since start, RSS bytes, gc-tracked objects) every ``every`` seconds."""
    start = trio.current_time()
    while True:
        samples.append((trio.current_time() - start, rss_bytes(), len(gc.get_objects())))
        await trio.sleep(every)


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(x, y)`` points, or None with fewer than two distinct x."""
    n = len(points)
    if n < 2:
        return None
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx


@attrs.frozen
class SoakReport:
    """What a soak started, finished and lost, the problems it found and its RSS figures."""

    seconds: float
    seed: int
    tallies: dict[str, Tally]
    problems: tuple[str, ...]
    rss_start: float
    """MiB, first sample."""
    rss_end: float
    """MiB, last sample."""
    rss_slope: float | None
    """MiB per minute, least squares over the samples after the warm-up."""
    warmup: float
    samples: int
    objects_start: int
    objects_end: int
    shutdown: str
    chaos: int

    @property
    def lost(self) -> int:
        """Items lost, all kinds together."""
        return sum(tally.lost for tally in self.tallies.values())

    @property
    def ok(self) -> bool:
        """Nothing lost and no problem found."""
        return self.lost == 0 and not self.problems

    @property
    def rss_judged(self) -> bool:
        """Whether the soak was long enough to judge the RSS slope."""
        return self.seconds >= JUDGE_RSS_AFTER and self.rss_slope is not None

    @property
    def rss_ok(self) -> bool | None:
        """Whether the slope is under ``RSS_TARGET`` (None when not judged)."""
        if not self.rss_judged:
            return None
        assert self.rss_slope is not None
        return self.rss_slope < RSS_TARGET

    def render(self) -> str:
        """The report as text: tallies, RSS, problems and the verdict."""
        lines = [f"W11 soak: {self.seconds:g} s, seed {self.seed}, {self.chaos} chaos crashes"]
        width = max((len(name) for name in self.tallies), default=0)
        lines += [f"  {name:<{width}}  {tally}" for name, tally in self.tallies.items()]
        shown = "n/a" if self.rss_slope is None else f"{self.rss_slope:+.3f} MiB/min"
        judged = (
            f"target < {RSS_TARGET} MiB/min: {'ok' if self.rss_ok else 'MISSED'}"
            if self.rss_judged
            else f"not judged under {JUDGE_RSS_AFTER:g} s"
        )
        lines.append(
            f"  RSS {self.rss_start:.1f} -> {self.rss_end:.1f} MiB, slope {shown} after "
            f"{self.warmup:g} s warm-up ({self.samples} samples; {judged}); gc objects "
            f"{self.objects_start:,} -> {self.objects_end:,}"
        )
        lines.append(f"  shutdown: {self.shutdown}")
        if self.problems:
            lines.append("  problems:")
            lines += [f"    {line}" for line in self.problems]
        verdict = "ok" if self.ok else f"FAILED: {self.lost:,} lost, {len(self.problems)} problems"
        lines.append(f"  verdict: {verdict}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``from_json`` reads it back)."""
        data = attrs.asdict(self, recurse=False)
        data["tallies"] = {name: attrs.asdict(t) for name, t in self.tallies.items()}
        data["problems"] = list(self.problems)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SoakReport:
        """The report ``to_json`` wrote."""
        tallies = {name: Tally(**t) for name, t in data["tallies"].items()}
        return cls(**{**data, "tallies": tallies, "problems": tuple(data["problems"])})


def close_books(
    ledger: Ledger,
    stops: dict[str, tuple[int, float]],
    workers: dict[str, bool],
    margin: float,
) -> dict[str, Tally]:
    """Check everything still open after the drain and return the tallies by kind.

    Args:
        ledger: the soak's books.
        stops: schedule name -> (ticks it had consumed, trio time it was removed).
        workers: worker name -> whether it is reachable by name now.
        margin: ticks due this close to a removal may be unconsumed.
    """
    problems = ledger.problems
    lost_runs = 0
    driver = Counter[str]()
    for run_id, workflow, plan, cancelled, outcome, finished in ledger.open_runs():
        label = f"{workflow} {run_id}"
        if plan is not None and outcome is None:
            lost_runs += 1
            driver[f"{plan.shape}{' cancelled' if cancelled else ''}"] += 1
            problems.add(
                f"{plan.shape} run{' cancelled by its handle' if cancelled else ''} has no outcome",
                f"{label} {plan}",
            )
        elif finished == 0:
            lost_runs += 1
            what = "with an outcome but" if outcome is not None else "started with"
            problems.add(f"{workflow} run {what} no RunFinished", label)
    tallies = {
        "runs": Tally(
            ledger.runs_started,
            ledger.runs_closed,
            lost_runs,
            f"all workflows; {ledger.runs_refused} refused at the call"
            + (f"; no outcome: {dict(driver)}" if driver else ""),
        ),
        "undos": Tally(
            ledger.undo_expected,
            ledger.undo_ran,
            ledger.undo_expected - ledger.undo_ran,
            "completed undoable steps of failed/cancelled runs",
        ),
        "jobs": Tally(ledger.jobs_started, ledger.jobs_closed, ledger.open_jobs()),
    }
    ticks = [0, 0]
    runs = [0, 0]
    for name, book in ledger.schedules.items():
        consumed, stopped_at = stops.get(name, (0, 0.0))
        due, lost, accepted, open_runs = book.close(consumed, stopped_at, margin)
        ticks[0] += due
        ticks[1] += lost
        runs[0] += accepted
        runs[1] += open_runs
    tallies["ticks"] = Tally(ticks[0], ticks[0] - ticks[1], ticks[1], f"{len(stops)} schedules")
    tallies["schedule runs"] = Tally(runs[0], runs[0] - runs[1], runs[1])
    told, handled, dropped, lost_tells = ledger.tell_tally()
    asks = ledger.asks_sent
    answered = ledger.asks_answered + sum(ledger.ask_errors.values())
    note = (
        f"{told:,} tells ({dropped:,} dropped with an incarnation that ended, by design; "
        f"{sum(ledger.tells_refused.values()):,} refused at the call), {asks:,} asks "
        f"({ledger.asks_answered:,} answered, errors {dict(ledger.ask_errors)})"
    )
    tallies["messages"] = Tally(
        told + asks, handled + dropped + answered, lost_tells + ledger.asks_open, note
    )
    if ledger.asks_open:
        problems.add("asks with no reply and no error", str(ledger.asks_open))
    gone = sorted(name for name, alive in workers.items() if not alive)
    if gone:
        problems.add("worker actors no longer reachable by name", ", ".join(gone))
    tallies["actors"] = Tally(
        len(workers), len(workers) - len(gone), len(gone), "workers spawned with rt.spawn"
    )
    return tallies

"""The benchmark harness: discovery, alternating repetitions, medians, ratios and the table.

Convention (every benchmark module follows it; the harness finds them by name):

1. A benchmark is one module ``benchmarks/w<N>_<topic>.py`` (``w1_tell.py``,
   ``w5_fire_and_forget.py``). Modules whose name does not start with ``w<digits>_`` are not
   benchmarks (``_harness.py``).
2. It exposes ``run(quick: bool) -> list[Row]``. ``quick=True`` must finish in well under a
   second (the test suite calls it); ``quick=False`` is the real measurement.
3. It measures every implementation of a workload over at least ``repeats(quick)``
   repetitions, ALTERNATING them (A B C A B C ...) with ``alternate()``, and builds rows with
   ``rows()``: medians, and ratios to the floor computed from the same run. One of the
   implementations is the floor (usually the raw trio version) and gets ratio 1.0.
4. It is self-contained: it imports only the harness, arborist and its peers; a peer that is
   not installed is skipped with ``optional_import()`` (its row is simply missing).
5. Anything that must run in a fresh interpreter (memory) uses ``run_child()``, which runs
   ``python -m benchmarks.<module> --child <args>`` and reads one JSON object from the child's
   last line of stdout; the module handles ``--child`` under ``if __name__ == "__main__"``.

``python -m benchmarks [--quick] [--json PATH] [w1 w2 ...]`` runs the selection (a selector
matches the module name or its ``w<N>`` prefix), prints the table and writes JSON to
``benchmarks/results/`` (git-ignored).

Example of a module::

    from benchmarks._harness import Row, alternate, repeats, rows, timed_trio

    def run(quick: bool) -> list[Row]:
        n = 1_000 if quick else 100_000
        samples = alternate(
            {"trio floor": lambda: timed_trio(floor, n), "arborist Actor": lambda: ...},
            repeats(quick),
        )
        return rows("W9 thing", samples, per=n, unit="us/msg", scale=1e6, floor="trio floor")
"""

from __future__ import annotations

import gc
import importlib
import json
import pkgutil
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import trio

__all__ = [
    "Row",
    "Target",
    "alternate",
    "discover",
    "format_table",
    "format_tables",
    "optional_import",
    "repeats",
    "rows",
    "run_child",
    "run_modules",
    "timed_trio",
]

PACKAGE_DIR = Path(__file__).resolve().parent
_BENCH_NAME = re.compile(r"^w(\d+)_\w+$")

MIN_REPEATS = 5
"""Full runs measure every implementation at least this many times (alternating)."""


@attrs.frozen
class Row:
    """One measured (workload, implementation) pair.

    Attributes:
        workload: e.g. ``"W1 tell 200k"``; rows of one workload share it.
        implementation: e.g. ``"arborist Actor"``, ``"trio floor"``, ``"pykka ThreadingActor"``.
        median: the median over the repetitions, in ``unit``.
        unit: e.g. ``"us/msg"``, ``"KB/actor"``.
        ratio: ``median / floor median`` of the same run (1.0 for the floor; lower is better).
        samples: every repetition, in ``unit``, in the order measured.
        target: the targets with measured values, or ``""`` (``"<= 2.5x floor: 1.90x ok"``).
        met: whether the target was met, or None when there is no target.
        note: anything a reader must know (e.g. ``"1,000 actors, scaled per actor"``).
        floor: the floor every ratio of this workload is relative to: the fastest of the
            workload's floors in this run (``""`` in rows made before floors were named).
        is_floor: whether this implementation is one of the workload's floors.
    """

    workload: str
    implementation: str
    median: float
    unit: str
    ratio: float
    samples: tuple[float, ...] = attrs.field(converter=tuple, factory=tuple)
    target: str = ""
    met: bool | None = None
    note: str = ""
    floor: str = ""
    is_floor: bool = False

    @property
    def verdict(self) -> str:
        """``"met"``, ``"missed"``, or ``""`` when the row has no target."""
        if self.met is None:
            return ""
        return "met" if self.met else "missed"


@attrs.frozen
class Target:
    """A goal for one implementation's median, checked within the same run.

    ``Target(2.5)``: at most 2.5x the floor's median. ``Target(0.2, of="pykka ThreadingActor")``:
    at most 0.2x that implementation's median (5x faster). ``Target(8.0, absolute=True)``: at
    most 8.0 in the row's unit. A target relative to an implementation that was not measured
    (peer not installed) is skipped.
    """

    limit: float
    of: str | None = None
    absolute: bool = False

    def check(self, median: float, medians: Mapping[str, float], floor: str) -> tuple[str, bool]:
        """Return ``(description with the measured value, met)``."""
        if self.absolute:
            return f"<= {self.limit:g}: {_fmt(median)}", median <= self.limit
        other = floor if self.of is None else self.of
        ratio = median / medians[other]
        label = "floor" if self.of is None else self.of
        return f"<= {self.limit:g}x {label}: {ratio:.2f}x", ratio <= self.limit


# -- measuring ---------------------------------------------------------------------------------


def repeats(quick: bool) -> int:
    """How many alternating repetitions to run: ``MIN_REPEATS`` (5), or 1 when quick."""
    return 1 if quick else MIN_REPEATS


def alternate(
    implementations: Mapping[str, Callable[[], float]],
    n: int,
    *,
    warmup: bool = True,
) -> dict[str, list[float]]:
    """Measure each implementation ``n`` times, interleaved A B C A B C ...

    Each callable performs one full repetition and returns its measurement (seconds, bytes...).
    A full garbage collection runs before each call so one implementation's garbage is not
    charged to the next. With ``warmup`` each implementation runs once first, unrecorded.

    Returns:
        ``{name: [sample, ...]}`` in the order of ``implementations``.
    """
    if n < 1:
        raise ValueError(f"alternate() needs at least 1 repetition; got n={n!r}")
    samples: dict[str, list[float]] = {name: [] for name in implementations}
    if warmup:
        for fn in implementations.values():
            gc.collect()
            fn()
    for _ in range(n):
        for name, fn in implementations.items():
            gc.collect()
            samples[name].append(float(fn()))
    return samples


def timed_trio(fn: Callable[..., Any], *args: Any) -> float:
    """Run ``trio.run(fn, *args)``; ``fn`` returns the seconds it measured itself.

    Measuring inside the run keeps trio's start-up and teardown out of the number. Use
    ``time.perf_counter()`` around the part that matters and return the difference.
    """
    result = trio.run(fn, *args)
    if not isinstance(result, float):
        raise TypeError(f"{fn!r} must return the elapsed seconds as a float; got {result!r}")
    return result


def rows(
    workload: str,
    samples: Mapping[str, Sequence[float]],
    *,
    unit: str,
    floor: str | Sequence[str],
    per: float | Mapping[str, float] = 1.0,
    scale: float = 1.0,
    targets: Mapping[str, Sequence[Target]] | None = None,
    notes: Mapping[str, str] | None = None,
) -> list[Row]:
    """Turn raw samples into rows: medians in ``unit`` and ratios to ``floor``'s median.

    Args:
        workload: the workload label shared by the rows.
        samples: from ``alternate()``; values are divided by ``per`` then multiplied by
            ``scale`` (e.g. seconds for 200,000 messages, ``per=200_000, scale=1e6`` -> us/msg).
        unit: the unit after scaling.
        floor: the floor implementation (must be in ``samples``), or several: every ratio
            (and every ``Target`` relative to "floor") is then to the fastest of them in this
            run, so a better floor added beside an old one raises every ratio honestly.
        per: divide each sample by this (operations per repetition); a mapping gives each
            implementation its own count (say so in its note).
        scale: multiply each sample by this after dividing.
        targets: ``{implementation: [Target, ...]}``; the row is met when all are.
        notes: ``{implementation: note}``.
    """
    floors = [floor] if isinstance(floor, str) else list(floor)
    if not floors:
        raise ValueError("rows() needs at least one floor implementation")
    for name in floors:
        if name not in samples:
            raise ValueError(f"floor {name!r} is not one of the implementations {list(samples)}")
    counts = per if isinstance(per, Mapping) else dict.fromkeys(samples, per)
    scaled = {name: [v / counts[name] * scale for v in values] for name, values in samples.items()}
    medians = {name: statistics.median(values) for name, values in scaled.items()}
    fastest = min(floors, key=lambda name: medians[name])
    base = medians[fastest]
    result = []
    for name, values in scaled.items():
        median = medians[name]
        target, met = "", None
        checks = [
            t.check(median, medians, fastest)
            for t in (targets or {}).get(name, ())
            if t.of is None or t.of in medians
        ]
        if checks:
            target = "; ".join(f"{text} {'ok' if ok else 'MISSED'}" for text, ok in checks)
            met = all(ok for _, ok in checks)
        result.append(
            Row(
                workload=workload,
                implementation=name,
                median=median,
                unit=unit,
                ratio=median / base,
                samples=values,
                target=target,
                met=met,
                note=(notes or {}).get(name, ""),
                floor=fastest,
                is_floor=name in floors,
            )
        )
    return result


def optional_import(name: str) -> ModuleType | None:
    """Import a peer library, or return None if it is not installed (its rows are skipped)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def run_child(module: str, *args: str, timeout: float = 300.0) -> dict[str, Any]:
    """Run ``python -m benchmarks.<module> --child *args`` and parse its last stdout line as JSON.

    Raises:
        RuntimeError: the child failed; its stderr is in the message.
    """
    cmd = [sys.executable, "-m", f"benchmarks.{module}", "--child", *args]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PACKAGE_DIR.parent,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(
            f"benchmark child {' '.join(cmd[1:])} failed with code {proc.returncode}:\n"
            f"{proc.stderr.strip()}"
        )
    payload = json.loads(proc.stdout.strip().splitlines()[-1])
    if not isinstance(payload, dict):
        raise TypeError(f"benchmark child printed {payload!r}; expected a JSON object")
    return payload


# -- discovery and running ---------------------------------------------------------------------


def discover() -> list[str]:
    """Names of every benchmark module (``w<N>_*``) in this package, ordered by N then name."""
    found = [
        info.name
        for info in pkgutil.iter_modules([str(PACKAGE_DIR)])
        if _BENCH_NAME.match(info.name)
    ]

    def key(name: str) -> tuple[int, str]:
        match = _BENCH_NAME.match(name)
        assert match is not None
        return int(match.group(1)), name

    return sorted(found, key=key)


def select(selectors: Sequence[str]) -> list[str]:
    """Benchmark modules matching ``selectors`` (``w1``, ``w1_tell``); all when empty.

    Raises:
        ValueError: a selector matches no benchmark module.
    """
    names = discover()
    if not selectors:
        return names
    chosen: list[str] = []
    for selector in selectors:
        wanted = selector.lower().removesuffix(".py")
        matches = [n for n in names if n == wanted or n.split("_", 1)[0] == wanted]
        if not matches:
            raise ValueError(
                f"no benchmark matches {selector!r}; choose from: {', '.join(names) or 'none'}"
            )
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def load(name: str) -> ModuleType:
    """Import ``benchmarks.<name>`` and check it follows the convention."""
    module = importlib.import_module(f"benchmarks.{name}")
    if not callable(getattr(module, "run", None)):
        raise TypeError(f"benchmarks/{name}.py must define run(quick: bool) -> list[Row]")
    return module


def run_modules(
    names: Sequence[str], *, quick: bool, echo: Callable[[str], None] | None = None
) -> list[Row]:
    """Run the named benchmark modules in order and return all their rows.

    Raises:
        TypeError: a module returned something other than a list of ``Row``.
    """
    result: list[Row] = []
    for name in names:
        if echo is not None:
            echo(f"running {name}{' (quick)' if quick else ''} ...")
        started = time.perf_counter()
        produced = load(name).run(quick)
        if not isinstance(produced, list) or not all(isinstance(r, Row) for r in produced):
            raise TypeError(f"benchmarks/{name}.py run() must return list[Row]; got {produced!r}")
        if echo is not None:
            echo(f"  {name}: {len(produced)} rows in {time.perf_counter() - started:.1f}s")
        result.extend(produced)
    return result


# -- reporting ---------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_table(table: Sequence[Row]) -> str:
    """A Markdown table: workload, implementation, median, unit, ratio to floor, target, note."""
    header = ("workload", "implementation", "median", "unit", "x floor", "target", "note")
    body = [
        (
            row.workload,
            row.implementation,
            _fmt(row.median),
            row.unit,
            f"{row.ratio:.2f}",
            row.target,
            row.note,
        )
        for row in table
    ]
    return _render(header, body, {2, 4})


def _render(header: Sequence[str], body: Sequence[Sequence[str]], right: set[int]) -> str:
    lines = [tuple(header), *(tuple(cells) for cells in body)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def render(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ]
        return "| " + " | ".join(padded) + " |"

    sep = (
        "|"
        + "|".join(
            "-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([render(lines[0]), sep, *(render(line) for line in lines[1:])])


def format_tables(table: Sequence[Row]) -> str:
    """One Markdown table per workload, headed by its fastest floor and the verdicts.

    Each table lists the workload's implementations fastest first (the floors are marked),
    their medians, the ratio to the fastest floor of the same run, and each target with its
    verdict (``met``/``missed``); the heading line counts the verdicts.
    """
    groups: dict[str, list[Row]] = {}
    for row in table:
        groups.setdefault(row.workload, []).append(row)
    out = []
    for workload, group in groups.items():
        floor = next((r.floor for r in group if r.floor), "")
        verdicts = [r.verdict for r in group if r.verdict]
        summary = ""
        if verdicts:
            missed = verdicts.count("missed")
            summary = f"; targets: {len(verdicts) - missed} met, {missed} missed"
        heading = f"### {workload}" + (f" (fastest floor: {floor}{summary})" if floor else "")
        body = [
            (
                row.implementation + (" [floor]" if row.is_floor else ""),
                _fmt(row.median),
                row.unit,
                f"{row.ratio:.2f}",
                row.target,
                row.verdict,
                row.note,
            )
            for row in sorted(group, key=lambda r: r.ratio)
        ]
        header = ("implementation", "median", "unit", "x floor", "target", "verdict", "note")
        out.append(heading + "\n\n" + _render(header, body, {1, 3}))
    return "\n\n".join(out)

"""The actor kernel of this tree against another revision's, timed in one process.

``python -m benchmarks.ab w1|w2 --against REV [--repeats K] [--size N]``

Two processes running the same code differ by 3-5% in time on a small shared machine, so
a change worth 2% to W1 or W2 cannot be told apart by timing one tree's process, then the
other's. In one process, with the two kernels' repetitions alternated with the deque
floor's, the ratio of their medians stays within about 1% when both are the same code (six
A/A runs of W2 here: 0.988 to 1.004, five of them within 0.6%).

``actors/`` imports only from itself, so another revision's copy can be imported beside the
current ``arborist.actors`` as a package of its own name. This tool takes that copy from git
(``git archive REV actors``, or a folder holding an ``actors`` package), imports it under a
name made from the revision, and times the same workload on both kernels and on the
workload's deque floor, interleaved (``_harness.alternate``). It compares the actor layer
only: a change in ``supervision/`` or ``runtime/`` is the same code on both sides.

It prints the usual table (medians, ratios to the floor) and the current tree's median over
the other's, which is the number to quote in a commit message.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib
import re
import statistics
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import ModuleType

import trio
import trio.testing

from arborist import actors
from benchmarks import w1_tell, w2_ask
from benchmarks._harness import alternate, format_tables, rows
from benchmarks._revision import extract

__all__ = ["WORKLOADS", "Workload", "compare", "load_kernel", "main"]

Workload = Callable[[int, ModuleType], Awaitable[float]]
"""``await workload(n, kernel)``: ``n`` operations on an actor of ``kernel``; the seconds."""


WORKLOADS: dict[str, tuple[Workload, Callable[[int], Awaitable[float]], int, str]] = {
    # name: (the benchmark's arborist row, on a given kernel; its floor; operations a
    # repetition; unit)
    "w1": (w1_tell.arborist_actor, w1_tell.deque_floor, 200_000, "us/msg"),
    "w2": (w2_ask.arborist_actor, w2_ask.deque_floor, 20_000, "us/ask"),
}


def _absolute_imports_of_arborist(folder: Path) -> list[str]:
    """Where a module of the copied kernel imports ``arborist`` by its absolute name."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any(name == "arborist" or name.startswith("arborist.") for name in names):
                found.append(f"{path.name}:{node.lineno}")
    return found


def _extract(revision: str, into: Path) -> Path:
    """``actors/`` as of ``revision`` (a git revision, or a folder that holds ``actors/``)."""
    folder = Path(revision)
    if (folder / "actors" / "__init__.py").is_file():
        return folder / "actors"
    extract(
        revision,
        ["actors"],
        into,
        tool="benchmarks.ab",
        hint="give a commit, a branch, a tag, or a folder that holds an actors/ package",
    )
    return into / "actors"


def load_kernel(revision: str, workdir: Path) -> ModuleType:
    """Import ``actors/`` of ``revision`` as a package of its own, beside ``arborist.actors``.

    The copy lives in ``workdir``, which must outlast the kernel's use (a module it imports
    on first use is read from there).

    Raises:
        SystemExit: git cannot give that revision's ``actors/``, or a module in it imports
            ``arborist`` by its absolute name (the copy would then mix with this tree).
    """
    source = _extract(revision, workdir / "extracted")
    absolute = _absolute_imports_of_arborist(source)
    if absolute:
        raise SystemExit(
            f"actors/ at {revision!r} imports arborist by its absolute name "
            f"({', '.join(absolute)}), so its copy would run this tree's code there; "
            "benchmarks.ab compares kernels that import only from themselves"
        )
    # Unique to this load: two loads of one revision are two packages (each from its folder).
    digest = hashlib.sha1(f"{revision}\0{workdir.resolve()}".encode()).hexdigest()[:10]
    name = f"_ab_kernel_{re.sub(r'[^0-9a-zA-Z]', '_', revision)[:20]}_{digest}"
    packages = workdir / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    (packages / name).symlink_to(source.resolve(), target_is_directory=True)
    sys.path.insert(0, str(packages))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(packages))


def compare(
    workload: str, revision: str, kernel: ModuleType, *, repeats: int, size: int | None = None
) -> str:
    """Time ``workload`` on this tree's kernel, on ``kernel`` (from ``revision``) and on the
    floor, interleaved; return the table and the ratio of the two kernels' medians.

    Each repetition runs the floor, then the two kernels, in turns: the kernel that runs
    right after the floor alternates, so neither always has that place.

    Raises:
        ValueError: ``workload`` is not one of ``WORKLOADS``, or ``repeats`` is below 1.
    """
    if workload not in WORKLOADS:
        raise ValueError(f"no workload {workload!r}; choose from {', '.join(sorted(WORKLOADS))}")
    if repeats < 1:
        raise ValueError(f"compare() needs at least 1 repetition; got repeats={repeats!r}")
    run_on, floor, default_size, unit = WORKLOADS[workload]
    n = default_size if size is None else size
    floor_name = f"{workload} trio deque floor"
    other = f"arborist.actors at {revision}"
    current = "arborist.actors of this tree"
    runs: dict[str, Callable[[], float]] = {
        floor_name: lambda: trio.run(floor, n),
        other: lambda: trio.run(run_on, n, kernel),
        current: lambda: trio.run(run_on, n, actors),
    }
    orders = ([floor_name, other, current], [floor_name, current, other])
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for repetition in range(repeats):
        order = orders[repetition % 2]
        once = alternate({name: runs[name] for name in order}, 1, warmup=repetition == 0)
        for name, values in once.items():
            samples[name] += values
    table = rows(
        f"{workload} in one process, {repeats} alternating repetitions of {n:,}",
        samples,
        unit=unit,
        floor=floor_name,
        per=n,
        scale=1e6,
    )
    ratio = statistics.median(samples[current]) / statistics.median(samples[other])
    return f"{format_tables(table)}\nthis tree / {revision}: {ratio:.4f}x\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ab",
        description="Time this tree's actor kernel against another revision's, in one process.",
    )
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument(
        "--against",
        required=True,
        help="a git revision (HEAD~1, main, a commit) or a folder that holds actors/",
    )
    parser.add_argument("--repeats", type=int, default=15, help="repetitions of each (15)")
    parser.add_argument("--size", type=int, default=None, help="operations a repetition")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats takes a positive count; got {args.repeats}")
    if args.size is not None and args.size < 1:
        parser.error(f"--size takes a positive count; got {args.size}")
    with tempfile.TemporaryDirectory(prefix="arborist-ab-") as workdir:
        kernel = load_kernel(args.against, Path(workdir))
        print(compare(args.workload, args.against, kernel, repeats=args.repeats, size=args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())

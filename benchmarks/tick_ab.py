"""W7's tick on this tree against another revision's, in alternating pairs of processes.

``python -m benchmarks.tick_ab --against REV [--schedules N] [--pairs P] [--repeats R]
[--ticks T]``

``benchmarks.ab`` times two actor kernels in one process; a tick of W7 runs through
``supervision/`` and ``runtime/`` too, which import ``arborist`` by name, so two trees cannot
share a process. This tool runs each tree in processes of its own instead, taking turns: in
each of P pairs, one process on this tree and one on ``REV`` (which goes first alternates),
each timing the grouped floor and the ScheduleManager on trio's ``MockClock`` (the harness of
``benchmarks.tick_scaling``: N schedules due together every second, the process's objects
frozen before each repetition), R repetitions each, alternating, and keeping the minimum of
each. The minimum, not the median: here the median of seven moved by up to 15% from one
process to the next, the minimum by 1-2%. Each process gives the ratio of its two minima,
arborist's tick over the floor's, so a process that runs on a slower moment of the machine
is compared with its own floor.

It prints each pair, the median ratio of each tree over its P processes, and this tree's
median over ``REV``'s: the number to quote. The floor and the harness are this tree's
benchmark code in both processes; only the ``arborist`` package differs (the other one is
``git archive REV`` of ``actors/``, ``supervision/`` and ``runtime/``, reached through a folder
of links that comes first on ``PYTHONPATH``). Two runs of the same code read within 1% of
each other (1.0007 in the eighth #13 session).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks._revision import ROOT, extract

__all__ = ["child", "main", "tree"]

LAYERS = ("actors", "supervision", "runtime")
_HINT = "give a commit, a branch or a tag"


def tree(revision: str | None, into: Path) -> Path:
    """A folder whose ``arborist/`` links to ``revision``'s layers (None: this tree's).

    Raises:
        SystemExit: git cannot give those folders at ``revision``.
    """
    source = ROOT
    if revision is not None:
        source = into / "source"
        source.mkdir(parents=True)
        extract(revision, LAYERS, source, tool="benchmarks.tick_ab", hint=_HINT)
    links = into / "links"
    (links / "arborist").mkdir(parents=True)
    for layer in LAYERS:
        (links / "arborist" / layer).symlink_to(source / layer, target_is_directory=True)
    return links


def child(schedules: int, repeats: int, ticks: int) -> dict[str, float | str]:
    """Time the floor and arborist, alternating; their minima (s a tick) and arborist's path."""
    import arborist.runtime
    from benchmarks.tick_scaling import _arborist, cpu_per_tick
    from benchmarks.w7_timers import grouped_floor

    floor: list[float] = []
    ours: list[float] = []
    for _ in range(repeats):
        floor.append(cpu_per_tick(grouped_floor, schedules, ticks))
        ours.append(cpu_per_tick(_arborist, schedules, ticks))
    return {"floor": min(floor), "arborist": min(ours), "from": str(arborist.runtime.__file__)}


def _measure(links: Path, schedules: int, repeats: int, ticks: int) -> dict[str, float | str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(links), str(ROOT)]))
    command = [sys.executable, "-m", "benchmarks.tick_ab", "--child"]
    command += [str(schedules), str(repeats), str(ticks)]
    done = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"a measuring process failed:\n{done.stderr.strip()}")
    result: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
    if not str(result["from"]).startswith(str(links)):
        raise SystemExit(f"the measuring process imported arborist from {result['from']}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tick_ab",
        description="W7's tick on this tree against another revision's (process pairs).",
    )
    parser.add_argument("--against", help="a git revision (HEAD~1, main, a commit)")
    parser.add_argument("--schedules", type=int, default=100, help="schedules (100)")
    parser.add_argument("--pairs", type=int, default=6, help="pairs of processes (6)")
    parser.add_argument("--repeats", type=int, default=7, help="repetitions a process (7)")
    parser.add_argument("--ticks", type=int, default=30_000, help="ticks a repetition")
    parser.add_argument("--child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(*args.child)))
        return 0
    if args.against is None:
        parser.error("--against REV is required")
    counts = {"--schedules": args.schedules, "--pairs": args.pairs, "--repeats": args.repeats}
    for flag, value in {**counts, "--ticks": args.ticks}.items():
        if value < 1:
            parser.error(f"{flag} takes a positive count; got {value}")
    ticks = max(args.ticks, 3 * args.schedules)  # three ticks of each schedule at least
    ratios: dict[str, list[float]] = {"this tree": [], args.against: []}
    with tempfile.TemporaryDirectory(prefix="arborist-tick-ab-") as workdir:
        folders = {
            "this tree": tree(None, Path(workdir) / "this"),
            args.against: tree(args.against, Path(workdir) / "other"),
        }
        names = list(folders)
        for pair in range(args.pairs):
            line = []
            for name in names if pair % 2 == 0 else reversed(names):
                result = _measure(folders[name], args.schedules, args.repeats, ticks)
                ratio = float(result["arborist"]) / float(result["floor"])
                ratios[name].append(ratio)
                line.append(f"{name}: {ratio:.3f}x (floor {float(result['floor']) * 1e6:.2f} us)")
            print(f"pair {pair + 1}: " + " | ".join(line))
    medians = {name: statistics.median(values) for name, values in ratios.items()}
    print(
        f"W7 tick / grouped floor at {args.schedules:,} schedules, median of {args.pairs}: "
        f"this tree {medians['this tree']:.3f}x, {args.against} {medians[args.against]:.3f}x; "
        f"this tree / {args.against}: {medians['this tree'] / medians[args.against]:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run the benchmarks: ``python -m benchmarks [--quick] [--json PATH | --no-json] [w1 w2 ...]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import _harness, _record


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run arborist's benchmarks (all, or those selected) and print a table of "
        "medians and ratios to the floor, measured in one run.",
    )
    parser.add_argument(
        "selectors", nargs="*", help="benchmarks to run: w1, w1_tell ... (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 repetition (smoke)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument(
        "--no-json", action="store_true", help="do not write benchmarks/results/<stamp>.json"
    )
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(_harness.discover()))
        return 0
    try:
        names = _harness.select(args.selectors)
    except ValueError as exc:
        parser.error(str(exc))
    info = _record.machine_info(argv)
    print(
        f"{info['date']} | {info['nproc']} cores | load {info['load']} | Python {info['python']} "
        f"| {info['cpu']}",
        flush=True,
    )
    table = _harness.run_modules(
        names, quick=args.quick, echo=lambda s: print(s, file=sys.stderr, flush=True)
    )
    print()
    print(_harness.format_tables(table))
    if not args.no_json:
        path = _record.write_json(table, info, args.json)
        print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

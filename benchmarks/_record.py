"""The record of a benchmark run: the machine it ran on and the JSON file of its rows."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from benchmarks._harness import PACKAGE_DIR, Row

__all__ = ["RESULTS_DIR", "machine_info", "write_json"]

RESULTS_DIR = PACKAGE_DIR / "results"


def machine_info(argv: Sequence[str] | None = None) -> dict[str, str]:
    """Date, cores, load average (1/5/15 min), Python, CPU and the command, for the record."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    command = "python -m benchmarks" + (" " + " ".join(argv) if argv else "")
    try:
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "cpu": cpu,
        "platform": platform.platform(),
        "load": load,
        "command": command,
    }


def write_json(table: Sequence[Row], info: Mapping[str, str], path: Path | None = None) -> Path:
    """Write the rows and machine info as JSON (default ``benchmarks/results/<stamp>.json``)."""
    if path is None:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS_DIR / f"{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"machine": dict(info), "rows": [attrs.asdict(row) for row in table]}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path

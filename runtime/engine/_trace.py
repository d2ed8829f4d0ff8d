"""Chrome trace export: a run's step attempts in the Chrome trace-event format.

``chrome_trace`` is pure, like ``render_timeline``: it takes ``StepRecord`` values and the run's
start (trio's clock) and returns a JSON-ready dict that Perfetto (ui.perfetto.dev) and
``chrome://tracing`` open. The layout:

- one process (``pid`` 1) named after the run, one thread row per step (``tid`` from 1, in
  order of first start), each named after its step (``"M"`` metadata events);
- one complete event (``"ph": "X"``) per attempt: ``name`` the step, ``cat`` the attempt's
  status, ``ts``/``dur`` in microseconds from the run's start, ``args`` the attempt and status;
- one instant event (``"ph": "i"``) per skipped step, at the time it was skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._handle import StepRecord

__all__ = ["chrome_trace"]

_MICROS = 1_000_000


def _micros(seconds: float) -> float:
    return round(seconds * _MICROS, 3)


def chrome_trace(
    records: Iterable[StepRecord],
    start: float,
    *,
    run_id: str,
    workflow: str,
    end: float | None = None,
) -> dict[str, Any]:
    """The step attempts as a Chrome trace (see the module docstring for the layout).

    Args:
        records: the attempts, e.g. ``handle.records`` (any order).
        start: when the run started (trio's clock); ``ts`` counts from it.
        run_id: the run's id, the process's name.
        workflow: the workflow's name, kept in ``otherData``.
        end: when the run ended (None: still running), kept in ``otherData``.

    Returns:
        ``{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}``, ready for
        ``json.dump``.
    """
    ordered = sorted(records, key=lambda r: (r.start, r.attempt, r.step))
    threads: dict[str, int] = {}
    for record in ordered:
        threads.setdefault(record.step, len(threads) + 1)
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": run_id}}
    ]
    events.extend(
        {"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": step}}
        for step, tid in threads.items()
    )
    for record in ordered:
        common = {"name": record.step, "pid": 1, "tid": threads[record.step]}
        at = _micros(record.start - start)
        if record.status == "skipped":
            events.append({**common, "ph": "i", "s": "t", "cat": "skipped", "ts": at})
            continue
        events.append(
            {
                **common,
                "ph": "X",
                "cat": record.status,
                "ts": at,
                "dur": _micros(record.duration),
                "args": {"attempt": record.attempt, "status": record.status},
            }
        )
    other: dict[str, Any] = {"run_id": run_id, "workflow": workflow}
    if end is not None:
        other["duration_ms"] = round((end - start) * 1000, 3)
    return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": other}

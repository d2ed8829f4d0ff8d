"""Telemetry exporters: OpenTelemetry spans and Prometheus metrics fed by a runtime's events.

Nothing here runs unless you set it up; each exporter subscribes to the runtime's events
(``rt.subscribe``) and works synchronously on its trio thread as they arrive:

- ``instrument(rt)`` (extra ``otel``): a span per run, step attempt, undo, job and schedule
  run; a run started inside a caller's span is its child, a child run nests under its step.
- ``Metrics(rt)`` (extra ``prometheus``): counters and histograms of runs, steps, retries,
  undos, restarts, jobs and ticks, and sampled gauges of pools, mailboxes and schedules, in a
  ``CollectorRegistry`` you can mount; ``open_metrics_server`` serves it.

The names are imported on first use, so this package imports without the extras; a missing
extra is an ``ImportError`` that says what to install.

It may import ``arborist.runtime.engine`` and ``arborist.runtime.schedules`` (their event
types), ``arborist.actors`` and ``arborist.supervision``; the engine never imports it.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DEFAULT_METRICS_PORT",
    "DEFAULT_REFRESH_INTERVAL",
    "EventClock",
    "Metrics",
    "Tracing",
    "instrument",
    "open_metrics_server",
]

_HOMES = {
    "instrument": ("._otel", "otel", "opentelemetry"),
    "Tracing": ("._otel", "otel", "opentelemetry"),
    "Metrics": ("._prometheus", "prometheus", "prometheus_client"),
    "DEFAULT_REFRESH_INTERVAL": ("._prometheus", "prometheus", "prometheus_client"),
    "open_metrics_server": ("._serve", "prometheus", "prometheus_client"),
    "DEFAULT_METRICS_PORT": ("._serve", "prometheus", "prometheus_client"),
    "EventClock": ("._clock", "", ""),
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (the extras stay optional)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, extra, package = home
    try:
        value = getattr(importlib.import_module(module, __name__), name)
    except ModuleNotFoundError as error:
        if package and error.name is not None and error.name.startswith(package):
            raise ImportError(
                f"arborist.runtime.telemetry.{name} needs {package}: "
                f"pip install 'arborist[{extra}]'"
            ) from error
        raise
    globals()[name] = value
    return value

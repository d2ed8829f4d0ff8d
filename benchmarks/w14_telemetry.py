"""W14 telemetry: what the exporters cost per step, on W3's wide and chain graphs.

The same no-op workflows as W3 (``w3_dispatch.build_workflow``), each run on a fresh
``Runtime`` with the plan cached, timed from "go" to "all done":

- in-memory default: no subscriber at all, so the coordinator builds no event (the floor).
- + no-op subscriber: ``rt.subscribe(lambda e: None)``: the cost of building and delivering
  every run and step event.
- + OpenTelemetry: ``telemetry.instrument(rt)`` with the SDK's ``TracerProvider`` and a
  ``SimpleSpanProcessor`` into an ``InMemorySpanExporter`` (a span per run and per step
  attempt; no network), cleared after each repetition. Skipped without the SDK.
- + Prometheus: ``telemetry.Metrics(rt)`` (counters and histograms per step name: the wide
  graph's 10,000 step names make 10,000 series per metric, each made on first use), and
  + Prometheus, no step labels: ``Metrics(rt, step_labels=False)`` (series per workflow).
  Skipped without ``prometheus_client``.

Unit: microseconds per step (lower is better); the ratio to the in-memory default is the
price of the exporter. Target: OpenTelemetry within 10x of the in-memory default (a span is
a few microseconds of SDK work per attempt: it should stay a small multiple of dispatch).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from arborist.runtime import Runtime, Workflow
from benchmarks._harness import Row, Target, alternate, optional_import, repeats, rows, timed_trio
from benchmarks.w3_dispatch import build_workflow, chain, wide

__all__ = ["run"]

FLOOR = "in-memory default"
SUBSCRIBER = "+ no-op subscriber"
OTEL = "+ OpenTelemetry"
PROMETHEUS = "+ Prometheus"
PROMETHEUS_FLAT = "+ Prometheus, no step labels"


async def _timed(wf: Workflow, attach: Callable[[Runtime], Any] | None) -> float:
    wf.plan()
    async with Runtime() as rt:
        if attach is not None:
            attach(rt)
        started = time.perf_counter()
        await rt.run(wf)
        return time.perf_counter() - started


def _otel_attach() -> Callable[[Runtime], Any] | None:
    sdk = optional_import("opentelemetry.sdk.trace")
    if sdk is None:
        return None
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from arborist.runtime.telemetry import instrument

    exporter = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    def attach(rt: Runtime) -> None:
        exporter.clear()
        instrument(rt, tracer_provider=provider)

    return attach


def _prometheus_attach(*, step_labels: bool) -> Callable[[Runtime], Any] | None:
    if optional_import("prometheus_client") is None:
        return None
    from arborist.runtime.telemetry import Metrics

    return functools.partial(Metrics, step_labels=step_labels)  # a fresh registry each time


def _shapes(quick: bool) -> list[tuple[str, Callable[[], dict[str, tuple[str, ...]]]]]:
    if quick:
        return [("wide 100", lambda: wide(100)), ("chain 50", lambda: chain(50))]
    return [("wide 10k", lambda: wide(10_000)), ("chain 2k", lambda: chain(2_000))]


def run(quick: bool) -> list[Row]:
    table: list[Row] = []
    otel = _otel_attach()
    prometheus = _prometheus_attach(step_labels=True)
    flat = _prometheus_attach(step_labels=False)
    for label, make_graph in _shapes(quick):
        graph = make_graph()
        wf = build_workflow(graph, join_by_wait_for=True)
        impls: dict[str, Callable[[], float]] = {
            FLOOR: functools.partial(timed_trio, _timed, wf, None),
            SUBSCRIBER: functools.partial(timed_trio, _timed, wf, lambda rt: rt.subscribe(id)),
        }
        if otel is not None:
            impls[OTEL] = functools.partial(timed_trio, _timed, wf, otel)
        if prometheus is not None:
            impls[PROMETHEUS] = functools.partial(timed_trio, _timed, wf, prometheus)
        if flat is not None:
            impls[PROMETHEUS_FLAT] = functools.partial(timed_trio, _timed, wf, flat)
        samples = alternate(impls, repeats(quick))
        notes = {
            FLOOR: "no subscriber: no event is built",
            SUBSCRIBER: "every run and step event built and delivered",
            OTEL: "SDK TracerProvider, SimpleSpanProcessor -> InMemorySpanExporter",
            PROMETHEUS: "series per step name; a fresh CollectorRegistry per runtime",
            PROMETHEUS_FLAT: "series per workflow (step=*)",
        }
        table.extend(
            rows(
                f"W14 {label}",
                samples,
                unit="us/step",
                floor=FLOOR,
                per=len(graph),
                scale=1e6,
                targets={OTEL: [Target(10.0)]},
                notes={name: note for name, note in notes.items() if name in samples},
            )
        )
    return table

"""Prometheus metrics: the runtime's events counted, and its state sampled (``prometheus`` extra).

``Metrics(rt)`` subscribes to the runtime's events and keeps, in a ``CollectorRegistry`` of
its own (or the one given), under the ``arborist_`` prefix:

- runs: ``runs_started_total{workflow}``, ``runs_total{workflow,outcome}`` (ok, failed,
  cancelled, halted, crashed), ``runs_in_flight{workflow}``,
  ``run_duration_seconds{workflow}`` (histogram);
- steps: ``steps_total{workflow,step,outcome}`` (ok, failed, cancelled, again, skipped; a
  failed attempt that is retried counts as failed), ``step_duration_seconds{workflow,step}``,
  ``step_pool_wait_seconds{workflow,step}`` (attempts bounded by a pool),
  ``step_retries_total{workflow,step}``, ``undos_total{workflow,step,outcome}`` (ok, failed),
  ``compensations_total{workflow,step,decision}``, ``map_elements_total{workflow,step,
  outcome}`` (counted by batch);
- supervision: ``supervisor_restarts_total{supervisor,child}``,
  ``supervisor_give_ups_total{supervisor,child}``;
- jobs: ``jobs_in_flight``, ``jobs_total{outcome}``;
- schedules: ``schedule_ticks_total{schedule}``, ``schedule_tick_lateness_seconds{schedule}``
  (how late an accepted tick started after its due time), ``schedule_missed_total{schedule,
  reason}``, ``schedule_skipped_total{schedule,reason}``, ``schedule_runs_total{schedule,
  outcome}``;
- sampled by ``refresh()`` (a trio task calls it every few seconds: ``run``): pools
  ``pool_limit``/``pool_in_use``/``pool_waiting{pool}`` (an adaptive pool's current limit),
  ``mailbox_depth{actor}`` for the long-lived actors (not those of runs) and
  ``mailbox_depth_max`` over every actor, ``actors``, and
  ``schedule_next_fire_seconds{schedule}`` (seconds until the next fire).

Events are counted synchronously on the trio thread; a scrape (from any thread) reads the
registry and the last sample, never the runtime itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import trio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from arborist.actors import ActorError
from arborist.supervision import (
    ChildRestarted,
    SupervisorGaveUp,
    TaskCancelled,
    TaskFailed,
    TaskFinished,
    TaskStarted,
)

from ..engine._events import (
    MapBatchFinished,
    RunFinished,
    RunStarted,
    StepAgain,
    StepCancelled,
    StepCompensated,
    StepFailed,
    StepFinished,
    StepRetried,
    StepSkipped,
    StepUndoFailed,
    StepUndone,
)
from ..schedules._events import (
    ScheduleMissed,
    ScheduleRunCancelled,
    ScheduleRunFailed,
    ScheduleRunFinished,
    ScheduleRunTimedOut,
    ScheduleSkipped,
    ScheduleTick,
)
from ._labels import run_outcome, supervisor_label

__all__ = ["DEFAULT_REFRESH_INTERVAL", "Metrics"]

DEFAULT_REFRESH_INTERVAL = 5.0
"""Seconds between two samples of pools, mailboxes and schedules in ``Metrics.run``."""

_RUNS_NODE = "runs"
"""The id of the root's child that holds one subtree per run (churn: no series per run)."""


class _Sampled(Collector):
    """Yields the gauges of the last sample (swapped in whole, so a scrape sees one sample)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.families: tuple[Metric, ...] = ()

    def collect(self) -> Iterator[Metric]:
        yield from self.families


class Metrics:
    """Prometheus metrics of one runtime (see the module docstring for the series).

    Args:
        rt: an open ``Runtime`` (``subscribe``, ``pool_statistics``, ``tree``, ``schedules``).
        registry: where the metrics go (default: a new ``CollectorRegistry``; pass
            ``prometheus_client.REGISTRY`` to join the process-wide one).
        namespace: the metric names' prefix.
        step_labels: label step series with the step's name (default). A workflow of
            thousands of generated step names makes as many series per metric (a histogram
            has 15 buckets each): pass False to aggregate them (``step="*"``).

    Attributes:
        registry: the registry to expose (``prometheus_client.generate_latest(registry)``,
            ``make_asgi_app(registry)`` mounted in your app, or ``serve_metrics``).
    """

    def __init__(
        self,
        rt: Any,
        *,
        registry: CollectorRegistry | None = None,
        namespace: str = "arborist",
        step_labels: bool = True,
    ) -> None:
        if not callable(getattr(rt, "subscribe", None)):
            raise TypeError(f"Metrics() takes an open Runtime (rt); got {rt!r}")
        self.registry = registry if registry is not None else CollectorRegistry()
        self._rt = rt
        self._per_step = step_labels
        ns, reg = namespace, self.registry

        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Counter:
            return Counter(name, doc, labels, namespace=ns, registry=reg)

        def histogram(name: str, doc: str, labels: tuple[str, ...]) -> Histogram:
            return Histogram(name, doc, labels, namespace=ns, registry=reg)

        wf, step = ("workflow",), ("workflow", "step")
        self.runs_started = counter("runs_started", "Runs started.", wf)
        self.runs = counter("runs", "Runs ended, by outcome.", (*wf, "outcome"))
        self.runs_in_flight = Gauge(
            "runs_in_flight", "Runs started and not ended.", wf, namespace=ns, registry=reg
        )
        self.run_duration = histogram("run_duration_seconds", "Run durations.", wf)
        self.steps = counter("steps", "Step attempts ended, by outcome.", (*step, "outcome"))
        self.step_duration = histogram("step_duration_seconds", "Step attempt durations.", step)
        self.step_wait = histogram(
            "step_pool_wait_seconds", "Time step attempts waited for pool slots.", step
        )
        self.retries = counter("step_retries", "Step retries scheduled.", step)
        self.undos = counter("undos", "Undos of completed steps, by outcome.", (*step, "outcome"))
        self.compensations = counter(
            "compensations", "Compensate decisions, by decision.", (*step, "decision")
        )
        self.map_elements = counter(
            "map_elements", "Map step elements ended, by outcome.", (*step, "outcome")
        )
        sup = ("supervisor", "child")
        self.restarts = counter("supervisor_restarts", "Children restarted.", sup)
        self.give_ups = counter("supervisor_give_ups", "Supervisors that gave up.", sup)
        self.jobs_in_flight = Gauge(
            "jobs_in_flight", "Jobs of the runtime running now.", namespace=ns, registry=reg
        )
        self.jobs = counter("jobs", "Jobs ended, by outcome.", ("outcome",))
        sched = ("schedule",)
        self.ticks = counter("schedule_ticks", "Ticks accepted.", sched)
        self.lateness = histogram(
            "schedule_tick_lateness_seconds", "How late accepted ticks fired.", sched
        )
        self.missed = counter("schedule_missed", "Ticks missed.", (*sched, "reason"))
        self.skipped = counter("schedule_skipped", "Ticks skipped.", (*sched, "reason"))
        self.schedule_runs = counter(
            "schedule_runs", "Schedule runs ended, by outcome.", (*sched, "outcome")
        )
        self._sampled = _Sampled(ns)
        reg.register(self._sampled)
        self._handlers: dict[type, Callable[[Any], None]] = {
            RunStarted: self._run_started,
            RunFinished: self._run_finished,
            StepFinished: lambda e: self._step(e, "ok", e.pool_wait),
            StepFailed: lambda e: self._step(e, "failed", e.pool_wait),
            StepCancelled: lambda e: self._step(e, "cancelled"),
            StepAgain: lambda e: self.steps.labels(e.workflow, self._s(e), "again").inc(),
            StepSkipped: lambda e: self.steps.labels(e.workflow, self._s(e), "skipped").inc(),
            StepRetried: lambda e: self.retries.labels(e.workflow, self._s(e)).inc(),
            StepUndone: lambda e: self.undos.labels(e.workflow, self._s(e), "ok").inc(),
            StepUndoFailed: lambda e: self.undos.labels(e.workflow, self._s(e), "failed").inc(),
            StepCompensated: lambda e: self.compensations.labels(
                e.workflow, self._s(e), e.decision
            ).inc(),
            MapBatchFinished: self._map_batch,
            ChildRestarted: lambda e: self._supervisor(self.restarts, e),
            SupervisorGaveUp: lambda e: self._supervisor(self.give_ups, e),
            TaskStarted: lambda e: self.jobs_in_flight.inc(),
            TaskFinished: lambda e: self._job("ok"),
            TaskFailed: lambda e: self._job("failed"),
            TaskCancelled: lambda e: self._job("cancelled"),
            ScheduleTick: self._tick,
            ScheduleMissed: lambda e: self.missed.labels(e.schedule, str(e.reason)).inc(e.count),
            ScheduleSkipped: lambda e: self.skipped.labels(e.schedule, e.reason).inc(),
            ScheduleRunFinished: lambda e: self._schedule_run(e, "ok"),
            ScheduleRunFailed: lambda e: self._schedule_run(e, "failed"),
            ScheduleRunTimedOut: lambda e: self._schedule_run(e, "timed_out"),
            ScheduleRunCancelled: lambda e: self._schedule_run(e, "cancelled"),
        }
        self._unsubscribe = rt.subscribe(self)

    def __call__(self, event: Any) -> None:
        """Count one runtime event (the ``rt.subscribe`` handler); others are ignored."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def close(self) -> None:
        """Stop counting events (the registry keeps what it has)."""
        self._unsubscribe()

    def __repr__(self) -> str:
        return f"<Metrics of {self._rt!r}>"

    # -- events --------------------------------------------------------------------------------

    def _run_started(self, event: RunStarted) -> None:
        self.runs_started.labels(event.workflow).inc()
        self.runs_in_flight.labels(event.workflow).inc()

    def _run_finished(self, event: RunFinished) -> None:
        outcome = "ok" if event.ok else run_outcome(event.error)
        self.runs.labels(event.workflow, outcome).inc()
        self.runs_in_flight.labels(event.workflow).dec()
        self.run_duration.labels(event.workflow).observe(event.duration)

    def _s(self, event: Any) -> str:
        """The step label of an event: its step's name, or ``*`` without step labels."""
        return event.step if self._per_step else "*"

    def _step(self, event: Any, outcome: str, waited: float | None = None) -> None:
        step = event.step if self._per_step else "*"
        self.steps.labels(event.workflow, step, outcome).inc()
        self.step_duration.labels(event.workflow, step).observe(event.duration)
        if waited:
            self.step_wait.labels(event.workflow, step).observe(waited)

    def _map_batch(self, event: MapBatchFinished) -> None:
        step = self._s(event)
        if event.count > event.failed:
            self.map_elements.labels(event.workflow, step, "ok").inc(event.count - event.failed)
        if event.failed:
            self.map_elements.labels(event.workflow, step, "failed").inc(event.failed)

    def _supervisor(self, counter: Counter, event: ChildRestarted | SupervisorGaveUp) -> None:
        counter.labels(supervisor_label(event.supervisor), str(event.id)).inc()

    def _job(self, outcome: str) -> None:
        self.jobs_in_flight.dec()
        self.jobs.labels(outcome).inc()

    def _tick(self, event: ScheduleTick) -> None:
        self.ticks.labels(event.schedule).inc()
        due = event.due
        late = event.wall_time - due.timestamp() if isinstance(due, datetime) else event.time - due
        self.lateness.labels(event.schedule).observe(max(late, 0.0))

    def _schedule_run(self, event: Any, outcome: str) -> None:
        self.schedule_runs.labels(event.schedule, outcome).inc()

    # -- samples -------------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Sample pools, mailboxes and schedules now (a scrape then shows this sample).

        Takes a snapshot of the runtime's tree (an ``await``); call it on the runtime's trio
        thread. A runtime that is closing is sampled as far as it still answers.
        """
        rt, ns = self._rt, self._sampled.prefix
        families: list[Metric] = []
        limit = GaugeMetricFamily(f"{ns}_pool_limit", "Pool slots, now.", labels=["pool"])
        in_use = GaugeMetricFamily(f"{ns}_pool_in_use", "Pool slots in use.", labels=["pool"])
        waiting = GaugeMetricFamily(f"{ns}_pool_waiting", "Attempts waiting.", labels=["pool"])
        for stats in rt.pool_statistics():
            limit.add_metric([stats.name], stats.limit)
            in_use.add_metric([stats.name], stats.in_use)
            waiting.add_metric([stats.name], stats.waiting)
        families += [limit, in_use, waiting]
        try:
            tree = await rt.tree()
        except (RuntimeError, ActorError):  # the runtime is closing: no tree to sample
            tree = None
        if tree is not None:
            depth = GaugeMetricFamily(
                f"{ns}_mailbox_depth", "Messages waiting in an actor's mailbox.", labels=["actor"]
            )
            deepest, count = 0, 0
            for path, node in _walk_paths(tree.root):
                count += 1
                deepest = max(deepest, node.mailbox_size)
                if len(path) < 3 or path[1] != _RUNS_NODE:
                    depth.add_metric(["/".join(path)], node.mailbox_size)
            families += [
                depth,
                GaugeMetricFamily(f"{ns}_mailbox_depth_max", "The deepest mailbox.", deepest),
                GaugeMetricFamily(f"{ns}_actors", "Actors and supervisors in the tree.", count),
            ]
        try:
            schedules = rt.schedules()
        except RuntimeError:  # the runtime is closing: no schedules to sample
            schedules = []
        nxt = GaugeMetricFamily(
            f"{ns}_schedule_next_fire_seconds", "Seconds until the next fire.", labels=["schedule"]
        )
        now = trio.current_time()
        for info in schedules:
            if info.next_time is not None and math.isfinite(info.next_time):
                nxt.add_metric([info.name], max(info.next_time - now, 0.0))
        families.append(nxt)
        self._sampled.families = tuple(families)

    async def run(
        self,
        interval: float = DEFAULT_REFRESH_INTERVAL,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Refresh the samples every ``interval`` seconds until cancelled (``nursery.start``).

        The first sample is taken before ``started()``.
        """
        if not interval > 0:
            raise ValueError(f"interval must be a number of seconds > 0; got {interval!r}")
        await self.refresh()
        task_status.started()
        del task_status  # it keeps trio's start() nursery alive (see Cell.hand_over)
        while True:
            await trio.sleep(interval)
            await self.refresh()


def _walk_paths(node: Any, above: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    path = (*above, str(node.id))
    yield path, node
    for child in node.children:
        yield from _walk_paths(child, path)

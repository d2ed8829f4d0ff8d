"""OpenTelemetry tracing: the runtime's events turned into spans (the ``otel`` extra).

``instrument(rt)`` subscribes a ``Tracing`` to the runtime's events; it opens and ends spans
as the events arrive (synchronously, on the trio thread), so nothing runs when nothing
happens and the engine knows nothing of OpenTelemetry. The spans:

- ``run <workflow>``: one per run, from ``RunStarted`` to ``RunFinished``. Its parent is the
  span that was current where ``rt.start`` was called (a FastAPI request's, say), or, for a
  child run (``ctx.run``, an included workflow), the attempt span of the step that started it,
  or, for a run a schedule started, that schedule run's span.
- ``step <step>``: one per attempt, a child of its run's span, from dispatch to its end;
  outcome ``ok``, ``failed`` (the exception recorded, status ERROR), ``cancelled``, ``again``.
  Skips and retries are span events on the run's span.
- ``compensate <step>``: a step's ``@compensate`` deciding (``continue``, ``retry``,
  ``fail``), inside the attempt's span, the error it was given recorded.
- ``map batch <step>``: each batch of ``batch_size`` elements of a map step, inside the
  attempt's span (``first``, ``count``, ``failed``).
- ``undo <step>``: one per undo of a completed step during a rollback.
- ``job <name>``: one per fire-and-forget job or task of the runtime's task supervisor.
- ``schedule <name>``: one per schedule run (an accepted tick), from its start to its end;
  a skipped or missed tick is a zero-length span with its reason.

Attributes are under ``arborist.``: ``workflow``, ``run_id``, ``parent_run_id``, ``step``,
``attempt``, ``outcome``, ``pool``, ``wait_time`` (seconds waiting for pool slots),
``executor`` (the runtime executor a remote attempt ran on),
``final``, ``schedule``, ``due``, ``job``. Times are trio's, mapped to the wall clock once
(``EventClock``), so spans keep trio's durations exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from arborist.supervision import TaskCancelled, TaskFailed, TaskFinished, TaskStarted

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
    StepStarted,
    StepUndoFailed,
    StepUndone,
)
from ..schedules._events import (
    CURRENT_SCHEDULE_RUN,
    ScheduleMissed,
    ScheduleRunCancelled,
    ScheduleRunFailed,
    ScheduleRunFinished,
    ScheduleRunStarted,
    ScheduleRunTimedOut,
    ScheduleSkipped,
)
from ._clock import EventClock
from ._labels import run_outcome

if TYPE_CHECKING:
    from arborist.supervision._events import Unsubscribe

__all__ = ["Tracing", "instrument"]

TRACER_NAME = "arborist"


class Tracing:
    """Turns one runtime's events into OpenTelemetry spans (made by ``instrument``).

    Attributes:
        tracer: the tracer the spans come from.
    """

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer
        self._clock = EventClock()
        self._runs: dict[str, Span] = {}
        self._attempts: dict[tuple[str, str], Span] = {}
        self._pools: dict[tuple[str, str], str] = {}
        self._jobs: dict[int, Span] = {}
        self._schedules: dict[tuple[str, int], Span] = {}
        self._unsubscribe: Unsubscribe | None = None
        self._handlers: dict[type, Callable[[Any], None]] = {
            RunStarted: self._run_started,
            RunFinished: self._run_finished,
            StepStarted: self._step_started,
            StepFinished: self._step_finished,
            StepFailed: self._step_failed,
            StepCancelled: self._step_cancelled,
            StepAgain: self._step_again,
            StepRetried: self._step_retried,
            StepSkipped: self._step_skipped,
            StepCompensated: self._compensated,
            MapBatchFinished: self._map_batch,
            StepUndone: self._undone,
            StepUndoFailed: self._undo_failed,
            TaskStarted: self._job_started,
            TaskFinished: self._job_ended,
            TaskFailed: self._job_ended,
            TaskCancelled: self._job_ended,
            ScheduleRunStarted: self._schedule_started,
            ScheduleRunFinished: self._schedule_ended,
            ScheduleRunFailed: self._schedule_ended,
            ScheduleRunTimedOut: self._schedule_ended,
            ScheduleRunCancelled: self._schedule_ended,
            ScheduleSkipped: self._schedule_not_run,
            ScheduleMissed: self._schedule_not_run,
        }

    def __call__(self, event: Any) -> None:
        """Handle one runtime event (the ``rt.subscribe`` handler); others are ignored."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def close(self) -> None:
        """Unsubscribe and end the spans still open (their outcome ``unfinished``)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for spans in (self._attempts, self._runs, self._jobs, self._schedules):
            for span in spans.values():
                span.set_attribute("arborist.outcome", "unfinished")
                span.end()
            spans.clear()

    def __repr__(self) -> str:
        state = "closed" if self._unsubscribe is None else f"{len(self._runs)} runs open"
        return f"<Tracing {state}>"

    # -- runs and steps ------------------------------------------------------------------------

    def _start(self, name: str, at: float, parent: Any, attributes: dict[str, Any]) -> Span:
        return self.tracer.start_span(
            name, context=parent, start_time=self._clock.ns(at), attributes=attributes
        )

    def _end(self, span: Span, at: float, outcome: str, error: BaseException | None = None) -> None:
        span.set_attribute("arborist.outcome", outcome)
        if error is not None:
            span.record_exception(error, timestamp=self._clock.ns(at))
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        span.end(end_time=self._clock.ns(at))

    def _run_started(self, event: RunStarted) -> None:
        parent: Any = None
        attributes: dict[str, Any] = {
            "arborist.workflow": event.workflow,
            "arborist.run_id": event.run_id,
        }
        if event.parent_run_id is not None:
            attributes["arborist.parent_run_id"] = event.parent_run_id
            above = self._attempts.get((event.parent_run_id, event.parent_step or ""))
            if above is None:
                above = self._runs.get(event.parent_run_id)
            if above is not None:
                parent = trace.set_span_in_context(above)
        elif event.caller_context is not None:
            parent = event.caller_context.run(otel_context.get_current)
            if not trace.get_current_span(parent).get_span_context().is_valid:
                scheduled = event.caller_context.get(CURRENT_SCHEDULE_RUN)
                above = self._schedules.get(scheduled) if scheduled is not None else None
                if above is not None:  # a schedule's job started it: under that run's span
                    parent = trace.set_span_in_context(above)
        self._runs[event.run_id] = self._start(
            f"run {event.workflow}", event.time, parent, attributes
        )

    def _run_finished(self, event: RunFinished) -> None:
        span = self._runs.pop(event.run_id, None)
        for key in [key for key in self._attempts if key[0] == event.run_id]:
            self._end(self._attempts.pop(key), event.time, "unfinished")  # a Halt, say
            self._pools.pop(key, None)
        if span is None:
            return
        outcome = "ok" if event.ok else run_outcome(event.error)
        self._end(span, event.time, outcome, event.error)

    def _step_started(self, event: StepStarted) -> None:
        run = self._runs.get(event.run_id)
        attributes: dict[str, Any] = {
            "arborist.workflow": event.workflow,
            "arborist.run_id": event.run_id,
            "arborist.step": event.step,
            "arborist.attempt": event.attempt,
        }
        key = (event.run_id, event.step)
        if event.executor is not None:
            attributes["arborist.executor"] = event.executor
        if event.pool is not None:
            attributes["arborist.pool"] = event.pool
            self._pools[key] = event.pool
        parent = trace.set_span_in_context(run) if run is not None else None
        self._attempts[key] = self._start(f"step {event.step}", event.time, parent, attributes)

    def _attempt_ended(
        self,
        event: Any,
        outcome: str,
        error: BaseException | None = None,
        waited: float = 0.0,
    ) -> Span | None:
        key = (event.run_id, event.step)
        span = self._attempts.pop(key, None)
        if span is None:
            return None
        if self._pools.pop(key, None) is not None:
            span.set_attribute("arborist.wait_time", waited)
        self._end(span, event.time, outcome, error)
        return span

    def _step_finished(self, event: StepFinished) -> None:
        self._attempt_ended(event, "ok", waited=event.pool_wait)

    def _step_failed(self, event: StepFailed) -> None:
        key = (event.run_id, event.step)
        span = self._attempts.get(key)
        if span is not None:
            span.set_attribute("arborist.final", event.final)
        self._attempt_ended(event, "failed", event.error, event.pool_wait)

    def _step_cancelled(self, event: StepCancelled) -> None:
        self._attempt_ended(event, "cancelled")

    def _step_again(self, event: StepAgain) -> None:
        self._attempt_ended(event, "again")

    def _step_retried(self, event: StepRetried) -> None:
        run = self._runs.get(event.run_id)
        if run is not None:
            run.add_event(
                "step retried",
                {
                    "arborist.step": event.step,
                    "arborist.attempt": event.attempt,
                    "arborist.delay": event.delay,
                },
                timestamp=self._clock.ns(event.time),
            )

    def _step_skipped(self, event: StepSkipped) -> None:
        run = self._runs.get(event.run_id)
        if run is not None:
            attributes = {"arborist.step": event.step}
            if event.because is not None:
                attributes["arborist.because"] = event.because
            run.add_event("step skipped", attributes, timestamp=self._clock.ns(event.time))

    def _inside_attempt(self, event: Any, name: str, attributes: dict[str, Any]) -> Span:
        """A span within the attempt span of ``event``'s step, ending at ``event.time``."""
        above = self._attempts.get((event.run_id, event.step)) or self._runs.get(event.run_id)
        parent = trace.set_span_in_context(above) if above is not None else None
        attributes = {
            "arborist.workflow": event.workflow,
            "arborist.run_id": event.run_id,
            "arborist.step": event.step,
            "arborist.attempt": event.attempt,
            **attributes,
        }
        return self._start(name, event.time - event.duration, parent, attributes)

    def _compensated(self, event: StepCompensated) -> None:
        span = self._inside_attempt(
            event, f"compensate {event.step}", {"arborist.decision": event.decision}
        )
        span.record_exception(event.error, timestamp=self._clock.ns(event.time))
        self._end(span, event.time, event.decision)

    def _map_batch(self, event: MapBatchFinished) -> None:
        attributes = {
            "arborist.first": event.first,
            "arborist.count": event.count,
            "arborist.failed": event.failed,
        }
        span = self._inside_attempt(event, f"map batch {event.step}", attributes)
        self._end(span, event.time, "failed" if event.failed else "ok")

    def _undo_span(self, event: Any, start: float) -> Span:
        run = self._runs.get(event.run_id)
        parent = trace.set_span_in_context(run) if run is not None else None
        attributes = {
            "arborist.workflow": event.workflow,
            "arborist.run_id": event.run_id,
            "arborist.step": event.step,
        }
        return self._start(f"undo {event.step}", start, parent, attributes)

    def _undone(self, event: StepUndone) -> None:
        span = self._undo_span(event, event.time - event.duration)
        self._end(span, event.time, "ok")

    def _undo_failed(self, event: StepUndoFailed) -> None:
        span = self._undo_span(event, event.time)
        self._end(span, event.time, "failed", event.error)

    # -- jobs and schedules --------------------------------------------------------------------

    def _job_started(self, event: TaskStarted) -> None:
        job = event.job
        attributes = {"arborist.job": job.name, "arborist.job_id": job.id}
        self._jobs[job.id] = self._start(f"job {job.name}", event.time, None, attributes)

    def _job_ended(self, event: TaskFinished | TaskFailed | TaskCancelled) -> None:
        span = self._jobs.pop(event.job.id, None)
        if span is None:
            return
        if isinstance(event, TaskFailed):
            self._end(span, event.time, "failed", event.exc)
        elif isinstance(event, TaskCancelled):
            self._end(span, event.time, "cancelled")
        else:
            self._end(span, event.time, "ok")

    def _schedule_started(self, event: ScheduleRunStarted) -> None:
        attributes = {
            "arborist.schedule": event.schedule,
            "arborist.schedule_run": event.run,
            "arborist.due": _due(event.due),
        }
        self._schedules[(event.schedule, event.run)] = self._start(
            f"schedule {event.schedule}", event.time, None, attributes
        )

    def _schedule_ended(self, event: Any) -> None:
        span = self._schedules.pop((event.schedule, event.run), None)
        if span is None:
            return
        if isinstance(event, ScheduleRunFailed):
            self._end(span, event.time, "failed", event.error)
        elif isinstance(event, ScheduleRunTimedOut):
            self._end(span, event.time, "timed_out")
        elif isinstance(event, ScheduleRunCancelled):
            span.set_attribute("arborist.reason", event.reason)
            self._end(span, event.time, "cancelled")
        else:
            self._end(span, event.time, "ok")

    def _schedule_not_run(self, event: ScheduleSkipped | ScheduleMissed) -> None:
        outcome = "skipped" if isinstance(event, ScheduleSkipped) else "missed"
        attributes = {
            "arborist.schedule": event.schedule,
            "arborist.due": _due(event.due),
            "arborist.reason": str(event.reason),
        }
        span = self._start(f"schedule {event.schedule}", event.time, None, attributes)
        self._end(span, event.time, outcome)


def _due(due: float | datetime) -> str | float:
    return due.isoformat() if isinstance(due, datetime) else due


def instrument(rt: Any, *, tracer_provider: trace.TracerProvider | None = None) -> Tracing:
    """Trace ``rt``'s runs, steps, undos, jobs and schedule runs as OpenTelemetry spans.

    Call it inside the runtime's ``async with`` block, before the work to trace; spans start
    and end synchronously as events happen, and are handed to the provider's span processors
    (export happens there, e.g. in a ``BatchSpanProcessor``'s thread). Call ``close()`` on
    the result to stop (spans still open are ended as ``unfinished``).

    Args:
        rt: an open ``Runtime`` (anything with ``subscribe``).
        tracer_provider: where spans go (default: OpenTelemetry's global provider).

    Returns:
        The subscribed ``Tracing``.

    Raises:
        TypeError: ``rt`` is not a runtime.

    Example:
        >>> async with Runtime() as rt:  # doctest: +SKIP
        ...     tracing = instrument(rt)
        ...     await rt.run(wf, user_id=1)
    """
    if not callable(getattr(rt, "subscribe", None)):
        raise TypeError(f"instrument() takes an open Runtime (rt); got {rt!r}")
    tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
    tracing = Tracing(tracer)
    tracing._unsubscribe = rt.subscribe(tracing)
    return tracing

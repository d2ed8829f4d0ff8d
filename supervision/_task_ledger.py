"""The task supervisor's books: the jobs running now, counters for those that ended, events.

A ledger keeps the running jobs and nothing else: a job that ends is counted (finished, failed
or cancelled) and let go, so memory is flat in the number of jobs a supervisor ever ran. The
exceptions are bounded by the running jobs themselves: the jobs cut at shutdown (for the
report), and failed task handles nobody has awaited yet, held *weakly* -- one is logged when
the supervisor stops, or when its owner drops it unawaited, whichever comes first.

All methods run on the supervisor's trio thread.
"""

from __future__ import annotations

import weakref
from concurrent.futures import Future, InvalidStateError
from typing import Any

import trio

from arborist.actors._logging import get_logger, log_context

from ._events import EventBus
from ._task_jobs import (
    BY_SUPERVISOR,
    CANCELLED,
    FAILED,
    FINISHED,
    Job,
    JobState,
    ShutdownReport,
    TaskCancelled,
    TaskEvent,
    TaskFailed,
    TaskFinished,
    TaskHandle,
    TaskStarted,
    TaskSupervisorStatistics,
    awaited_error,
)

__all__ = ["JobLedger", "log_job_failure", "settle_future"]

logger = get_logger("arborist.supervision")


class JobLedger:
    """Running jobs, counters, subscribers and, once stopped, the ``ShutdownReport``."""

    __slots__ = (
        "_at_stop",
        "_cut",
        "_idle",
        "_unobserved",
        "cancelled",
        "events",
        "failed",
        "finished",
        "report",
        "running",
        "started",
    )

    def __init__(self) -> None:
        self.running: dict[Job, None] = {}
        self.started = self.finished = self.failed = self.cancelled = 0
        self.events: EventBus[TaskEvent] = EventBus()
        self.report: ShutdownReport | None = None
        self._idle: trio.Event | None = None
        self._at_stop: tuple[int, int, int] | None = None
        self._cut: list[Job] = []
        self._unobserved: weakref.WeakSet[TaskHandle[Any]] = weakref.WeakSet()

    @property
    def stopping(self) -> bool:
        """Whether the stop has begun (new jobs are refused from then on)."""
        return self._at_stop is not None

    def statistics(self) -> TaskSupervisorStatistics:
        """A frozen snapshot of the counters."""
        return TaskSupervisorStatistics(
            running=len(self.running),
            started=self.started,
            finished=self.finished,
            failed=self.failed,
            cancelled=self.cancelled,
        )

    def register(self, job: Job) -> None:
        """Count a job that was accepted and report ``TaskStarted``."""
        self.running[job] = None
        self.started += 1
        if self.events._handlers:  # the bus's own check, without a call (W5)
            self.events.emit(TaskStarted(job, job._started_at))

    def finish(self, job: Job) -> None:
        """``job`` returned (a task's value is already in its handle)."""
        if type(job) is Job and not self.events._handlers:
            # ``_settle`` for the common case (W5): a fire-and-forget job, nobody listening.
            job.state = FINISHED
            job._args = ()
            running = self.running
            del running[job]
            self.finished += 1
            if not running and self._idle is not None:
                self._idle.set()
            return
        self._settle(job, FINISHED, None)

    def fail(self, job: Job, exc: BaseException) -> None:
        """``job`` raised ``exc`` (or timed out)."""
        self._settle(job, FAILED, exc)

    def cancel(self, job: Job) -> None:
        """``job`` was cancelled, by its handle or by the supervisor stopping."""
        self._settle(job, CANCELLED, None)

    def _settle(self, job: Job, state: JobState, exc: BaseException | None) -> None:
        """Record how ``job`` ended (exactly once), report it and let the job go.

        ``exc`` is set exactly when the job failed. A task's awaiters and future are woken;
        a failed task nobody waits for is remembered weakly as unobserved.
        """
        handle = job if isinstance(job, TaskHandle) else None
        if handle is not None:
            handle._exc = exc
        job.state = state
        job._args = ()  # the arguments are not needed any more: do not keep them alive
        del self.running[job]
        if state is FINISHED:
            self.finished += 1
        elif state is FAILED:
            self.failed += 1
        else:
            self.cancelled += 1
        by = BY_SUPERVISOR
        if state is CANCELLED:
            if handle is not None and handle._by:
                by = handle._by
            if by == BY_SUPERVISOR:
                self.begin_stop()
                self._cut.append(job)
        if self.events._handlers:
            self._emit_end(job, state, exc, by)
        if handle is not None:
            self._settle_task(handle, state, exc)
        if not self.running and self._idle is not None:
            self._idle.set()

    def _emit_end(self, job: Job, state: JobState, exc: BaseException | None, by: str) -> None:
        now = trio.current_time()
        duration = now - job._started_at
        if state is FINISHED:
            self.events.emit(TaskFinished(job, now, duration))
        elif exc is not None:
            self.events.emit(TaskFailed(job, exc, now, duration))
        else:
            self.events.emit(TaskCancelled(job, by, now, duration))

    def _settle_task(
        self, handle: TaskHandle[Any], state: JobState, exc: BaseException | None
    ) -> None:
        if state is CANCELLED and not handle._by:
            handle._by = BY_SUPERVISOR
        if exc is not None and handle._event is None and handle._future is None:
            self._unobserved.add(handle)
            handle._unobserved = self._unobserved
        if handle._event is not None:
            handle._event.set()
        future = handle._future
        if future is not None:
            if state is FINISHED:
                settle_future(future, None, handle._value)
            elif exc is not None:
                settle_future(future, awaited_error(handle, exc), None)
            else:
                future.cancel()

    def begin_stop(self) -> None:
        """Mark the start of the stop: the report counts what ends from now on."""
        if self._at_stop is None:
            self._at_stop = (self.finished, self.failed, self.cancelled)

    async def wait_idle(self) -> None:
        """Wait until no job runs."""
        while self.running:
            self._idle = trio.Event()
            await self._idle.wait()

    def close(self, owner: object) -> ShutdownReport:
        """Make the ``ShutdownReport`` (once), log what was cut or never awaited, report it.

        Args:
            owner: the supervisor, as log messages name it.
        """
        self.begin_stop()
        if self.report is not None:
            return self.report
        finished, failed, cancelled = self._at_stop or (0, 0, 0)
        self.report = report = ShutdownReport(
            completed=self.finished - finished,
            cancelled=self.cancelled - cancelled,
            failed=self.failed - failed,
            cut=tuple(sorted(self._cut, key=_by_id)),
            time=trio.current_time(),
        )
        self._cut = []
        if report.cut:
            logger.warning(
                "%r cut %d jobs still running after its shutdown time: %s",
                owner,
                len(report.cut),
                ", ".join(repr(job) for job in report.cut[:20])
                + (" ..." if len(report.cut) > 20 else ""),
            )
        for handle in sorted(self._unobserved, key=_by_id):
            handle._unobserved = None
            logger.error(
                "%r: task %r failed and its handle was never awaited",
                owner,
                handle,
                exc_info=handle._exc,
            )
        self._unobserved.clear()
        if self.events:
            self.events.emit(report)
        return report


def _by_id(job: Job) -> int:
    return job.id


def settle_future(future: Future[Any], exc: BaseException | None, value: Any) -> None:
    """Resolve a thread's future with the task's value or error (unless it was cancelled)."""
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)
    except InvalidStateError:  # cancelled by its thread meanwhile
        pass


def log_job_failure(owner: object, job: Job, exc: BaseException) -> None:
    """Log a failed job at ERROR with its traceback (an OTP crash report), naming its owner."""
    logger.error("%r: job %r failed", owner, job, exc_info=exc, extra=log_context(supervisor=owner))

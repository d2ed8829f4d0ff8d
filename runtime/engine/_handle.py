"""RunHandle: a started workflow run, to await or cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import trio

from arborist.actors import ActorDeadError

from ._messages import CancelRun, Suspend
from ._timeline import render_timeline
from ._trace import chrome_trace

if TYPE_CHECKING:
    from arborist.actors import ActorRef

__all__ = ["RunHandle", "StepRecord"]


@attrs.frozen
class StepRecord:
    """How one attempt of a step went, for timelines and reports (times on trio's clock)."""

    step: str
    attempt: int
    start: float
    end: float
    status: str  # "ok", "failed", "cancelled"

    @property
    def duration(self) -> float:
        """Seconds the attempt took."""
        return self.end - self.start


class RunHandle:
    """A run started with ``rt.start``. ``await handle.result()`` waits for it.

    Attributes:
        run_id: the run's id: a UUIDv7 string, unique across processes and restarts.
        workflow: the workflow's name.
    """

    def __init__(self, run_id: str, workflow: str) -> None:
        self.run_id = run_id
        self.workflow = workflow
        self._done = trio.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        self._coordinator: ActorRef | None = None
        self._records: list[StepRecord] = []
        # Attempts not yet StepRecords, flat: step, attempt, start, end, status, step, ...
        # (no object per attempt that the garbage collector would track until the run ends)
        self._pending: list[Any] = []
        self._undo_log: list[Any] = []
        self._on_done: Any = None
        self._durable = False  # journaled: a shutdown suspends it instead of cancelling it
        self.started_at: float = trio.current_time()
        self.finished_at: float | None = None

    @property
    def records(self) -> list[StepRecord]:
        """Every attempt so far, in the order they ended (skipped steps included).

        The coordinator notes attempts as five flat fields each; they become ``StepRecord``
        objects here, on the first read after them (always the same list).
        """
        pending = self._pending
        if pending:
            records = [StepRecord(*pending[i : i + 5]) for i in range(0, len(pending), 5)]
            self._records.extend(records)
            pending.clear()
        return self._records

    def _note(self, step: str, attempt: int, start: float, end: float, status: str) -> None:
        """Record how an attempt ended (see ``records``)."""
        self._pending += (step, attempt, start, end, status)

    @property
    def done(self) -> bool:
        """Whether the run has ended (successfully or not)."""
        return self._done.is_set()

    def _set(self, value: Any, error: BaseException | None) -> None:
        if self._done.is_set():
            return
        self._value = value
        self._error = error
        self.finished_at = trio.current_time()
        self._coordinator = None  # a handle kept after its run does not keep the run alive
        self._done.set()
        if self._on_done is not None:
            self._on_done(self)

    async def result(self) -> Any:
        """Wait for the run to end and return the returned step's value (None if no returns).

        Cancelling the caller does not cancel the run; use ``cancel()`` for that.

        Raises:
            WorkflowFailedError: a step failed.
            WorkflowCancelledError: the run was cancelled.
            WorkflowCrashedError: the run's coordinator crashed.
        """
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value

    def cancel(self) -> None:
        """Cancel the run: steps in flight are cancelled, completed ones undone.

        No-op if the run already ended.
        """
        if self._done.is_set() or self._coordinator is None:
            return
        try:
            self._coordinator.tell(CancelRun())
        except ActorDeadError:
            pass

    def _suspend(self) -> None:
        """Stop a durable run here without ending it (the runtime shuts down)."""
        if self._done.is_set() or self._coordinator is None:
            return
        try:
            self._coordinator.tell(Suspend())
        except ActorDeadError:
            pass

    def timeline(self, width: int = 60) -> str:
        """The run's step attempts as a text Gantt chart (see ``render_timeline``).

        The bars span the run from its start to its end (to now while it is still running).

        Args:
            width: the number of columns of the bars, at least 10.

        Raises:
            ValueError: ``width`` is below 10.
        """
        end = self.finished_at if self.finished_at is not None else trio.current_time()
        title = f"{self.workflow} {self.run_id}"
        return render_timeline(self.records, self.started_at, end, width, title=title)

    def trace(self) -> dict[str, Any]:
        """The run's step attempts in the Chrome trace-event format (see ``chrome_trace``).

        ``json.dump`` the result to a file and open it in Perfetto or ``chrome://tracing``:
        one row per step, one bar per attempt. Taken while the run is going, it holds the
        attempts that have ended so far.
        """
        return chrome_trace(
            self.records,
            self.started_at,
            run_id=self.run_id,
            workflow=self.workflow,
            end=self.finished_at,
        )

    def __repr__(self) -> str:
        if not self.done:
            state = "running"
        elif self._error is None:
            state = "ok"
        else:
            state = f"failed: {type(self._error).__name__}"
        return f"<RunHandle {self.workflow!r} {self.run_id} {state}>"

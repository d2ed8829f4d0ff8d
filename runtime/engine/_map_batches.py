"""MapBatches: a map step's elements grouped in batches of ``batch_size``, for telemetry.

Only made when someone subscribes to the runtime's events. Batch ``k`` holds the elements of
indexes ``k * batch_size`` to ``(k + 1) * batch_size - 1`` (the source's order; the last batch
may be shorter, known once the source is exhausted). A batch ends when each of its elements
ended, and is then reported as one ``MapBatchFinished`` event; a batch cut by the map step's
failure or cancellation is not reported (the attempt's own events say how it ended).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from ._events import MapBatchFinished

if TYPE_CHECKING:
    from ._context import StepContext

__all__ = ["MapBatches"]


class MapBatches:
    """The open batches of one map step attempt: start time, elements left, failures."""

    __slots__ = ("_ctx", "_open", "_size", "_total")

    def __init__(self, ctx: StepContext, size: int) -> None:
        self._ctx = ctx
        self._size = size
        self._open: dict[int, list[float]] = {}  # batch -> [start, left, failed]
        self._total: int | None = None

    def _batch(self, index: int) -> list[float]:
        number = index // self._size
        batch = self._open.get(number)
        if batch is None:
            size = self._size
            if self._total is not None:  # the source ended before this batch's first started
                size = min(size, self._total - number * size)
            batch = self._open[number] = [trio.current_time(), float(size), 0.0]
        return batch

    def started(self, index: int) -> None:
        """Element ``index`` started (its batch opens with the first)."""
        self._batch(index)

    def failed(self, index: int) -> None:
        """Element ``index`` failed after its retries."""
        self._batch(index)[2] += 1

    def ended(self, index: int) -> None:
        """Element ``index`` ended (a value, an error, or cancelled)."""
        number = index // self._size
        batch = self._open.get(number)
        if batch is None:
            return
        batch[1] -= 1
        self._maybe_report(number, batch)

    def fed(self, total: int) -> None:
        """The source is exhausted after ``total`` elements: the last batch is shorter."""
        self._total = total
        number = (total - 1) // self._size if total else -1
        batch = self._open.get(number)
        if batch is not None:
            batch[1] -= (number + 1) * self._size - total
            self._maybe_report(number, batch)

    def _maybe_report(self, number: int, batch: list[float]) -> None:
        if batch[1] > 0:
            return
        del self._open[number]
        events = self._ctx._services.events
        if not events or trio.current_effective_deadline() == -float("inf"):
            return  # nobody listens any more, or the attempt is being cancelled
        ctx = self._ctx
        first = number * self._size
        count = self._size if self._total is None else min(self._size, self._total - first)
        now = trio.current_time()
        events.emit(
            MapBatchFinished(
                ctx.run_id,
                ctx.workflow,
                ctx.step,
                ctx.attempt,
                now,
                now - batch[0],
                first,
                count,
                int(batch[2]),
            )
        )

"""Runs of plain messages handed to a sync handler from C: the actor loop's fast path (W1).

With more than ``RUN_MIN`` plain messages queued for a sync ``on_receive`` in an unbounded
mailbox, the actor loop hands up to ``BATCH`` of them to ``map``: C pops each and calls the
handler, and no bytecode runs between two messages. A call from C into Python costs more than
one from Python, and setting a run up costs about a quarter of a microsecond: on CPython 3.11 a
run is slower than the Python loop up to ~30 messages, and 10-25% faster per message from a
few hundred on (benchmarks/README.md, issue #13).

A run ends early, at the message in hand, when its handler stops its own actor
(``end_run``); a handler that raises ends it too, and leaves the rest queued.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from itertools import starmap
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._cell import Cell

__all__ = ["BATCH", "RUN_MIN", "end_run", "handle_run"]

# A sync handler hands control back to trio at least this often, so an actor that keeps
# messaging itself cannot starve the other tasks.
BATCH = 1024

RUN_MIN = 32
"""The loop makes a run when more plain messages than this are queued."""

# Consumes an iterator in C, keeping nothing.
_exhaust: Callable[[Iterable[object]], None] = deque[object](maxlen=0).extend


def handle_run(cell: Cell, handler: Callable[[Any], object], queue: deque[Any]) -> int:
    """Hand the messages in ``queue`` now, at most ``BATCH``, to ``handler``; return how many.

    ``queue`` is the cell's mailbox queue. All of them were handled when it returns, unless a
    stop requested by the handler ended the run early: the loop then ends, and the count does
    not matter. A crash raises.
    """
    count = min(len(queue), BATCH)
    # One empty argument tuple per message: ``end_run`` empties the list to end the run.
    ticks: list[tuple[()]] = [()] * count
    system = cell.system
    system._draining = (cell, ticks)
    try:
        _exhaust(map(handler, starmap(queue.popleft, ticks)))
    finally:
        system._draining = None
    return count


def end_run(cell: Cell) -> None:
    """End the run ``cell``'s loop is in, if any, after the message in hand."""
    draining = cell.system._draining
    if draining is not None and draining[0] is cell:
        draining[1].clear()

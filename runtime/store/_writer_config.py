"""What the writer is configured with: what an operation is, its thresholds, inline commits.

``Writer`` reads these names from its own module (``_writer``), where a test or a benchmark
may change them; they are defined here so that the writer's module holds its behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ._sql import Tx

__all__ = [
    "CHECKPOINT_COMMITS",
    "CHECKPOINT_ROWS",
    "HAND_OFF_AT",
    "IDLE_CHANCES",
    "INLINE_MAX",
    "InlineCommits",
    "Operation",
]

Operation = Callable[..., Any]
"""An operation: ``op(tx, *args) -> value``, run on the writer thread inside a transaction.

An operation may carry ``op.many(tx, [args, ...]) -> [Refusal | None, ...]``: consecutive
records of that operation in one batch (outside pipeline mode) are then written by one call,
which returns each record's refusal or None (their value is None).

A *row operation* ``op(tx, key, rows)`` writes a list of rows (``Writer.post_row``): rows
posted one after another for the same ``key`` share one record, so one receipt and one
statement serve them all. Wherever a threshold below counts records, each row of a row
record counts as one."""


CHECKPOINT_COMMITS = 500
"""A store that commits inline checkpoints on its thread after this many commits (SQLite: its
write connection's automatic checkpoint, every 1,000 WAL pages, would otherwise run in an
inline commit and stall trio for 5-20 ms), or after ``CHECKPOINT_ROWS`` rows, whichever comes
first. Each checkpoint ends with a short catch-up holding the write connection's lock, so that
the next commit starts the WAL file over. Each commit adds at least a page per table and index
it touched to the WAL: counting commits bounds the WAL as before."""

CHECKPOINT_ROWS = 4000
"""Rows after which a checkpoint is due even with fewer commits (see ``CHECKPOINT_COMMITS``).
A checkpoint costs 1-2 ms here (its fsyncs, mostly), whatever it copies: every 500 rows it was
2-4 us a row of a wide fan-out, whose 500 results are one commit (sustained wide runs, 40 in a
row: 26.9-31.8 against 20.3-27.7 us a step with 4,000)."""

INLINE_MAX = 16
"""Batches up to this many records are committed on the trio thread when the writer is idle
(stores whose commit does not wait for the disk); larger ones go to the thread."""

IDLE_CHANCES = 4
"""Batch ends a small batch waits for trio to go idle (to commit it inline) before it goes to
the thread: a chain step's own teardown keeps trio busy for a batch or more after its post
(with 2, about one commit in ten of a 200-step chain still went to the thread at load 3)."""

HAND_OFF_AT = 64
"""Records posted in one batch go to the thread at once when this many wait (or ``max_batch``,
if smaller), so a wide fan-out's commits overlap with trio running its steps rather than all
waiting for the batch end (wide 500 at load 4: 81 against 93 us a step). On an idle machine
the thread seldom gets the GIL before trio idles, and trio then commits what it has not
taken itself (``Writer.steal``)."""


@attrs.frozen
class InlineCommits:
    """How trio commits a small batch itself (a store whose commit does not wait for the disk).

    See the ``_writer`` module docstring. Each callable runs holding the write connection's
    lock.

    Attributes:
        max_records: batches up to this many records may be committed on the trio thread.
        begin_now: opens an inline commit's transaction without waiting for another
            process's write lock; False if it is held (the thread, which may wait, takes the
            batch then), so trio never sleeps in a busy handler.
        begin_waiting: opens the writer thread's transactions (waiting for the lock).
        checkpoint: run on the thread after ``CHECKPOINT_COMMITS`` commits or
            ``CHECKPOINT_ROWS`` rows (never inside a commit trio makes), since trio's commits
            must not run one.
    """

    max_records: int
    begin_now: Callable[[Tx], bool]
    begin_waiting: Callable[[Tx], None]
    checkpoint: Callable[[], None]

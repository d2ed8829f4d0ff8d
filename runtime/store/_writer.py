"""The writer thread: one per store, it owns the write connection and group-commits records.

trio code posts a record (``Writer.post``: a list append, never blocks) and gets a
``Receipt``. A step's result is a row (``Writer.post_row``): the results of one run posted
one after another join one record and share its receipt, one statement writing them all (a
wide fan-out's 500 results were 500 records, receipts and commit-queue entries: 1,669
against 1,559 opcodes a durable step on the trio thread). Records posted in one trio
scheduling batch are handed to the thread together (one box in a deque, one wake-up token
in a ``SimpleQueue``) when that batch ends, just before trio waits for I/O (a trio
instrument installed by ``pump``), or at once when ``HAND_OFF_AT`` records are waiting (so
that a busy machine's thread may commit while trio runs). Waking the thread at a
batch end, rather than for every record, keeps the woken thread from taking the core (and
the GIL) from trio while trio still has work: on a busy machine a put in the middle of a
batch cost trio 180-250 us on average (a median of 8 us, a long tail of preemptions). The
thread takes every record queued (up to ``max_batch``), applies them in one write
transaction, commits, and wakes trio once for the whole batch through the trio token
(``TrioToken.run_sync_soon``). Awaiting a receipt returns when its batch committed.

A store whose commit does not wait for the disk (SQLite with ``synchronous=NORMAL``) lets
trio commit a small batch itself (``inline_max``): once records are posted, the pump waits
for trio to go idle (``trio.testing.wait_all_tasks_blocked``: no task runnable, so trio
would only wait for this commit) and, if the thread is idle too (everything handed to it
committed, so commits stay in posting order), writes them on the trio thread and wakes the
waiters directly. That saves the hand-off, the thread's wake-up and the report back through
the wake-up socket (a chain step: 194 against 232 us at load 1). If trio is still busy after
``IDLE_CHANCES`` batch ends, or the batch is large, the thread commits it while trio runs.

The thread seldom gets the GIL from a busy trio (it runs Python between its SQLite calls), so
on an idle machine the boxes handed to it mostly wait until trio goes idle; there trio
commits the boxes the thread has not taken itself (``steal``, up to ``max_batch`` rows),
rather than waking it (about 1 ms on this kind of machine) and waiting for its report.

Most such commits are made before the pump wakes: when the batch that posted the records
ends with no task runnable, the batch-end instrument commits them right there, before trio
polls for I/O (the pump's idle wait keeps that poll at a zero timeout, so the tasks the
commit wakes run in the next batch). That saves the batch in which the woken pump would have
committed (a chain step: 150 against 141 us, medians of 5 alternating runs at load 1). The
receipts' callbacks then run between two scheduling batches, outside any task; an error
there is raised in the pump, as it would have been had the pump committed. The check for a
runnable task reads the length of trio's run queue (``_run_queue``: what
``current_statistics().tasks_runnable`` says, without building the whole record); it is made
only at a batch end with records waiting.

A record whose fence is stale, or whose operation refused it before writing (a missing
schedule, a tick never claimed), is skipped inside the transaction and its receipt raises the
reason; the other records of the batch commit. Any other exception fails the writer: the
transaction is rolled back, the thread ends, and every receipt not yet committed, every later
post and the store's close raise ``StoreError`` with the cause. Nothing is dropped silently.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import queue
import threading
from collections.abc import Callable
from typing import Any

import trio

from ._errors import StoreClosedError, StoreError
from ._receipt import Receipt
from ._run_queue import tasks_runnable
from ._sql import Tx
from ._writer_config import (
    CHECKPOINT_COMMITS,
    CHECKPOINT_ROWS,
    HAND_OFF_AT,
    IDLE_CHANCES,
    InlineCommits,
    Operation,
)
from ._writer_inline import InlineSide
from ._writer_thread import STOP

__all__ = ["Writer"]


def _nothing() -> None:
    """What ``Writer.wake_trio`` runs: the wake-up is the point."""


class _BatchEnd(trio.abc.Instrument):
    """Hands the writer's posted records to its thread as trio's scheduling batch ends."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def before_io_wait(self, timeout: float) -> None:
        writer = self._writer
        try:
            if writer._outbox:
                writer.end_of_batch(timeout)
            if writer._boxes and writer._inline_max and not tasks_runnable():
                writer.steal()
                if timeout > 0 and tasks_runnable():
                    # The commit woke waiters after trio chose how long to wait for I/O (up
                    # to its next deadline, or for ever): cut that wait short.
                    writer.wake_trio()
        except BaseException as exc:  # trio would drop an instrument that raised
            writer._crashed(exc)


class Writer(InlineSide):
    """The writer thread and its queue (internal: the store drives it).

    Args:
        name: the store's location, for the thread's name and errors.
        setup: runs first on the thread: connects, migrates, registers the owner; returns
            the transaction helper for the write connection. An exception fails the open.
        teardown: runs last on the thread, whatever happened (closes the connection).
        begin: the statement opening a write transaction.
        max_batch: at most this many records per transaction.
        inline: how trio commits small batches itself (None: never; only for a store whose
            commit is quick).
        retryable: whether a failed transaction may simply be run again (a deadlock or a
            serialization failure the server resolved by aborting it); such a batch is
            retried whole, up to ``RETRIES`` times, before the writer fails.
    """

    def __init__(
        self,
        *,
        name: str,
        setup: Callable[[], Tx],
        teardown: Callable[[], None],
        begin: str,
        max_batch: int,
        inline: InlineCommits | None = None,
        retryable: Callable[[BaseException], bool] = lambda exc: False,
    ) -> None:
        self._name = name
        self._setup = setup
        self._teardown = teardown
        self._begin = begin
        self._max_batch = max_batch
        self._inline_max = 0 if inline is None else inline.max_records
        self._hand_at = min(max_batch, HAND_OFF_AT)
        self._checkpoint = None if inline is None else inline.checkpoint
        self._begin_now = None if inline is None else inline.begin_now
        self._begin_waiting = self._begin_plain if inline is None else inline.begin_waiting
        self._later: list[Callable[[], None]] | None = None  # a list while settling
        self.committed_rows = 0  # rows committed or refused (a row record counts each)
        self._checkpointed = (0, 0)  # the commits and rows when a checkpoint was last asked
        self._retryable = retryable
        self._queue: queue.SimpleQueue[None] = queue.SimpleQueue()  # the thread's wake-ups
        self._boxes: collections.deque[Any] = collections.deque()  # boxes, then maybe STOP
        self._taken = 0  # the seq of the last record the thread took
        self._checkpoint_due = False
        self._contended = False  # an inline BEGIN found another process's write lock
        self._posted = 0
        self.committed_seq = 0
        self._due: list[tuple[int, int, Callable[[], None]]] = []
        self._dues = 0
        self._ready = trio.Event()
        self._exited = trio.Event()
        self._setup_error: BaseException | None = None
        self._failure: StoreError | None = None
        self._closed = False
        self._token: trio.lowlevel.TrioToken | None = None
        self._outbox: list[Receipt] = []
        self._extra = 0  # rows that joined a record in the outbox (its rows: records + these)
        self._joined = 0  # rows that joined a record so far (posted_rows: these + records)
        self._open_key: object = None  # the newest record in the outbox, if a row record:
        self._open_rows: list[tuple[Any, ...]] = []  # its key, rows and receipt
        self._open_receipt: Receipt | None = None
        self._pumping = False
        self._tx: Tx | None = None  # the write transaction, for inline commits
        self._busy = threading.Lock()  # held by whoever uses the write connection
        self._parked: trio.lowlevel.Task | None = None  # the pump, waiting for a post
        self._idle_wait = False  # the pump waits for trio to go idle
        self._idle_passed = 0  # batch ends since it began to wait
        self._crash: BaseException | None = None  # raised in a batch-end commit, for the pump
        self.batches = 0

    # -- trio side -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the thread and wait until its setup finished; re-raise a setup error."""
        self._token = trio.lowlevel.current_trio_token()
        thread = threading.Thread(target=self._main, name=f"arborist-store {self._name}")
        thread.daemon = True
        thread.start()
        with trio.CancelScope(shield=True):
            await self._ready.wait()
        error = self._setup_error
        if error is not None:
            await self._exited.wait()
            if isinstance(error, StoreError) or not isinstance(error, Exception):
                raise error
            raise StoreError(
                f"cannot open the store at {self._name}: {type(error).__name__}: {error}"
            ) from error

    @property
    def pending(self) -> bool:
        """Whether some posted record has not committed yet."""
        return self._posted > self.committed_seq

    def post(
        self,
        op: Operation,
        args: tuple[Any, ...],
        on_refused: Callable[[BaseException], None] | None = None,
    ) -> Receipt:
        """Queue one record; never blocks. Raises the store's failure or StoreClosedError."""
        self.raise_if_failed()
        if self._closed:
            raise StoreClosedError(f"the store at {self._name} is closed")
        self._posted += 1
        receipt = Receipt(self, self._posted, op, args, on_refused)
        self._open_key = None  # a row posted next starts a record of its own
        outbox = self._outbox
        outbox.append(receipt)
        if not self._pumping or len(outbox) + self._extra >= self._hand_at:  # a full box goes
            self.hand_off()
        elif self._parked is not None:
            self._arm()
        elif len(outbox) == 1:
            # The pump is still waiting for trio to go idle since records before these, which
            # a batch end committed: these get their own ``IDLE_CHANCES`` batch ends.
            self._idle_passed = 0
        return receipt

    def post_row(
        self,
        op: Operation,
        key: object,
        row: tuple[Any, ...],
        on_refused: Callable[[BaseException], None] | None = None,
    ) -> Receipt:
        """Queue one row of the row operation ``op(tx, key, rows)``; never blocks.

        The row joins the newest record waiting in the outbox when that record was posted
        with the same ``key`` (the same object, used with one ``op``: a recorder passes its
        own): that is where a record of its own would have come next, so the order of
        writes is kept, and the rows share that record's receipt (one commit holds them
        all) and its refusal. Otherwise it starts a new record, ``op(tx, key, [row])``.
        Each row counts as one record towards ``HAND_OFF_AT``, ``INLINE_MAX`` and
        ``max_batch``.
        """
        if key is self._open_key:  # cleared as soon as that record is not the newest
            self._open_rows.append(row)
            self._joined += 1
            self._extra += 1
            if len(self._outbox) + self._extra >= self._hand_at:
                self.hand_off()
            return self._open_receipt  # type: ignore[return-value]
        rows_of_record = [row]
        receipt = self.post(op, (key, rows_of_record), on_refused)
        if self._outbox:  # still waiting (not handed over at once): later rows may join it
            self._open_key, self._open_rows, self._open_receipt = key, rows_of_record, receipt
        return receipt

    @property
    def posted_rows(self) -> int:
        """Writes posted so far (each row of a row record counts)."""
        return self._posted + self._joined

    def watch(self, receipt: Receipt) -> None:
        """Settle ``receipt``'s callbacks when its batch commits or the writer fails."""
        self._when_committed(receipt._seq, receipt._settle)

    def _when_committed(self, seq: int, fn: Callable[[], None]) -> None:
        """Call ``fn()`` on the trio thread once record ``seq`` commits or the writer fails.

        One heap by seq serves receipts' callbacks and waiting tasks alike: a commit calls
        only what its own records were waited for by, in seq order (registration order
        within a seq).
        """
        self._dues += 1
        heapq.heappush(self._due, (seq, self._dues, fn))

    def _release_due(self) -> None:
        """Call what waits on the records committed (everything once the writer failed).

        Then what those calls asked to run once they all had (``after_release``).
        """
        due, failed = self._due, self._failure is not None
        later, self._later = self._later, []
        try:
            while due and (failed or due[0][0] <= self.committed_seq):
                heapq.heappop(due)[2]()
        finally:
            settled, self._later = self._later, later
            for fn in settled:
                fn()

    def after_release(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once the writes being settled now are all settled (at once if none is).

        A receipt's callback uses it to act once per commit rather than once per write.
        """
        if self._later is None:
            fn()
        else:
            self._later.append(fn)

    def hand_off(self) -> None:
        """Give the thread every record posted and not yet handed over (one queue put)."""
        if self._outbox:
            box, self._outbox = self._outbox, []
            self._boxes.append((box, len(box) + self._extra))
            self._queue.put(None)
            self._extra, self._open_key = 0, None

    def wake_trio(self) -> None:
        """Make trio's coming wait for I/O return at once (a write to its wake-up socket)."""
        assert self._token is not None
        self._token.run_sync_soon(_nothing)

    def _queue_stop(self) -> None:
        self._boxes.append(STOP)
        self._queue.put(None)

    def _arm(self) -> None:
        """Wake the parked pump: records wait for trio to go idle (inline stores only)."""
        task, self._parked = self._parked, None
        if task is not None:
            self._idle_wait, self._idle_passed = True, 0  # the batch ending is its chance
            trio.lowlevel.reschedule(task)

    def end_of_batch(self, timeout: float) -> None:
        """A scheduling batch ended with records posted: commit them here, or hand them over.

        Here when the batch is small, the pump waits for trio to go idle and no task is
        runnable: trio is about to poll for I/O with a zero ``timeout`` (the pump's idle wait)
        and would next wake the pump to commit them. Otherwise the batch gets
        ``IDLE_CHANCES`` batch ends, after which trio either is idle (the pump commits) or
        is not (the thread commits).
        """
        waits = self._idle_wait and len(self._outbox) + self._extra <= self._inline_max
        if waits and timeout == 0 and not tasks_runnable():
            self._commit_here()
        elif waits and self._idle_passed < IDLE_CHANCES:
            self._idle_passed += 1
        else:
            self.hand_off()

    def _crashed(self, exc: BaseException) -> None:
        """A batch-end commit raised (a receipt's callback, say): the pump raises it.

        It is woken if parked, and raises it after its idle wait; a store that never commits
        inline (its pump only sleeps) fails the writer with it instead.
        """
        if self._inline_max:
            self._crash = exc
            self._arm()
        else:
            self._on_failure(exc)

    async def pump(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Hand posted records to the thread as each trio scheduling batch ends, until cancelled.

        On a store with ``inline_max``, the pump also waits for trio to go idle once records
        are posted (``wait_all_tasks_blocked``: nothing else runnable, so trio would only wait
        for this commit) and commits them there itself; if trio is still busy when the next
        batch ends, they go to the thread, which commits while trio runs. ``open_store`` runs
        it in its nursery; without it every post is handed over at once.
        """
        instrument = _BatchEnd(self)
        trio.lowlevel.add_instrument(instrument)
        self._pumping = True
        try:
            task_status.started()  # the pump parks below before its opener goes on
            del task_status  # it keeps trio's start() nursery alive (see Cell.hand_over)
            if not self._inline_max:
                await trio.sleep_forever()
            # trio's public home of this is trio.testing, whose import also loads pytest where
            # it is installed: import it only for a store that commits inline.
            from trio.testing import wait_all_tasks_blocked

            committed = False
            while True:
                if not self._outbox and not committed:
                    await self._park()
                self._idle_wait, self._idle_passed = True, 0
                try:
                    await wait_all_tasks_blocked()
                finally:
                    self._idle_wait = False
                crash, self._crash = self._crash, None
                if crash is not None:
                    raise crash
                # After a commit, wait for idle again at once (the waiters it woke tend to
                # post the next records: a chain's next step) instead of parking, which would
                # cost a wake-up per post; an idle trio with nothing posted parks the pump.
                committed = bool(self._outbox)
                if committed:
                    self._commit_here()
        finally:
            self._pumping = False
            with contextlib.suppress(KeyError):  # trio drops an instrument that raised
                trio.lowlevel.remove_instrument(instrument)
            self.hand_off()

    async def _park(self) -> None:
        self._parked = trio.lowlevel.current_task()

        def abort(_: object) -> trio.lowlevel.Abort:
            self._parked = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    async def flush(self) -> None:
        """Wait until everything posted so far has committed."""
        await self.committed(self._posted)

    async def committed(self, seq: int) -> None:
        """Return once record ``seq`` has committed (handed over as the batch ends).

        Only its own commit (or the writer's failure) wakes it: waiters sit in a heap by seq,
        so N tasks awaiting N batches cost N wake-ups, not one per waiter per batch.

        Raises:
            StoreError: the writer failed before ``seq`` committed.
        """
        while self.committed_seq < seq:
            self.raise_if_failed()
            event = trio.Event()
            self._when_committed(seq, event.set)
            await event.wait()

    def raise_if_failed(self) -> None:
        """Raise the writer's failure, if it failed."""
        failure = self._failure
        if failure is not None:
            raise failure.with_traceback(None)

    def fail(self, error: StoreError) -> None:
        """Fail the writer from the trio side (lease lost): later posts raise ``error``."""
        if self._failure is None:
            self._failure = error
        self._open_key = None  # later rows go through post, which raises
        self._release_due()

    @property
    def failure(self) -> StoreError | None:
        """The sticky failure, or None."""
        return self._failure

    async def stop(self) -> None:
        """Let the thread commit what is queued, then end it; wait (shielded) until it has."""
        if not self._closed:
            self._closed = True
            self.hand_off()
            self._queue_stop()
        with trio.CancelScope(shield=True):
            await self._exited.wait()

    def _on_batch(self, seq: int, refused: list[Receipt], rows: int) -> None:
        self.committed_seq = seq
        self._contended = False
        done = self.committed_rows = self.committed_rows + rows
        self.batches += 1
        if self._checkpoint is not None and (
            self.batches - self._checkpointed[0] >= CHECKPOINT_COMMITS
            or done - self._checkpointed[1] >= CHECKPOINT_ROWS
        ):
            self._checkpointed = (self.batches, done)
            self._checkpoint_due = True
            self._queue.put(None)
        for receipt in refused:
            if receipt._on_refused is not None and receipt._error is not None:
                receipt._on_refused(receipt._error)
        if self._due:
            self._release_due()

    def _on_failure(self, exc: BaseException) -> None:
        if self._failure is None:
            error = StoreError(
                f"the store at {self._name} failed ({type(exc).__name__}: {exc}); "
                "writes not committed before it are lost to this process and it accepts "
                "no more: close it and open the store again"
            )
            error.__cause__ = exc
            self._failure = error
        self._open_key = None
        self._release_due()

    def _on_ready(self, error: BaseException | None) -> None:
        self._setup_error = error
        self._ready.set()

    def _on_exit(self) -> None:
        self._closed = True
        self._open_key = None
        self._exited.set()

"""The coordinator's journal writer: what a durable run records, and what waits for it.

A coordinator gets a ``Journal`` only when its runtime has a store; without one it holds None
and journals nothing (the in-memory path pays one ``is None`` test per step event). Every
write is posted to the store's writer thread and returns at once; what must not happen before
a write is durable is registered as a *continuation* and run by the coordinator, inside its
own message loop, once the write has committed:

1. A step's ``started`` row is never waited for, except for a step marked
   ``on_resume="fail"`` or ``"halt"``: it is called only once its start is durable (so a
   crash during it is seen as an interruption). For the others (``"retry"``, without a
   ``when`` guard) the row is *deferred*: posted with the step's outcome when it finishes
   within ``START_DELAY`` seconds (one commit per step instead of two; a result carries the
   start time in its own row, one write instead of two), else when that delay runs out. A
   crash before it is written loses only the news that the step had started: the step runs
   again on resume, as a cut one would, under the same try number.
2. A completed step's result, a guard's decision to skip, and a failure that a step takes as
   an ``outcome()`` are durable before any dependent is dispatched (the output-commit rule:
   a re-run after a crash can never feed a dependent a value other than the one it acted
   on). Everything finishing in one scheduling batch shares one commit (group commit); the
   coordinator is woken once per batch (``JournalCommitted``).
3. Failures (with the wall-clock time of the retry), ``Again`` (with when it runs again),
   halts, cancellations and cascaded skips are posted and not waited for: a crash before they
   commit only makes the recovered run redo a decision it can redo.
4. Each undo-log entry is recorded when its step completes; the rollback waits until each
   undo's outcome is durable before the next undo starts, so no undo that completed and was
   recorded runs again. The run's status (``rolling_back``, then ``succeeded``/``failed``/
   ``cancelled``/``halted`` with the result or the error) is durable before the run's handle
   is settled.

Journal rows count *tries*: every dispatch of a step is a new try (retries, ``Again`` and
re-runs after a crash alike), while the attempt a step sees (``ctx.attempt``) counts only
retries, as in memory. A write that fails (the store failed, or another owner fenced this
one out) raises in the coordinator, which then ends as crashed without writing anything
more: the run stays unfinished in the store, for the next owner to recover.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from arborist.actors import ActorDeadError

from ..store import CommitQueue, EncodeError, RunStatus, UndoStatus
from ._durable_errors import StepInterruptedError
from ._errors import WorkflowCancelledError, WorkflowHaltedError

if TYPE_CHECKING:
    from ..store import Receipt, RunRecorder
    from ..workflow._step import Step
    from ._saga import UndoEntry
    from ._step_runner import StepExit

__all__ = [
    "CANCELLING",
    "START_DELAY",
    "Journal",
    "JournalCommitted",
    "never_retried",
    "skip_reason",
]

CANCELLING = "cancelled"
"""The message of a ``rolling_back`` run that is being cancelled (not failing)."""

START_DELAY = 0.02
"""Seconds a deferred ``started`` row may wait for its step's outcome before it is posted."""


def skip_reason(because: str | None) -> str:
    """The reason journaled for a skip: ``"guard"``, or ``"needs STEP"``.

    It is the inverse of ``StepSkippedError(name, because)`` (``_replay`` reads it back).
    """
    return "guard" if because is None else f"needs {because}"


def never_retried(message: StepExit) -> bool:
    """Whether a failed attempt is final whatever its ``Retry`` says.

    A result the store refused (``EncodeError``: too large, not encodable) would be refused
    again, and an interrupted ``on_resume="fail"`` step is retried only if its
    ``@compensate`` asks for it.
    """
    error = message.error
    return isinstance(error, EncodeError) or (
        isinstance(error, StepInterruptedError) and message.decision is None
    )


class JournalCommitted:
    """Coordinator message: writes with continuations have committed (``Journal.drain``).

    With ``starts``, the deferred ``started`` rows are due as well.
    """

    __slots__ = ("starts",)

    def __init__(self, *, starts: bool = False) -> None:
        self.starts = starts


_COMMITTED = JournalCommitted()
_STARTS_DUE = JournalCommitted(starts=True)


def _rollback_order(entry: UndoEntry) -> Iterator[UndoEntry]:
    """``entry`` and its children's entries in the order ``rollback`` undoes them."""
    yield entry
    for child in reversed(entry.children):
        yield from _rollback_order(child)


class Journal:
    """Writes one run's journal for its coordinator (see the module docstring).

    Attributes:
        recorder: the store's writer for this run (its fence).
        pending: continuations registered and not run yet; the coordinator does not end
            (nor roll back) while any is pending.
    """

    __slots__ = (
        "_armed",
        "_commits",
        "_cut",
        "_deferred",
        "_elements",
        "_key_tries",
        "_last_undo",
        "_lost",
        "_next_seq",
        "_ready",
        "_seqs",
        "_tell",
        "_timer",
        "_timer_handle",
        "_tries",
        "_wall",
        "pending",
        "recorder",
    )

    def __init__(self, recorder: RunRecorder, wall: Callable[[], float]) -> None:
        self.recorder = recorder
        self._wall = wall
        self._tries: dict[str, int] = {}
        self._key_tries: dict[str, int] = {}
        self._elements: dict[str, dict[int, Any]] = {}
        self._seqs: dict[int, int] = {}
        self._next_seq = 0
        self._ready: list[Callable[[], None] | None] = []
        self._commits: CommitQueue[Callable[[], None]] = CommitQueue(self._settled)
        self._tell: Callable[[Any], None] | None = None
        self._lost: BaseException | None = None
        self._last_undo: Receipt | None = None
        self._deferred: dict[str, float] = {}
        self._cut: dict[str, int] = {}
        self._armed = False
        self._timer: Callable[[float, Any], Any] | None = None
        self._timer_handle: Any = None
        self.pending = 0

    def __repr__(self) -> str:
        return f"<Journal run {self.recorder.run_id} {self.pending} pending>"

    @property
    def run_id(self) -> str:
        """The run this journal writes."""
        return self.recorder.run_id

    def bind(self, tell: Callable[[Any], None], send_after: Callable[[float, Any], Any]) -> None:
        """How to wake the coordinator: ``tell`` for continuations, ``send_after`` for starts.

        ``tell(JournalCommitted())`` once continuations are due, ``send_after(delay,
        JournalCommitted(starts=True))`` when deferred ``started`` rows are.
        """
        self._tell = tell
        self._timer = send_after

    def restore(
        self,
        *,
        tries: dict[str, int],
        key_tries: dict[str, int],
        elements: dict[str, dict[int, Any]],
        next_seq: int,
    ) -> None:
        """Continue a recovered run's journal: its try counters, element results, undo seqs."""
        self._tries.update(tries)
        self._key_tries.update(key_tries)
        self._elements.update(elements)
        self._next_seq = next_seq

    # -- continuations -------------------------------------------------------------------------

    def after(self, receipt: Receipt, then: Callable[[], None]) -> None:
        """Run ``then()`` in the coordinator once ``receipt``'s write has committed."""
        self.pending += 1
        self._commits.add(receipt, then)

    def _settled(self, released: list[tuple[Callable[[], None], BaseException | None]]) -> None:
        """The continuations whose writes settled, oldest first: ready, and one wake-up."""
        ready = self._ready
        first = not ready
        for then, error in released:
            if error is not None and self._lost is None:
                self._lost = error  # the store failed or fenced this owner out
            ready.append(then)
        if first and self._tell is not None:
            self._commits.after_release(self._wake)  # one wake-up for the whole commit

    def _wake(self) -> None:
        if self._tell is not None:
            try:
                self._tell(_COMMITTED)
            except ActorDeadError:
                pass  # the run ended meanwhile (crashed, suspended): nothing waits

    def drain(self, message: JournalCommitted) -> None:
        """Run the continuations whose writes committed, in commit order.

        With ``message.starts``, post the deferred ``started`` rows first.

        Raises:
            StoreError, FencedOutError: a write failed; the coordinator crashes with it (the
                run is left unfinished in the store) and runs no continuation.
        """
        if message.starts:
            self._armed = False
            for name in list(self._deferred):
                self._post_start(name)
        ready, self._ready = self._ready, []
        self.pending -= len(ready)
        if self._lost is not None:
            raise self._lost.with_traceback(None)
        for then in ready:
            if then is not None:
                then()

    # -- steps -------------------------------------------------------------------------------

    def try_of(self, name: str) -> int:
        """The journal try of ``name``'s current (or last) dispatch; 0 before the first."""
        return self._tries.get(name, 0)

    def key_try(self, name: str) -> int:
        """The try whose child runs and map elements the current try of ``name`` continues."""
        return self._key_tries.get(name) or self._tries.get(name, 0)

    def started(self, step: Step, launch: Callable[[], None]) -> bool:
        """Record a new try of ``step``; return True when ``launch`` must wait for the commit.

        Steps marked ``on_resume="fail"`` or ``"halt"`` are launched once their start is
        durable (``launch`` then runs as a continuation); other steps at once (False).
        """
        name = step.name
        attempt = self._tries.get(name, 0) + 1
        self._tries[name] = attempt
        if step.on_resume == "retry" and step.when is None:
            self._deferred[name] = self._wall()
            if not self._armed and self._timer is not None:
                self._armed = True
                self._timer_handle = self._timer(START_DELAY, _STARTS_DUE)
            return False
        if self._cut:
            self._post_start(name)  # a deferred interrupted mark goes first
        receipt = self.recorder.step_started(name, attempt)
        if step.on_resume == "retry":
            return False
        self.after(receipt, launch)
        return True

    def _post_cut(self, name: str) -> None:
        """Post ``name``'s deferred interrupted mark of an earlier try, if one waits."""
        cut = self._cut.pop(name, None) if self._cut else None
        if cut is not None:
            self.recorder.step_interrupted(name, cut)

    def _post_start(self, name: str) -> None:
        """Post ``name``'s deferred ``started`` row (its current try, at dispatch time)."""
        self._post_cut(name)
        when = self._deferred.pop(name, None)
        if when is not None:
            at = datetime.fromtimestamp(when, UTC)
            self.recorder.step_started(name, self._tries[name], at=at)

    def ok(self, name: str, value: Any) -> Receipt:
        """Record the current try's result (raises ``EncodeError`` at the call if refused).

        A deferred start goes in the same row (one write: the row ``started`` then ``ok``
        would leave); a deferred interrupted mark of an earlier try goes first.
        """
        began = self._deferred.get(name)
        if began is not None:
            self._post_cut(name)
        receipt = self.recorder.ok_row(name, self._tries[name], value, began)
        if began is not None:  # refused (EncodeError): the start goes with the failure
            del self._deferred[name]
        self._key_tries.pop(name, None)
        return receipt

    def failed(self, name: str, error: BaseException, retry_in: float | None) -> Receipt:
        """Record the current try's failure; ``retry_in`` seconds until the retry, if any."""
        retry_at = None if retry_in is None else self._at(retry_in)
        self._key_tries.pop(name, None)
        self._post_start(name)
        return self.recorder.step_failed(name, self._tries[name], error, retry_at=retry_at)

    def failed_at_dispatch(self, name: str, error: BaseException) -> Receipt:
        """Record a failure before any call (a guard raised, ``max_again`` exceeded)."""
        attempt = self._tries.get(name, 0) + 1
        self._tries[name] = attempt
        return self.recorder.step_failed(name, attempt, error)

    def again(self, name: str, after: float) -> None:
        """Record that the current try returned ``Again(after)``."""
        self._post_start(name)
        self.recorder.step_again(name, self._tries[name], self._at(after))
        self._key_tries.pop(name, None)

    def halted(self, name: str, reason: str) -> None:
        """Record that the current try halted the run."""
        self._post_start(name)
        self.recorder.step_halted(name, self._tries.get(name, 0) or 1, reason)

    def cancelled(self, name: str) -> None:
        """Record that the current try was cancelled by the engine."""
        self._post_start(name)
        if name in self._tries:
            self.recorder.step_cancelled(name, self._tries[name])

    def interrupted(self, name: str, *, later: bool = False) -> None:
        """Mark the current try (found started on recovery) as interrupted.

        With ``later``, the mark goes out with the step's next ``started`` row (the step runs
        again): a recovery of many runs then writes nothing until they run.
        """
        if later:
            self._cut[name] = self._tries[name]
        else:
            self.recorder.step_interrupted(name, self._tries[name])

    def skipped(self, name: str, because: str | None) -> Receipt:
        """Record that ``name`` will not run (its guard, or ``because`` did not succeed)."""
        return self.recorder.step_skipped(name, skip_reason(because))

    def _at(self, delay: float) -> datetime:
        return datetime.fromtimestamp(self._wall() + max(delay, 0.0), UTC)

    # -- map elements ----------------------------------------------------------------------

    def elements_for(self, name: str) -> dict[int, Any]:
        """Results of ``name``'s elements journaled by the tries its current try continues."""
        return self._elements.pop(name, {})

    def element_ok(self, name: str, index: int, value: Any) -> None:
        """Record one map element's result (raises ``EncodeError`` at the call if refused)."""
        self._post_start(name)  # the map step's row comes before its elements' rows
        self.recorder.element_ok(name, index, value, attempt=self._tries.get(name, 0) or 1)

    # -- the undo log ----------------------------------------------------------------------

    def undo_entry(self, entry: UndoEntry) -> None:
        """Record an entry of the run's undo log (and its child runs' entries, flattened)."""
        recorder = self.recorder
        own = recorder.run_id
        for part in reversed(list(_rollback_order(entry))):
            if part.undo is None:
                continue
            seq = self._next_seq
            self._next_seq = seq + 1
            self._seqs[id(part)] = seq
            child = part.run_id if part.run_id not in (None, own) else None
            recorder.undo_pending(seq, part.step, child_run_id=child)

    def adopt_undo(self, entries: list[UndoEntry], seqs: list[int]) -> None:
        """Know the seqs of a recovered run's pending undo entries."""
        for entry, seq in zip(entries, seqs, strict=True):
            self._seqs[id(entry)] = seq

    def undo_done(self, entry: UndoEntry, attempts: int, error: BaseException | None) -> None:
        """Record an undo's outcome (``undone``, or ``failed`` with ``error``)."""
        seq = self._seqs.pop(id(entry), None)
        if seq is None:
            return
        status = UndoStatus.UNDONE if error is None else UndoStatus.FAILED
        self._last_undo = self.recorder.undo_finished(
            seq, entry.step, status, attempts=attempts, error=error
        )

    async def settle_undo(self) -> None:
        """Wait until the last undo's outcome is durable."""
        receipt, self._last_undo = self._last_undo, None
        if receipt is not None:
            await receipt

    # -- the run -----------------------------------------------------------------------------

    def stopping(self, *, failure: str | None) -> None:
        """Record that the run stops and rolls back: failing at step ``failure``, or cancelled."""
        message = CANCELLING if failure is None else f"failing: step {failure!r} failed"
        self.recorder.set_status(RunStatus.ROLLING_BACK, message=message)

    def finish(self, value: Any, error: BaseException | None, then: Callable[[], None]) -> None:
        """Record how the run ended (its result or error); run ``then`` once durable."""
        if self._timer_handle is not None:  # no start is deferred any more: nothing is due
            self._timer_handle.cancel()
            self._armed = False
        recorder = self.recorder
        if error is None:
            try:
                receipt = recorder.set_status(RunStatus.SUCCEEDED, result=value)
            except EncodeError as exc:
                receipt = recorder.set_status(
                    RunStatus.SUCCEEDED, message=f"its result was not stored: {exc}"
                )
        elif isinstance(error, WorkflowHaltedError):
            message = f"halted by step {error.step!r}: {error.reason or 'no reason given'}"
            receipt = recorder.set_status(RunStatus.HALTED, message=message)
        elif isinstance(error, WorkflowCancelledError):
            receipt = recorder.set_status(RunStatus.CANCELLED, error=error)
        else:
            receipt = recorder.set_status(RunStatus.FAILED, error=error)
        self.after(receipt, then)

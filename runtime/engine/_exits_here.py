"""Step exits handled in the step's own task while the coordinator is idle, and resolution.

Resolution: a resolved step's dependents count down (``RunGraph.resolve``); those that can
no longer run are recorded and reported as skipped.

A step's exit normally travels through the coordinator's mailbox, which costs a wake-up of
the coordinator: a second trio scheduler batch per step. When the coordinator is parked on its
empty mailbox (nothing queued, not handling a message, not stopping, not cancelled: the
kernel clears the parked receiver on each of those), handling the exit at once, in the
coordinator's own context, is what the coordinator would do next anyway: its state is only
touched between messages, and trio runs one task at a time. A handler error still crashes the
coordinator (``HandlerCrashed``), and context variables a step set do not leak: the handling
runs in the coordinator's context, so the steps it starts copy that one, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from ..store import EncodeError
from ..workflow._control import Again, Halt
from ._events import StepSkipped
from ._messages import HandlerCrashed
from ._run_end import RunEnding

if TYPE_CHECKING:
    from ..store import Receipt
    from ..workflow._step import Step
    from ._journal import JournalCommitted
    from ._step_runner import StepExit

__all__ = ["ExitsHere"]


class _Resolves:
    """Steps whose results share one write (one receipt): resolved together once it commits.

    A wide fan-out's results finishing together share a few records (``Writer.post_row``);
    one continuation per record, not one per step, waits for each commit.
    """

    __slots__ = ("names", "owner", "receipt")

    def __init__(self, owner: ExitsHere, receipt: Receipt) -> None:
        self.owner = owner
        self.receipt = receipt
        self.names: list[str] = []

    def __call__(self) -> None:
        owner = self.owner
        if owner._resolves is self:
            owner._resolves = None  # committed: a later result starts a new group
        for name in self.names:
            owner._resolve(name, ok=True)


class ExitsHere(RunEnding):
    """The coordinator's fast path for step exits (its state is the coordinator's)."""

    _mailbox: Any  # the coordinator's own mailbox: its parked receiver tells it is idle
    _task: trio.lowlevel.Task
    _now: Callable[[], float]
    _step_of: dict[str, Step]
    _resolves: _Resolves | None = None  # the newest group of results waiting for one commit

    if TYPE_CHECKING:

        def _on_step_exit(self, message: StepExit) -> None: ...
        def _dispatch(self) -> None: ...
        def _maybe_finish(self) -> None: ...

    def _handle_exit_here(self, message: StepExit) -> bool:
        """Handle a step's exit in the step's own task, if the coordinator is idle.

        A step's exit normally travels through the coordinator's mailbox, which costs a
        wake-up of the coordinator (a second trio scheduler batch per step). When the
        coordinator is parked on its empty mailbox (nothing queued, not handling a message,
        not stopping, not cancelled: the kernel clears the parked receiver on each of those),
        handling the exit now, in the coordinator's own context, is what the coordinator would
        do next anyway: its state is only touched between messages, and trio runs one task at
        a time. A handler error still crashes the coordinator (``HandlerCrashed``).

        Returns:
            Whether the exit was handled; if not, the caller tells it to the mailbox.
        """
        return self._run_here(self._exit_handled, message)

    def _run_here(self, fn: Callable[..., None], *args: Any) -> bool:
        """Run ``fn(*args)`` in the coordinator's context if it is parked on its empty mailbox.

        Returns:
            Whether it ran (a handler error is told to the coordinator as ``HandlerCrashed``).
        """
        if self._mailbox._receiver is not self._task:
            return False
        try:
            self._task.context.run(fn, *args)
        except Exception as exc:
            self.ref.tell(HandlerCrashed(exc))
        return True

    def _exit_handled(self, message: StepExit) -> None:
        self._on_step_exit(message)
        if self._graph.ready:
            self._dispatch()
        if not self._running:  # _maybe_finish returns at once while a step is in flight
            self._maybe_finish()

    def _completed_here(self, name: str, attempt: int, start: float, value: Any) -> bool:
        """``_handle_exit_here`` for an attempt that returned ``value``, in the common case.

        The common case: the coordinator is idle; a plain value (not ``Again``/``Halt``); no
        context (so no child runs), no subscriber, no undo; not stopping. What is left of
        ``_on_step_exit`` + ``_on_step_done`` is the record, the completion and the
        dependents' count-down, done here without building a ``StepExit``; in a durable run
        the result is journaled and the count-down waits for its commit.

        Returns:
            Whether it was handled; if not, the caller reports a ``StepExit`` as usual.
        """
        if (
            self._mailbox._receiver is not self._task
            or self._events._handlers  # the bus's handlers, without EventBus.__bool__'s call
            or self._stopping
            or type(value) is Again
            or type(value) is Halt
            or self._step_of[name]._undo is not None  # .undo_fn, without the property
        ):
            return False
        journal = self._journal
        context = self._task.context
        try:
            if journal is None:
                context.run(self._complete, name, attempt, start, value)
            else:  # a durable run: the result is journaled, dependents wait for its commit
                try:
                    receipt = context.run(journal.ok, name, value)
                except EncodeError:
                    return False  # the usual exit fails the step with the refusal (raised again)
                context.run(self._complete_journaled, receipt, name, attempt, start, value)
        except Exception as exc:
            self.ref.tell(HandlerCrashed(exc))
        return True

    def _complete_journaled(
        self, receipt: Receipt, name: str, attempt: int, start: float, value: Any
    ) -> None:
        """``_complete`` of a durable run: dependents are released once ``receipt`` commits."""
        self._running.pop(name, None)
        self._handle._pending += (name, attempt, start, self._now(), "ok")  # handle._note
        self._kwargs.pop(name, None)
        self._ledger.completed.append(name)
        graph = self._graph
        graph.completed(name, value)
        group = self._resolves
        if group is None or group.receipt is not receipt:
            group = self._resolves = _Resolves(self, receipt)
            self._journal.after(receipt, group)  # type: ignore[union-attr]
        group.names.append(name)
        if graph.ready:  # steps held back by a concurrency limit: a slot is free now
            self._dispatch()
        if not self._running:
            self._maybe_finish()

    def _complete(self, name: str, attempt: int, start: float, value: Any) -> None:
        self._running.pop(name, None)
        self._handle._pending += (name, attempt, start, self._now(), "ok")  # handle._note
        self._kwargs.pop(name, None)
        self._ledger.completed.append(name)
        graph = self._graph
        for dependent, because in graph.complete(name, value):
            self._skipped(dependent, because)
        if graph.ready:
            self._dispatch()
        if not self._running:
            self._maybe_finish()

    def _committed_here(self, message: JournalCommitted) -> None:
        """The journal's wake-up (its writes committed): drained here if the coordinator is idle.

        What ``_handle_exit_here`` does for a step's exit, for the continuations of a durable
        run (a step's dependents, released once its result is durable): the writer settles
        them in its own task, and the coordinator would drain them next anyway, so a parked
        coordinator drains them at once instead of being woken through its mailbox.
        """
        if not self._run_here(self._drained_here, message):
            self.ref.tell(message)

    def _drained_here(self, message: JournalCommitted) -> None:
        self._journal.drain(message)  # type: ignore[union-attr]
        self._dispatch()
        self._maybe_finish()

    # -- resolution and skips ----------------------------------------------------------------

    def _resolve(self, name: str, *, ok: bool) -> None:
        """``name`` is resolved: its dependents count down; record those that are skipped."""
        if self._stopping:
            return
        for dependent, because in self._graph.resolve(name, ok=ok):
            self._skipped(dependent, because)

    def _skipped(self, name: str, because: str | None) -> Receipt | None:
        """Record and report that ``name`` was skipped (the graph has resolved it).

        Returns:
            The journal's receipt for the skip (a durable run), else None.
        """
        self._ledger.skipped.append(name)
        now = trio.current_time()
        self._handle._note(name, 0, now, now, "skipped")
        if self._events:
            self._events.emit(StepSkipped(self._run_id, self._wf, name, now, because))
        return None if self._journal is None else self._journal.skipped(name, because)

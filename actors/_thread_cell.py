"""ThreadCell: the trio side of a thread actor, and the jobs it hands to its OS thread.

How a thread actor runs (the trio side is an ordinary cell, so refs, names, monitors, links,
timers and supervisors treat it like any actor):

1. At start a ``pykka.ThreadingActor`` (the *runner*) starts the actor's thread; every handler
   of this incarnation runs on that one thread.
2. Whoever puts a message in the mailbox of an idle actor (the sender's ``tell`` or ``ask``,
   a timer, a monitor) hands it to the thread at once, with everything else queued (up to the
   next stop marker, at most ``_MAX_BATCH``; one at a time for a bounded mailbox, so that its
   bound still holds), as one job (a ``Batch``): no trio task runs between an ask and its
   handler. While the thread works, new messages wait in the mailbox; when it reports back
   through the system's trio token (``run_sync_soon``), the report hands over the next batch.
   A burst of tells costs two cross-thread wake-ups in all, not two per message. The cell's
   trio task stays parked through all this; it wakes only to act on a stop, a crash or a kill.
   An ask handed over while nothing else in trio is runnable may wait on the trio thread for
   a quick reply (``ThreadActor.reply_wait``, ``Batch.settle``): the asker makes its
   checkpoint while the thread handles the message, then blocks on a lock that the thread
   releases instead of reporting through the token, and takes the reply at once.
3. The thread handles the batch in mailbox order. Before each message it checks that the
   batch is still wanted (no stop requested, not killed); an ask's reply is sent to trio as
   soon as its handler returns. The first exception ends the batch and the actor with
   ``Crashed(exc)`` as any actor ("let it crash", unlike pykka, which returns the error to the
   asker and keeps going); the messages after it go back to the mailbox, unhandled.
4. On exit the runner is asked to stop and its thread ends after the job in hand.

A blocking handler cannot be preempted: ``kill()`` (or a shutdown timeout) marks the actor
``Killed`` at once on the trio side, pending asks fail, and the thread finishes its handler in
the background; whatever it returns or raises then is discarded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import outcome
import pykka
import trio
from trio.lowlevel import Abort, Task, current_task, reschedule, wait_task_rescheduled

from ._cell import Cell
from ._envelopes import Call, MethodCall, StopRequest
from ._escapes import find_interrupt
from ._logging import get_logger, log_context
from ._mailbox import Mailbox, NotifyingMailbox
from ._reasons import Crashed, ExitReason, Normal
from ._run_state import idle_seconds, runnable_now
from ._thread_jobs import Batch, Job, Runner

__all__ = ["ThreadCell", "ThreadMailbox"]

logger = get_logger("arborist.actors")

T = TypeVar("T")

# The most queued messages handed to the thread in one job. Taking them off the mailbox is
# trio-side work, so a cap keeps that step short; the thread's wake-ups are paid once per batch.
_MAX_BATCH = 1024

# After a wait for a quick reply ran out (see ``ThreadActor.reply_wait``), the next batches go
# without one: 2, then 4, ... after consecutive misses, at most this many.
_MAX_WAIT_SKIPS = 1024


class ThreadMailbox(NotifyingMailbox):
    """A thread actor's mailbox: each put or wake-up lets its cell hand work to the thread."""

    __slots__ = ("cell",)

    cell: ThreadCell

    def put_nowait(self, item: Any) -> None:
        # A burst of tells while the thread works (W1): the put and pump's first check inline.
        Mailbox.put_nowait(self, item)
        cell = self.cell
        if cell.loop_task is not None and cell.batch is None:
            cell.pump()

    def _notify(self) -> None:
        self.cell.pump()


class ThreadCell(Cell):
    """A cell whose handlers run on the runner's thread. Not public."""

    __slots__ = (
        "asking",
        "batch",
        "batch_lock",
        "loop_task",
        "quick",
        "reply_wait",
        "runner",
        "thread_ident",
        "trio_thread_ident",
        "wait_misses",
        "wait_skips",
    )

    mailbox: ThreadMailbox

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mailbox.cell = self
        self.runner: pykka.ActorRef[Runner] | None = None
        self.thread_ident: int | None = None
        self.trio_thread_ident = threading.get_ident()
        self.batch_lock = threading.Lock()
        self.batch: Batch | None = None  # the batch the thread has, if any
        self.loop_task: Task | None = None  # the cell's task while it is parked in its loop
        self.asking: Call | None = None  # the ask being put by ``put_ask`` (see there)
        self.quick: Batch | None = None  # its batch, when its asker waits for the reply
        self.reply_wait: float = getattr(type(self.actor), "reply_wait", 0.0)
        self.wait_misses = 0  # consecutive waits for a reply that ran out
        self.wait_skips = 0  # batches to hand over without waiting

    async def on_thread(self, fn: Callable[..., Any], *args: Any) -> outcome.Outcome[Any]:
        """Run ``fn(*args)`` on the actor's thread; return its outcome (never raises it)."""
        runner = self.runner
        if runner is None:
            return outcome.Error(RuntimeError(f"the thread of {self.ref!r} has stopped"))
        job = Job(fn, args, self.system.token)
        runner.tell(job)
        return await job.wait()

    async def _lifecycle(self) -> ExitReason:
        runner = Runner.start(self, f"{type(self.actor).__name__}#{self.ref.id}")
        self.runner = runner
        started = await self.on_thread(self.actor.on_start)
        if type(started) is outcome.Error:
            self.start_error = self._thread_failure(started.error)
            return Crashed(self.start_error)
        self.hand_over()
        reason = await self._thread_loop()
        return await self._stop_hooks(reason)

    # -- handing messages to the thread (all on the trio thread) -------------------------------

    def pump(self) -> None:
        """Hand what is queued to the thread now, if the actor is idle (see the module docs).

        Called after every put, wake-up and finished batch. Does nothing while the thread has
        a batch or while the cell's task is not parked in its loop (starting, stopping, or
        about to run: it looks at the mailbox itself). A stop, requested or queued, wakes the
        cell's task instead.
        """
        if self.loop_task is None or self.batch is not None:
            return
        queue = self.mailbox._queue
        if self.stop_reason is not None or (queue and type(queue[0]) is StopRequest):
            self.wake_loop(None)
        elif queue:
            self._hand_over()

    def _hand_over(self) -> None:
        """Take the queued messages (up to a stop marker) and give them to the thread as a job."""
        mailbox = self.mailbox
        queue = mailbox._queue
        space = mailbox._space
        # A bounded mailbox hands over one message at a time: taking more off the queue would
        # make room for senders before those messages are handled, loosening the bound.
        limit = 1 if space is not None else _MAX_BATCH
        items = [queue.popleft()]
        while queue and len(items) < limit and type(queue[0]) is not StopRequest:
            items.append(queue.popleft())
        if space is not None and space:
            space.unpark()
        batch = self.batch = Batch(self, items)
        wait = self._reply_wait(items[-1])
        if wait:
            gate = batch.gate = threading.Lock()
            gate.acquire()
        cast("pykka.ActorRef[Runner]", self.runner).tell(batch)
        if wait:
            if items[-1] is self.asking:
                self.quick = batch  # its asker checkpoints first, then waits (Batch.settle)
            else:
                self.wait_for_report(batch, wait)

    def wait_for_report(self, batch: Batch, wait: float) -> None:
        """Block up to ``wait`` seconds for ``batch``'s report (a quick reply).

        Else the report comes through the token; a wait that runs out makes the next 2, 4,
        ... 1,024 batches skip it.
        """
        if batch.wait_here(wait):
            self.wait_misses = 0
            batch.deliver()
        else:
            self.wait_misses = min(self.wait_misses * 2 or 2, _MAX_WAIT_SKIPS)
            self.wait_skips = self.wait_misses

    def put_ask(self, call: Call) -> Batch | None:
        """Queue an ask's ``call`` (an unbounded mailbox's ``put_nowait``).

        Returns the batch now on the thread when the asker is to wait for its quick reply
        itself (``Batch.settle``, which it must then await): the ask's checkpoint then runs
        while the thread wakes up and handles the message, instead of after the reply.
        """
        self.asking = call
        try:
            self.mailbox.put_nowait(call)
        finally:
            self.asking = None
        batch, self.quick = self.quick, None
        return batch

    def _reply_wait(self, last: Any) -> float:
        """How long the trio thread may block for the reply to ``last`` (0: not at all).

        Only for an ask, only while no trio task is runnable and no ``run_sync_soon`` call
        is pending, never past trio's next deadline, and not again soon after a wait ran out.
        For the ask being put (``put_ask``) only the run queues are read: its asker reads
        trio's next deadline too after its checkpoint, right before it waits (``Batch.settle``).
        """
        wait = self.reply_wait
        if not wait or type(last) is not Call:
            return 0.0
        if self.wait_skips:
            self.wait_skips -= 1
            return 0.0
        if last is self.asking:
            return 0.0 if runnable_now() else wait
        return min(wait, idle_seconds())

    def wake_loop(self, batch: Batch | None) -> None:
        """Wake the parked cell task with a batch that ended early (None: for a stop)."""
        task, self.loop_task = self.loop_task, None
        if task is not None:
            reschedule(task, outcome.Value(batch))

    def _abort_loop(self, _: Any) -> Abort:
        # Trio's abort callback for the parked loop (a kill): the thread touches no more of
        # its batch than the message it is in.
        self.loop_task = None
        batch = self.batch
        if batch is not None:
            with self.batch_lock:
                batch.abandoned = True
        return Abort.SUCCEEDED

    async def _thread_loop(self) -> ExitReason:
        queue = self.mailbox._queue
        space = self.mailbox._space
        task = current_task()
        while True:
            if self.stop_reason is not None:
                return self.stop_reason
            if queue:
                if type(queue[0]) is StopRequest:
                    queue.popleft()
                    if space is not None and space:
                        space.unpark()
                    return Normal()
                self._hand_over()
            # Parked while the thread works and while idle: puts and finished batches hand
            # the work over themselves (pump); only a stop, a crash or a kill wakes the task.
            self.loop_task = task
            try:
                batch: Batch | None = await wait_task_rescheduled(self._abort_loop)
            except BaseException:
                # Killed while the thread works: the message it began is the current one (an
                # ask in hand fails as any actor's); the ones it will never touch go back to
                # the mailbox, so the exit fails their asks and counts them as unhandled.
                batch, self.batch = self.batch, None
                if batch is not None:
                    self._hand_back(batch.items, batch.started, handled=batch.started + 1)
                raise
            if batch is None:
                continue  # woken for a stop
            error = batch.error
            if error is not None:
                self._hand_back(batch.items, batch.handled, handled=batch.handled + 1)
                return Crashed(self._thread_failure(error))
            if batch.handled < len(batch.items):  # a stop was requested mid-batch
                self._hand_back(batch.items, -1, handled=batch.handled)

    def _thread_failure(self, error: BaseException) -> BaseException:
        """What a handler raised on the thread: the crash (an interrupt also stops the system).

        Nothing raised on the actor's thread is a cancellation of a trio task.
        """
        interrupt = find_interrupt(error)
        if interrupt is not None:
            self.system._interrupt(interrupt, self.ref)
            return interrupt
        return error

    def _hand_back(self, items: list[Any], current: int, *, handled: int) -> None:
        """Make ``items[current]`` the call in hand (if an ask); requeue ``items[handled:]``."""
        if current >= 0 and type(items[current]) is Call:
            self.current_call = items[current]
        if handled < len(items):
            self.mailbox._queue.extendleft(reversed(items[handled:]))

    def _dispatch(self, message: Any) -> Any:
        # On the actor's thread: a proxied method call or an ask.
        if type(message) is MethodCall:
            return getattr(self.actor, message.name)(*message.args, **message.kwargs)
        return self.actor.on_receive(message)

    async def _stop_hooks(self, reason: ExitReason) -> ExitReason:
        self.leftover = self.mailbox.close()
        actor = self.actor
        if isinstance(reason, Crashed):
            failed = await self.on_thread(actor.on_failure, reason.exc)
            if type(failed) is outcome.Error:
                logger.error(
                    "%r: on_failure raised while handling a crash",
                    self.ref,
                    exc_info=self._thread_failure(failed.error),
                    extra=log_context(actor=self.ref),
                )
        stopped = await self.on_thread(actor.on_stop, reason)
        if type(stopped) is outcome.Error:
            exc = self._thread_failure(stopped.error)
            logger.error(
                "%r: on_stop raised", self.ref, exc_info=exc, extra=log_context(actor=self.ref)
            )
            if not isinstance(reason, Crashed):
                reason = Crashed(exc)
        return reason

    def finish(self, reason: ExitReason) -> None:
        """Record the exit as any cell does, then let the thread end after its current job."""
        super().finish(reason)
        runner, self.runner = self.runner, None
        if runner is not None:
            runner.stop(block=False)

    # -- called from the actor's thread --------------------------------------------------------

    def in_trio(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the trio thread, from any thread, and return its result."""
        if threading.get_ident() == self.trio_thread_ident:
            return fn(*args)
        return trio.from_thread.run_sync(fn, *args, trio_token=self.system.token)

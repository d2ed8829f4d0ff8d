"""What a thread actor's OS thread runs: its runner, one-off jobs, batches of messages.

The runner owns the thread; see ``_thread_cell`` for how the two sides work together.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import outcome
import pykka
import trio
from trio.lowlevel import Abort, Task, checkpoint, current_task, reschedule, wait_task_rescheduled

from ._envelopes import Call
from ._run_state import idle_seconds

if TYPE_CHECKING:
    from pykka._actor import ActorInbox
    from pykka._envelope import Envelope

    from ._thread_cell import ThreadCell

__all__ = ["Batch", "Job", "Runner"]


class Job:
    """One function to run on the actor's thread; its outcome wakes the waiting trio task."""

    __slots__ = ("args", "fn", "task", "token")

    def __init__(
        self, fn: Callable[..., Any], args: tuple[Any, ...], token: trio.lowlevel.TrioToken
    ) -> None:
        self.fn = fn
        self.args = args
        self.token = token
        self.task: Task | None = None

    def run(self) -> None:
        """On the actor's thread: run the function and send its outcome to trio."""
        result = outcome.capture(self.fn, *self.args)
        # If trio has ended (the actor was killed long ago), nobody waits for the outcome.
        with contextlib.suppress(trio.RunFinishedError):
            self.token.run_sync_soon(self._deliver, result)

    def _deliver(self, result: outcome.Outcome[Any]) -> None:
        # On the trio thread. A job whose waiter gave up (kill) is discarded here.
        task, self.task = self.task, None
        if task is not None:
            reschedule(task, outcome.Value(result))

    async def wait(self) -> outcome.Outcome[Any]:
        """Park until the thread has run the job; cancellation abandons it."""
        self.task = current_task()

        def abort(_: Any) -> Abort:
            self.task = None
            return Abort.SUCCEEDED

        result: outcome.Outcome[Any] = await wait_task_rescheduled(abort)
        return result


class Runner(pykka.ThreadingActor):
    """The pykka actor that owns the OS thread and runs ``Job``s in order."""

    use_daemon_thread = True  # a killed actor stuck in a handler must not keep Python alive

    @staticmethod
    def _create_actor_inbox() -> ActorInbox:
        # pykka's hook for its actor types. Its ThreadingActor uses a ``queue.Queue`` (a
        # Condition in Python: locks and a notify per put and get); the C ``SimpleQueue`` does
        # the same hand-over in one call each side. Nothing here needs ``task_done``/``join``.
        inbox: queue.SimpleQueue[Envelope[Any]] = queue.SimpleQueue()
        return inbox

    def __init__(self, cell: ThreadCell, thread_name: str) -> None:
        super().__init__()
        self._arborist_cell = cell
        self._thread_name = thread_name

    def on_start(self) -> None:
        thread = threading.current_thread()
        thread.name = self._thread_name
        self._arborist_cell.thread_ident = thread.ident

    def on_receive(self, message: Any) -> None:
        message.run()  # a Job or a Batch: nothing else is ever told to a runner


class Batch:
    """Queued messages that the actor's thread handles in one job, in mailbox order.

    The thread stops early at the first exception, when a stop has been requested, or when
    the trio side has abandoned the batch (the actor was killed), then reports back once.
    ``started`` is the index of the last message the thread began (-1: none). The cell's
    ``batch_lock`` makes "check the batch is still wanted, then begin the next message" atomic
    with abandoning it, so after a kill the trio side knows exactly which messages the thread
    has begun and which it will never touch.
    """

    __slots__ = (
        "abandoned",
        "cell",
        "error",
        "finished",
        "gate",
        "handled",
        "items",
        "reply",
        "started",
    )

    def __init__(self, cell: ThreadCell, items: list[Any]) -> None:
        self.cell = cell
        self.items = items
        self.started = -1
        self.handled = 0
        self.error: BaseException | None = None
        self.reply: outcome.Value[Any] | None = None  # the answer when the last item is a Call
        self.abandoned = False
        # Set (held) while the trio thread blocks for the report (``wait_here``): the thread
        # then releases it instead of reporting through the token. Both under ``batch_lock``.
        self.gate: threading.Lock | None = None
        self.finished = False

    def run(self) -> None:
        """On the actor's thread: handle the messages in order, then report to trio."""
        cell = self.cell
        lock = cell.batch_lock
        receive = cell.actor.on_receive
        token = cell.system.token
        items = self.items
        last = len(items) - 1
        index = 0
        try:
            while index <= last:
                with lock:
                    if self.abandoned or cell.stop_reason is not None:
                        break
                    self.started = index
                item = items[index]
                if type(item) is Call:
                    value = outcome.Value(cell._dispatch(item.message))
                    if index == last:
                        self.reply = value  # sent with the batch's report: one wake-up
                    else:
                        try:
                            token.run_sync_soon(item.reply, value)  # answer now, keep going
                        except trio.RunFinishedError:
                            return  # trio has ended (killed long ago): nobody waits
                else:
                    receive(item)
                index += 1
        except BaseException as exc:  # reported to trio, which decides (Crashed or re-raise)
            self.error = exc
        self.handled = index
        with lock:
            gate = self.gate
            self.finished = True
        if gate is not None:
            gate.release()  # the trio thread is blocked in wait_here: it delivers the report
            return
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(self.deliver)

    def wait_here(self, seconds: float) -> bool:
        """On the trio thread: block up to ``seconds`` for the thread to finish the batch.

        Returns True if it finished: its report is then the caller's to ``deliver`` (it never
        goes through the token). False: it will come through the token, as without the wait.
        """
        gate = cast("threading.Lock", self.gate)
        if seconds > 0 and gate.acquire(timeout=seconds):
            return True
        with self.cell.batch_lock:
            self.gate = None
            return self.finished  # finished just now: it saw the gate, so the report is ours

    async def settle(self, call: Call) -> None:
        """The ask's checkpoint, then its quick reply (into ``call.result``) if it comes soon.

        For the asker of ``call``, the batch's last message (``ThreadCell.put_ask``). The
        reply is waited for only while trio still has nothing else to run; otherwise, or if
        the wait runs out, the report comes through the token as for any batch (the asker
        then parks on the call). Cancelled at the checkpoint, the call is abandoned.
        """
        cell = self.cell
        try:
            await checkpoint()
        except BaseException:
            call.abandoned = True  # a reply that comes now is dropped
            self._leave_to_token()
            raise
        wait = 0.0
        if call.result is None and not self.abandoned:
            wait = min(cell.reply_wait, idle_seconds())
        if wait:
            cell.wait_for_report(self, wait)
        else:
            self._leave_to_token()

    def _leave_to_token(self) -> None:
        """Stop waiting here: the report comes through the token, or is delivered now.

        Now if the thread already finished: it saw the gate, so nothing else will deliver it.
        """
        if self.wait_here(0.0):
            self.deliver()

    def deliver(self) -> None:
        """On the trio thread: act on the thread's report (a kill discards it, reply and all)."""
        if self.abandoned:
            return
        cell = self.cell
        cell.batch = None
        if self.reply is not None:
            self.items[-1].reply(self.reply)
        if self.error is None and self.handled == len(self.items) and cell.stop_reason is None:
            if cell.mailbox._queue:
                cell.pump()  # all handled: the next batch (no stop asked: nothing else to do)
        else:
            cell.wake_loop(self)  # a crash or a stop: the cell's task decides

"""The cell: one incarnation of an actor at run time (its task, mailbox, timers, links, monitors).

Life of a cell, in order:

1. ``run`` enters the cell's cancel scope (and the actor's own nursery if it asks for one).
2. ``on_start`` runs; if it raises, the spawner gets ``ActorStartError`` and nothing else happens.
3. The ref is handed to the spawner (``hand_over``), then messages are handled one at
   a time in mailbox order until a stop is requested, the stop marker is reached, or a handler
   raises (``Crashed``).
4. The mailbox closes; ``on_failure(exc)`` runs after a crash, then ``on_stop(reason)`` always.
5. ``finish`` (synchronous, also after cancellation): pending asks fail with ``ActorDiedError``,
   timers are cancelled, the name is released, links get exit signals, monitors get ``Down``.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import outcome
import trio
from trio.lowlevel import reschedule, wait_task_rescheduled

from ._cell_sets import LazyCollections
from ._envelopes import Call, MethodCall, StopRequest
from ._errors import ActorDiedError, ActorStartError
from ._escapes import INTERRUPTS, Escape, cancelled_from_inside, first_leaf, sort_escape
from ._logging import get_logger, log_context
from ._mailbox import Mailbox
from ._messages import Down, Exit
from ._reasons import Crashed, ExitReason, Killed, Normal, Shutdown, is_abnormal
from ._ref import ActorRef
from ._runs import BATCH, RUN_MIN, end_run, handle_run
from ._timers import TimerHandle

if TYPE_CHECKING:
    from ._actor import Actor
    from ._system import ActorSystem

__all__ = ["Cell"]

logger = get_logger("arborist.actors")

_BATCH_RANGE = range(BATCH)
_ids = itertools.count(1)


class Cell(LazyCollections):
    """The run-time side of one actor incarnation. Not public: users hold ``ActorRef``.

    Slotted, and its timer, monitor and link collections are made on first use: most actors
    never use them, and an idle actor's memory is mostly its cell (benchmarks W8).
    """

    __slots__ = (
        "actor",
        "current_call",
        "exit_event",
        "exit_reason",
        "kill_reason",
        "leftover",
        "mailbox",
        "name",
        "ref",
        "scope",
        "start_error",
        "start_status",
        "started",
        "stop_reason",
        "system",
        "task",
        "trap_exits",
    )

    def __init__(
        self,
        system: ActorSystem,
        actor: Actor,
        *,
        name: str | None,
        mailbox_size: int | None,
        trap_exits: bool,
    ) -> None:
        self.system = system
        self.actor = actor
        self.name = name
        self.trap_exits = trap_exits
        kind = type(actor)
        self.mailbox: Mailbox = kind._mailbox_type(mailbox_size)
        # A sync on_receive answers an ask in the step the ask woke it for (see ActorRef.ask).
        self.mailbox._prompt = not (kind._receive_is_async or kind._runs_in_task)
        self.ref = ActorRef._create(self, next(_ids))
        self.scope = trio.CancelScope()
        self.started = False
        self.stop_reason: ExitReason | None = None
        self.exit_reason: ExitReason | None = None
        self.kill_reason: ExitReason | None = None
        self.start_error: BaseException | None = None
        self.start_status: trio.TaskStatus[ActorRef] = trio.TASK_STATUS_IGNORED  # see hand_over
        self.current_call: Call | None = None
        self.task: trio.lowlevel.Task | None = None
        self._timers = self._watchers = self._watching = self._links = None  # made on first use
        self.exit_event: trio.Event | None = None
        self.leftover: Sequence[Any] = ()  # what the mailbox held at close (no list per idle cell)
        actor._cell = self

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[ActorRef] = trio.TASK_STATUS_IGNORED) -> None:
        """The actor's task: start, handle messages, stop. Never raises after ``started``."""
        self.task = trio.lowlevel.current_task()
        self.start_status = task_status  # dropped once started (hand_over): W8, 1.1 KiB an actor
        del task_status
        reason: ExitReason | None = None
        try:
            with self.scope:
                if self.actor.owns_nursery:
                    try:
                        async with trio.open_nursery() as nursery:
                            self.actor._nursery = nursery
                            reason = await self._lifecycle()
                            nursery.cancel_scope.cancel()
                    except BaseExceptionGroup as group:
                        escape = self._escaped(group)
                        failure = escape.failure
                        if failure is not None and reason is None:
                            # A background task crashed: a failed start, or a crash whose
                            # on_failure/on_stop run now, outside the closed nursery.
                            reason = Crashed(first_leaf(failure))
                            if not self.started:
                                self.start_error = reason.exc
                            elif escape.cancellation is None:
                                reason = await self._stop_hooks(reason)
                        if escape.cancellation is not None:
                            raise escape.cancellation from None
                    if reason is None:
                        reason = await self._cancelled_from_inside()
                else:
                    reason = await self._lifecycle()
        finally:
            if reason is None:
                reason = self.kill_reason if self.kill_reason is not None else Killed()
            self.finish(reason)
        if self.start_error is None and not self.started:
            # Killed before on_start returned (a kill, a shutdown timeout, a linked crash).
            self.start_error = (
                reason.exc
                if isinstance(reason, Crashed)
                else RuntimeError(f"it ended ({reason}) before on_start returned")
            )
        if self.start_error is not None:
            raise ActorStartError(self.describe(), self.start_error) from self.start_error

    async def _lifecycle(self) -> ExitReason:
        actor = self.actor
        if type(actor)._runs_in_task:  # a function child (supervision._function)
            return await actor._run_in_task(self)
        try:
            started = actor.on_start()
            if inspect.isawaitable(started):
                await started
        except Exception as exc:
            self.start_error = exc
            return Crashed(exc)
        except BaseException as exc:
            return self._start_crashed(exc)  # cancelled while starting: raised
        self.hand_over()
        reason = await self._loop()
        return await self._stop_hooks(reason)

    async def _loop(self) -> ExitReason:  # noqa: PLR0912,PLR0915 - the hot loop stays in one frame
        actor = self.actor
        mailbox = self.mailbox
        queue = mailbox._queue
        popleft = queue.popleft
        space = mailbox._space
        handler = actor.on_receive
        is_async = type(actor)._receive_is_async
        task = self.task
        batch = _BATCH_RANGE
        plain = space is None and not is_async
        item: Any = None
        try:
            while True:
                rounds = batch
                if not mailbox._kernel and plain and len(queue) > RUN_MIN:
                    count = handle_run(self, handler, queue)  # all plain: a run (see _runs)
                    if self.stop_reason is not None:
                        return self.stop_reason
                    rounds = range(BATCH - count)  # what is left of the batch, one at a time
                for _ in rounds:  # at most BATCH messages between checkpoints (see _runs)
                    if not queue:
                        break
                    if not mailbox._kernel:  # only plain messages queued, no stop requested
                        if plain:  # unbounded, sync: nothing else to do per message (W1)
                            handler(popleft())
                            continue
                        item = popleft()
                        if space is not None and space:
                            space.unpark()
                        if is_async:
                            await handler(item)
                        else:
                            handler(item)
                        continue
                    if self.stop_reason is not None:
                        return self.stop_reason
                    item = popleft()
                    if space is not None and space:
                        space.unpark()
                    kind = type(item)
                    if kind is Call:
                        # While its handler runs, ``item`` is the call in hand (an exception
                        # below records it for ``finish``: ``_in_hand``).
                        mailbox._kernel -= 1
                        message = item.message
                        if type(message) is MethodCall:
                            result = getattr(actor, message.name)(*message.args, **message.kwargs)
                            if inspect.isawaitable(result):
                                result = await result
                        else:
                            result = handler(message)
                            if is_async:
                                result = await result
                        # ``item.reply(outcome.Value(result))``, inlined (W2).
                        if not item.abandoned:
                            caller = item.task
                            if caller is not None:
                                item.task = None
                                reschedule(caller, outcome.Value(result))
                            elif item.result is None:
                                item.result = outcome.Value(result)
                    elif kind is StopRequest:
                        mailbox._kernel -= 1
                        return Normal()
                    elif is_async:
                        await handler(item)
                    else:
                        handler(item)
                else:
                    await trio.lowlevel.checkpoint()
                    continue
                if self.stop_reason is not None:
                    return self.stop_reason
                item = message = result = caller = None  # an idle actor holds nothing it handled
                # Park until a put wakes it (the mailbox is its own abort callback).
                mailbox._receiver = task
                mailbox._just_append = False
                await wait_task_rescheduled(mailbox)
        except Exception as exc:
            self._in_hand(item)
            return Crashed(exc)
        except BaseException as exc:
            self._in_hand(item)
            self._time_unanswered(self.mailbox._queue)  # an interrupt: the exit may await
            return self._crash_or_raise(exc)  # cancelled (killed, the owner's scope): raised

    def hand_over(self) -> None:
        """Started: hand the ref over and drop the task status (it keeps trio's start() nursery)."""
        self.started = True
        self.start_status.started(self.ref)
        self.start_status = trio.TASK_STATUS_IGNORED

    def _in_hand(self, item: Any) -> None:
        """The loop ended on an exception while handling ``item``: keep an unanswered call.

        ``finish`` answers it first, with the actor's death. A call already answered (its
        caller no longer waits) or abandoned is left alone.
        """
        if type(item) is Call and item.task is not None:
            self.current_call = item

    def _time_unanswered(self, queued: Iterable[Any]) -> None:
        """Hand the deadlines of unanswered asks to the timer service: the loop ended early.

        A prompt ask (see ``ActorRef.ask``) registers none, as its reply comes in the step it
        woke the loop for; a stop or crash in that step ends the loop first, and the hooks that
        follow may await. A call listed twice still expires once.
        """
        timers = self.system._timers
        for item in (self.current_call, *queued):
            if type(item) is Call and item.task is not None and item.deadline:
                timers.expire_call(item)

    async def _cancelled_from_inside(self) -> ExitReason:
        """The actor's own nursery ended cancelled while nothing outside it was cancelled."""
        error = cancelled_from_inside(self.describe())
        if not self.started:
            self.start_error = error
            return Crashed(error)
        return await self._stop_hooks(Crashed(error))

    def _crash_or_raise(self, exc: BaseException) -> Crashed:
        """The crash an escaped BaseException means; re-raise a cancellation (a helper: W8)."""
        failure = self._escaped(exc).failure
        if failure is None:
            raise exc
        return Crashed(failure)

    def _start_crashed(self, exc: BaseException) -> Crashed:
        """``_crash_or_raise`` for ``on_start``: the failure is also the start error."""
        crash = self._crash_or_raise(exc)
        self.start_error = crash.exc
        return crash

    def _escaped(self, exc: BaseException) -> Escape:
        """Sort a BaseException that escaped user code; an interrupt stops the system."""
        escape = sort_escape(exc)
        if escape.interrupt is not None:
            self.system._interrupt(escape.interrupt, self.ref)
        return escape

    async def _stop_hooks(self, reason: ExitReason) -> ExitReason:
        self.leftover = self.mailbox.close()
        self._time_unanswered(self.leftover)
        actor = self.actor
        if isinstance(reason, Crashed):
            failure = await self._hook(actor.on_failure, reason.exc)
            if failure is not None:
                logger.error(
                    "%r: on_failure raised while handling a crash",
                    self.ref,
                    exc_info=failure,
                    extra=log_context(actor=self.ref),
                )
        failure = await self._hook(actor.on_stop, reason)
        if failure is not None:
            logger.error(
                "%r: on_stop raised", self.ref, exc_info=failure, extra=log_context(actor=self.ref)
            )
            if not isinstance(reason, Crashed):
                reason = Crashed(failure)
        return reason

    async def _hook(self, hook: Callable[..., Any], *args: Any) -> BaseException | None:
        """Run a stop hook; return what it raised (a cancellation propagates)."""
        try:
            result = hook(*args)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            return exc
        except BaseException as exc:
            failure = self._escaped(exc).failure
            if failure is None:
                raise
            return failure
        return None

    def finish(self, reason: ExitReason) -> None:  # noqa: PLR0912 - one ordered exit sequence
        """Record the exit and tell everyone who needs to know. Synchronous; never raises."""
        if self.exit_reason is not None:
            return
        self.exit_reason = reason
        leftover = [*self.leftover, *self.mailbox.close()]
        self.leftover = ()
        if self.current_call is not None:
            leftover.insert(0, self.current_call)
            self.current_call = None
        dropped = 0
        told = 0
        for item in leftover:
            if type(item) is Call:
                told += not item.abandoned
                item.reply(outcome.Error(self.died_error(reason)))
            elif type(item) not in (StopRequest, Down, Exit):
                dropped += 1
        if dropped and self.started:
            # Left in the mailbox by a crash: worth a warning; by a stop or a normal exit: the
            # expected end of an actor that was sent more than it was let handle (debug).
            logger.log(
                logging.WARNING if is_abnormal(reason) else logging.DEBUG,
                "%r exited (%s) with %d unhandled messages",
                self.ref,
                reason,
                dropped,
                extra=log_context(actor=self.ref),
            )
        if self._timers:
            for timer in list(self._timers):
                timer.cancel()
        if self.name is not None:
            self.system.registry.unregister(self.name, self.ref)
        if self._watching:
            for monitor in self._watching:
                targets = monitor.target._cell._watchers
                if targets is not None:
                    targets.pop(monitor, None)
            self._watching.clear()
        links, self._links = self._links or (), None
        for other in links:
            if other._links is not None:
                other._links.discard(self)
            other.exit_signal(self.ref, reason)
        watchers, self._watchers = self._watchers or {}, None
        for monitor, callback in watchers.items():
            # A fired monitor is done: its watcher forgets it, so nothing keeps this cell alive.
            watcher = monitor.watcher
            if watcher is not None and watcher._watching is not None:
                watcher._watching.discard(monitor)
            callback(reason)
        if self.exit_event is not None:
            self.exit_event.set()
        if (
            isinstance(reason, Crashed)
            and self.started
            and not (watchers or links or told)
            and not isinstance(reason.exc, INTERRUPTS)  # raised again by open_actor_system
        ):
            logger.error(
                "%r crashed", self.ref, exc_info=reason.exc, extra=log_context(actor=self.ref)
            )
        self.system._forget(self)

    # -- control -----------------------------------------------------------------------------

    def describe(self) -> str:
        """A short description for error messages: class name and registered name."""
        cls = type(self.actor).__name__
        return f"{cls} {self.name!r}" if self.name is not None else cls

    def died_error(self, reason: ExitReason | None) -> ActorDiedError:
        """A fresh ``ActorDiedError`` for this actor, with the crash chained as the cause."""
        error = ActorDiedError(self.ref, reason)
        if isinstance(reason, Crashed):
            error.__cause__ = reason.exc
        return error

    def put_ask(self, call: Call) -> Any:
        """Queue an ask's ``call``; None (a ThreadCell may return what to settle, see there)."""
        self.mailbox.put_nowait(call)
        return None

    def request_stop(self, reason: ExitReason) -> None:
        """Stop after the message being handled; queued messages are not handled.

        New messages are refused from now on (``ActorDeadError``: "is stopping"), rather than
        accepted and then dropped.
        """
        if self.stop_reason is None:
            self.stop_reason = reason
        self.mailbox._kernel += 1  # the loop checks for a stop from now on
        end_run(self)  # a run of messages the loop hands the handler ends with this one
        self.mailbox.refuse()
        self.mailbox.wake()

    def kill(self, reason: ExitReason | None = None) -> None:
        """Cancel the actor now; it ends with ``reason`` (``Killed`` by default), no hooks run."""
        if self.exit_reason is not None:
            return
        if self.kill_reason is None:
            self.kill_reason = reason if reason is not None else Killed()
        self.scope.cancel()

    def exit_signal(self, sender: ActorRef, reason: ExitReason) -> None:
        """A linked actor ended: trap it as an ``Exit`` message, or die with it unless Normal."""
        if self.exit_reason is not None:
            return
        if self.trap_exits:
            self.mailbox.put_system(Exit(sender, reason))
        elif not isinstance(reason, Normal):
            self.kill(reason)

    async def wait_exit(self) -> ExitReason:
        """Wait until the actor has ended; return its exit reason."""
        if self.exit_reason is None:
            if self.exit_event is None:
                self.exit_event = trio.Event()
            await self.exit_event.wait()
        else:
            await trio.lowlevel.checkpoint()
        return cast("ExitReason", self.exit_reason)  # finish() sets it before the event

    async def shutdown(self, timeout: float | None) -> ExitReason:
        """Ask the actor to shut down; kill it after ``timeout`` seconds (None waits forever).

        ``timeout`` was checked by the caller (``ActorRef.shutdown``, a spec, the system).
        """
        if self.exit_reason is not None:
            await trio.lowlevel.checkpoint()
            return self.exit_reason
        if timeout is not None and timeout <= 0:
            self.kill()
        else:
            self.request_stop(Shutdown())
        with trio.move_on_after(math.inf if timeout is None else timeout):
            return await self.wait_exit()
        self.kill()
        return await self.wait_exit()

    # -- timers ------------------------------------------------------------------------------

    def send_timer(self, delay: float, message: Any, period: float | None) -> TimerHandle:
        """Deliver ``message`` to this actor after ``delay`` seconds, then every ``period``."""
        return self.system._timers.deliver_after(self.mailbox, self.timers, delay, message, period)

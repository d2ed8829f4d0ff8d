"""ActorRef: the handle through which everyone else talks to an actor incarnation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import trio
from trio import current_time
from trio.lowlevel import checkpoint, current_task, reschedule, wait_task_rescheduled

from ._checks import check_timeout
from ._envelopes import STOP, AskExpired, Call, MethodCall
from ._errors import ActorDeadError, AskTimeoutError, MailboxFullError
from ._mailbox import MailboxClosed, MailboxFull

if TYPE_CHECKING:
    from ._actor import Actor
    from ._cell import Cell
    from ._mailbox import Mailbox
    from ._reasons import ExitReason

__all__ = ["DEFAULT_ASK_TIMEOUT", "ActorProxy", "ActorRef"]

DEFAULT_ASK_TIMEOUT: Final = 5.0
"""Seconds an ``ask`` waits by default, as ``GenServer.call``."""


class ActorRef:
    """A reference to one incarnation of an actor. Refs are created by ``spawn``, never by hand.

    A ref stays valid after its actor dies: sending then raises ``ActorDeadError``. A restarted
    actor is a new incarnation with a new ref; reach "whichever is alive" through its name
    (``system.tell(name, msg)``).
    """

    __slots__ = ("__weakref__", "_cell", "_mailbox", "id")

    _cell: Cell
    _mailbox: Mailbox
    id: int
    """A number unique to this incarnation within the process (shown in the repr)."""

    def __init__(self) -> None:
        raise TypeError("ActorRef has no public constructor; spawn an actor to get its ref")

    @classmethod
    def _create(cls, cell: Cell, ident: int) -> ActorRef:
        self = object.__new__(cls)
        self._cell = cell
        self._mailbox = cell.mailbox
        self.id = ident
        return self

    # -- identity ----------------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """The registered name of this incarnation, or None."""
        return self._cell.name

    @property
    def actor_class(self) -> type[Actor]:
        """The class of the actor behind this ref."""
        return type(self._cell.actor)

    @property
    def is_alive(self) -> bool:
        """True until the actor has exited (a stopping actor is still alive)."""
        return self._cell.exit_reason is None

    @property
    def exit_reason(self) -> ExitReason | None:
        """Why the actor ended, or None while it lives."""
        return self._cell.exit_reason

    @property
    def mailbox_size(self) -> int:
        """How many messages wait in the mailbox right now."""
        return len(self._mailbox)

    def __repr__(self) -> str:
        cell = self._cell
        label = f"{type(cell.actor).__name__}#{self.id}"
        if cell.name is not None:
            label += f" {cell.name!r}"
        if cell.exit_reason is None:
            return f"<ActorRef {label} alive>"
        return f"<ActorRef {label} dead: {cell.exit_reason}>"

    # -- messaging ---------------------------------------------------------------------------

    def tell(self, message: Any) -> None:
        """Queue ``message`` for the actor and return at once (fire and forget).

        Never blocks and is not a checkpoint. Messages told by one task arrive in order.

        Raises:
            ActorDeadError: the actor is dead or stopping; the message was not queued.
            MailboxFullError: the bounded mailbox is full; use ``await send(msg)`` instead.
        """
        mailbox = self._mailbox
        if mailbox._just_append:  # open, unbounded, its receiver busy: the put, inlined (W1)
            mailbox._queue.append(message)
            return
        try:
            mailbox.put_nowait(message)
        except MailboxClosed:
            error = self._dead()
            raise error from error.__cause__
        except MailboxFull:
            raise MailboxFullError(self, mailbox.capacity or 0) from None

    async def send(self, message: Any) -> None:
        """Queue ``message``, waiting for room if the bounded mailbox is full (backpressure).

        Raises:
            ActorDeadError: the actor is dead or stopping (also if it dies while we wait).
        """
        try:
            await self._mailbox.put(message)
        except MailboxClosed:
            error = self._dead()
            raise error from error.__cause__

    async def ask(self, message: Any, *, timeout: float | None = DEFAULT_ASK_TIMEOUT) -> Any:
        """Send ``message`` and wait for the value ``on_receive`` returns for it.

        Cancellation or timeout abandons the request; the actor still handles it, and its
        late reply is dropped. On a full bounded mailbox, waits for room within the timeout.
        The timeout costs nothing when the actor is idle and its ``on_receive`` is sync: the
        reply then comes in the actor's very next step, and is checked against the deadline
        when it arrives (a handler that takes longer still raises ``AskTimeoutError``).

        Args:
            message: the request.
            timeout: seconds to wait for the reply, or None to wait forever.

        Returns:
            What the actor's handler returned.

        Raises:
            AskTimeoutError: no reply within ``timeout``.
            ActorDiedError: the actor was dead, or died before replying (a crash is chained as
                ``__cause__``).
            TypeError: ``timeout`` is not a number or None (a str, a bool).
            ValueError: ``timeout`` is negative or NaN.
            RuntimeError: an actor asked itself (it could never reply).
        """
        if timeout is not DEFAULT_ASK_TIMEOUT:
            check_timeout(timeout, "ask timeout")
            return await self._call(Call(message), message, timeout)
        # The default ask to an open unbounded mailbox of another task's actor: ``_call``'s
        # last path, inlined (an ask is two task switches; every call around them shows, W2).
        mailbox = self._mailbox
        cell = self._cell
        caller = current_task()
        if not mailbox._fast or cell.task is caller or not cell.system._open:
            return await self._call(Call(message), message, timeout)
        timers = cell.system._timers
        now = timers.now
        deadline = now() + DEFAULT_ASK_TIMEOUT
        call = Call(message, caller, deadline)  # the caller parks at once (below)
        mailbox._kernel += 1  # the loop dispatches on the item's type (see Mailbox._kernel)
        mailbox._queue.append(call)
        receiver = mailbox._receiver
        if receiver is not None:
            mailbox._receiver = None
            mailbox._just_append = True  # ``_fast``, checked above
            reschedule(receiver)
        # A parked loop with a sync on_receive (a prompt mailbox) handles this call first in
        # the step it was woken for, with no checkpoint before the reply: the timer service
        # need not know the deadline, and the check after the wait enforces it (a handler that
        # outlasts it). If that step ends the loop (a stop, a crash) the cell registers the
        # deadline before it awaits anything (Cell._time_unanswered).
        if receiver is None or not mailbox._prompt:
            timers.expire_call(call)
        # ``call.wait()``, inlined: a reply cannot come during this put (the actor runs in its
        # own task), so the caller parks at once; the call is its own abort callback.
        try:
            result = await wait_task_rescheduled(call)
        except AskExpired:
            raise AskTimeoutError(self, message, timeout) from None
        if now() >= deadline:  # the deadline wins a tie, as in _call
            call.abandoned = True
            raise AskTimeoutError(self, message, timeout)
        return result

    async def _call(self, call: Call, message: Any, timeout: float | None) -> Any:
        mailbox = self._mailbox
        mailbox._kernel += 1  # before it can be queued (see Mailbox._kernel)
        task = self._cell.task
        if task is not None and task is current_task():
            raise RuntimeError(
                f"{self!r} asked itself, which would wait for a reply only it can give; "
                "call the method directly, or tell() yourself"
            )
        if timeout is None:
            await self._enqueue(mailbox, call)
            return await call.wait()
        if mailbox._capacity is not None or not self._cell.system._open:
            # A bounded mailbox may make us wait for room (the deadline covers that wait too);
            # a closing system's timer task may end before this actor does.
            with trio.CancelScope(deadline=trio.current_time() + timeout):
                await self._enqueue(mailbox, call)
                return await call.wait()
            call.abandoned = True
            raise AskTimeoutError(self, message, timeout)
        # Unbounded: enqueueing never waits, so only the wait for the reply has a deadline. The
        # system's timer service expires the call at the same exact time as a CancelScope
        # deadline for a fraction of its cost (entering and leaving the scope was half of an
        # ask); a call that settles first is just forgotten there, nothing to cancel.
        cell = self._cell
        try:
            if timeout > 0:
                quick = cell.put_ask(call)
            else:
                quick = None
                mailbox.put_nowait(call)
        except MailboxClosed:
            error = cell.died_error(cell.exit_reason)
            raise error from error.__cause__
        if quick is not None:
            # A ThreadActor's quick reply (``reply_wait``): the ask's checkpoint runs while its
            # thread handles the message, then trio may block briefly for the reply. It comes
            # before any deadline could pass, so none is kept.
            await quick.settle(call)
        result = call.result
        if result is not None and timeout > 0:
            if quick is None:
                await checkpoint()  # replied during the put: the ask is still a checkpoint
            return result.unwrap()
        deadline = call.deadline = current_time() + timeout
        self._cell.system._timers.expire_call(call)
        try:
            result = await call.wait()
        except AskExpired:
            raise AskTimeoutError(self, message, timeout) from None
        if current_time() >= deadline:
            # The reply came at the very instant of the deadline: the deadline wins, as with a
            # CancelScope (trio expires deadlines before it runs the tasks they woke).
            call.abandoned = True
            raise AskTimeoutError(self, message, timeout)
        return result

    async def _enqueue(self, mailbox: Any, call: Call) -> None:
        try:
            if mailbox._capacity is None:
                mailbox.put_nowait(call)
            else:
                await mailbox.put(call)
        except MailboxClosed:
            cell = self._cell
            error = cell.died_error(cell.exit_reason)
            raise error from error.__cause__

    def proxy(self, *, timeout: float | None = DEFAULT_ASK_TIMEOUT) -> ActorProxy:
        """Return a proxy: ``await ref.proxy().method(*args)`` calls the actor's method.

        The call runs inside the actor, in mailbox order, like any message.

        Raises:
            TypeError: ``timeout`` is not a number or None.
            ValueError: ``timeout`` is negative or NaN.
        """
        check_timeout(timeout, "proxy timeout")
        return ActorProxy(self, timeout)

    async def stop(self) -> ExitReason:
        """Stop the actor after the messages already queued, and wait until it has exited.

        New messages are refused from now on. Idempotent: returns the exit reason of an actor
        that already ended.

        Returns:
            The exit reason (``Normal`` unless it crashed or was killed meanwhile).
        """
        cell = self._cell
        if cell.task is not None and cell.task is trio.lowlevel.current_task():
            raise RuntimeError(
                f"{self!r} cannot await its own stop(); call self.stop() inside the actor"
            )
        mailbox = self._mailbox
        if not mailbox.closed:
            mailbox._kernel += 1
            mailbox.put_system(STOP)
            mailbox.refuse()
        return await cell.wait_exit()

    async def shutdown(self, timeout: float | None = 5.0) -> ExitReason:
        """Shut the actor down as a supervisor does, and wait until it has exited.

        It finishes the message it is handling, runs ``on_stop(Shutdown())`` and exits; queued
        messages are not handled (their asks fail with ``ActorDiedError``). If it has not exited
        after ``timeout`` seconds it is killed. ``timeout=0`` kills at once; None waits forever.

        Returns:
            The exit reason: ``Shutdown``, or ``Killed`` after the timeout.

        Raises:
            TypeError: ``timeout`` is not a number or None.
            ValueError: ``timeout`` is negative or NaN.
            RuntimeError: the actor awaited its own shutdown (use ``self.stop()`` inside it).
        """
        check_timeout(timeout, "shutdown timeout")
        cell = self._cell
        if cell.task is not None and cell.task is trio.lowlevel.current_task():
            raise RuntimeError(
                f"{self!r} cannot await its own shutdown(); call self.stop(Shutdown()) inside "
                "the actor"
            )
        return await cell.shutdown(timeout)

    def kill(self) -> None:
        """Cancel the actor at once: it ends with ``Killed`` and its ``on_stop`` does not run."""
        self._cell.kill()

    async def wait_exit(self) -> ExitReason:
        """Wait until the actor has exited and return its exit reason."""
        return await self._cell.wait_exit()

    def _dead(self) -> ActorDeadError:
        cell = self._cell
        error = ActorDeadError(self, cell.exit_reason)
        if cell.exit_reason is not None and hasattr(cell.exit_reason, "exc"):
            error.__cause__ = cell.exit_reason.exc
        return error


class ActorProxy:
    """Calls an actor's public methods as messages: ``await proxy.method(*args, **kwargs)``."""

    __slots__ = ("_ref", "_timeout")

    def __init__(self, ref: ActorRef, timeout: float | None) -> None:
        self._ref = ref
        self._timeout = timeout

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        ref = self._ref
        if name.startswith("_"):
            raise AttributeError(f"proxies call public methods only; {name!r} is private")
        attribute = getattr(ref.actor_class, name, None)
        if not callable(attribute):
            raise AttributeError(  # noqa: TRY004 - __getattr__ must raise AttributeError
                f"{ref.actor_class.__name__} has no method {name!r} to call through a proxy"
            )
        timeout = self._timeout

        async def call(*args: Any, **kwargs: Any) -> Any:
            message = MethodCall(name, args, kwargs)
            return await ref._call(Call(message), message, timeout)

        call.__name__ = name
        return call

    def __repr__(self) -> str:
        return f"<ActorProxy of {self._ref!r}>"

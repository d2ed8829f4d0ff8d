"""Actor: the base class users subclass. Private state, one mailbox, one handler at a time."""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, ClassVar

from ._checks import MIN_PERIOD, check_instance, check_seconds
from ._mailbox import Mailbox
from ._messages import Monitor
from ._reasons import Crashed, ExitReason, Killed, Normal, Shutdown
from ._ref import ActorRef
from ._timers import TimerHandle

if TYPE_CHECKING:
    import trio

    from ._cell import Cell
    from ._system import ActorSystem

__all__ = ["Actor"]

_HOOKS = ("on_start", "on_receive", "on_stop", "on_failure")
_REASONS = (Normal, Shutdown, Crashed, Killed)
_MS = "; the shortest period is 1 ms"
_A_REF = "an ActorRef (system.whereis(name) finds one by name)"


class Actor:
    """Base class of trio actors.

    Subclass it and define ``on_receive(message)`` (sync or ``async``); the runtime calls it
    for one message at a time, in mailbox order. Its return value is the reply to an ``ask``.
    Public methods may also be called through ``ref.proxy()``.

    Hooks, each sync or async: ``on_start()`` runs before the first message (if it raises the
    actor fails to start); ``on_failure(exc)`` runs after a handler raised; ``on_stop(reason)``
    runs last, whatever the reason, unless the actor is cancelled: by ``kill()`` or a shutdown
    timeout (``Killed``), or by an exit signal from a linked actor when it does not trap exits
    (it then ends at once with the linked actor's reason and runs no hook, as in OTP; trap
    exits to clean up). An exception escaping a handler ends the actor with ``Crashed(exc)``
    ("let it crash"): a supervisor restarts a fresh instance.

    Class options: ``trap_exits = True`` turns exit signals from linked actors into ``Exit``
    messages; ``owns_nursery = True`` gives the actor ``self.nursery`` for tasks of its own that
    live as long as the actor (a crash in one of them crashes the actor).

    Example:
        >>> class Counter(Actor):
        ...     def __init__(self) -> None:
        ...         self.count = 0
        ...     def on_receive(self, message: int) -> int:
        ...         self.count += message
        ...         return self.count
    """

    owns_nursery: ClassVar[bool] = False
    trap_exits: ClassVar[bool] = False
    _receive_is_async: ClassVar[bool] = False
    # Internal, for function children (``arborist.supervision``): the cell makes the mailbox
    # from ``_mailbox_type``, and with ``_runs_in_task`` awaits ``_run_in_task`` in place of
    # on_start and the message loop.
    _mailbox_type: ClassVar[type[Mailbox]] = Mailbox
    _runs_in_task: ClassVar[bool] = False

    _cell: Cell
    _nursery: trio.Nursery

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for hook in _HOOKS:
            fn = getattr(cls, hook)
            if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
                raise TypeError(
                    f"{cls.__name__}.{hook} is a generator; define it with `def` or `async def`"
                )
        cls._receive_is_async = inspect.iscoroutinefunction(cls.on_receive)

    # -- hooks -------------------------------------------------------------------------------

    def on_start(self) -> Awaitable[None] | None:
        """Run once before the first message; raise to fail the start."""
        return None

    def on_receive(self, message: Any) -> Any:
        """Handle one message and return the reply (used by ``ask``)."""
        raise TypeError(
            f"{type(self).__name__} received {message!r} but defines no on_receive; "
            "define on_receive(self, message), or call methods through ref.proxy()"
        )

    async def _run_in_task(self, cell: Cell) -> ExitReason:
        """The whole life of a ``_runs_in_task`` actor in its cell's task (see there).

        It calls ``cell.hand_over()`` once the actor counts as started.
        """
        raise NotImplementedError

    def on_failure(self, exc: BaseException) -> Awaitable[None] | None:
        """Run after a handler raised ``exc``, before ``on_stop``."""
        return None

    def on_stop(self, reason: ExitReason) -> Awaitable[None] | None:
        """Run last when the actor ends, unless it was killed or taken down by a link."""
        return None

    # -- context -----------------------------------------------------------------------------

    @property
    def ref(self) -> ActorRef:
        """This actor's own ref."""
        return self._started_cell().ref

    @property
    def system(self) -> ActorSystem:
        """The actor system this actor runs in."""
        return self._started_cell().system

    @property
    def nursery(self) -> trio.Nursery:
        """The actor's own nursery (only with ``owns_nursery = True``)."""
        if not type(self).owns_nursery:
            raise AttributeError(
                f"{type(self).__name__} has no nursery; set `owns_nursery = True` on the class"
            )
        cell = self._started_cell()
        del cell
        return self._nursery

    def _started_cell(self) -> Cell:
        try:
            return self._cell
        except AttributeError:
            raise RuntimeError(
                f"{type(self).__name__} is not running yet; use on_start() for start-up work "
                "that needs the ref, the system or timers"
            ) from None

    def stop(self, reason: ExitReason | None = None) -> None:
        """Stop after the current message (``Normal`` by default); queued messages are dropped.

        Raises:
            TypeError: ``reason`` is not an exit reason.
        """
        if reason is not None:
            check_instance(
                reason,
                _REASONS,
                "stop reason",
                wanted="Normal(), Shutdown(), Crashed(exc) or Killed()",
            )
        self._started_cell().request_stop(reason if reason is not None else Normal())

    # -- timers ------------------------------------------------------------------------------

    def send_after(self, delay: float, message: Any) -> TimerHandle:
        """Deliver ``message`` to this actor in ``delay`` seconds of trio time.

        Timer messages bypass the mailbox bound. The timer is cancelled when the actor exits.

        Raises:
            TypeError: ``delay`` is not a number.
            ValueError: ``delay`` is negative or NaN.
        """
        if type(delay) is not float or not delay >= 0:  # the common case costs one check
            check_seconds(delay, "send_after delay")
        return self._started_cell().send_timer(delay, message, None)

    def send_interval(
        self, period: float, message: Any, *, first: float | None = None
    ) -> TimerHandle:
        """Deliver ``message`` every ``period`` seconds (first after ``first``, default ``period``).

        Ticks are anchored to the start, so they do not drift. Cancelled when the actor exits.
        The shortest period is 1 ms (``MIN_PERIOD``): trio's loop cannot keep a shorter one.

        Raises:
            TypeError: ``period`` or ``first`` is not a number.
            ValueError: ``period`` is below 1 ms, infinite or NaN, or ``first`` is negative.
        """
        if type(period) is not float or not MIN_PERIOD <= period < math.inf:
            check_seconds(period, "send_interval period", least=MIN_PERIOD, finite=True, hint=_MS)
        if first is not None and (type(first) is not float or not first >= 0):
            check_seconds(first, "send_interval first delay", none="for one period")
        return self._started_cell().send_timer(period if first is None else first, message, period)

    # -- monitors and links ------------------------------------------------------------------

    def monitor(self, target: ActorRef) -> Monitor:
        """Receive ``Down(target, reason)`` when ``target`` ends (at once if it already has).

        Raises:
            TypeError: ``target`` is not an ``ActorRef``.
        """
        check_instance(target, ActorRef, "monitor target", wanted=_A_REF)
        return self._started_cell().monitor(target)

    def demonitor(self, monitor: Monitor) -> None:
        """Stop a monitor; no ``Down`` is delivered for it afterwards (one already queued stays).

        Raises:
            TypeError: ``monitor`` is not a ``Monitor``.
        """
        check_instance(
            monitor, Monitor, "demonitor monitor", wanted="the Monitor monitor() returned"
        )
        cell = self._started_cell()
        watchers = monitor.target._cell._watchers
        if watchers is not None:
            watchers.pop(monitor, None)
        if cell._watching is not None:
            cell._watching.discard(monitor)

    def link(self, other: ActorRef) -> None:
        """Link with ``other`` in both directions.

        When either ends with a reason other than ``Normal``, the other gets an exit signal: an
        ``Exit`` message if it traps exits, else it ends the same way.

        Raises:
            TypeError: ``other`` is not an ``ActorRef``.
        """
        check_instance(other, ActorRef, "link other", wanted=_A_REF)
        self._started_cell().link(other._cell)

    def unlink(self, other: ActorRef) -> None:
        """Remove a link in both directions (no-op if not linked).

        Raises:
            TypeError: ``other`` is not an ``ActorRef``.
        """
        check_instance(other, ActorRef, "unlink other", wanted=_A_REF)
        cell = self._started_cell()
        other_cell = other._cell
        if cell._links is not None:
            cell._links.discard(other_cell)
        if other_cell._links is not None:
            other_cell._links.discard(cell)

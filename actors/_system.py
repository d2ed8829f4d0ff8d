"""ActorSystem: the owner of actors outside a full runtime; its nursery outlives every actor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from ._actor import Actor
from ._cell import Cell
from ._checks import check_bool, check_instance, check_int, check_seconds
from ._errors import ActorStartError, NameTakenError
from ._logging import get_logger, log_context
from ._reasons import Killed
from ._ref import DEFAULT_ASK_TIMEOUT, ActorRef
from ._registry import Registry, check_name
from ._timers import TimerService

__all__ = ["ActorSystem", "open_actor_system"]

logger = get_logger("arborist.actors")


class ActorSystem:
    """Owns a nursery, a registry of names and a timer heap. Get one from ``open_actor_system``.

    Actors spawned without an explicit nursery are children of the system; on exit the system
    shuts them down in reverse spawn order, each within ``shutdown_timeout`` seconds.
    """

    registry: Registry
    """The names of this system's live actors."""
    shutdown_timeout: float
    """Seconds each top-level actor gets to shut down when the system closes."""
    token: trio.lowlevel.TrioToken
    """The trio token of the system's run, for threads that call back into trio."""
    _nursery: trio.Nursery
    _timers: TimerService
    _top: dict[Cell, None]
    _open: bool
    _body: trio.CancelScope | None
    _interrupted: BaseException | None
    _starting: set[trio.CancelScope]
    _draining: tuple[Cell, list[tuple[()]]] | None

    def __init__(self) -> None:
        raise TypeError("use `async with open_actor_system() as system:`")

    @classmethod
    def _create(cls, nursery: trio.Nursery, shutdown_timeout: float) -> ActorSystem:
        self = object.__new__(cls)
        self._nursery = nursery
        self._timers = TimerService()
        self._top = {}
        self._open = True
        self._body = None
        self._interrupted = None
        self._starting = set()
        # The cell whose loop is handing a batch of messages to its handler from C, and the
        # list that batch iterates: emptying it ends the batch (Cell.request_stop).
        self._draining = None
        self.registry = Registry()
        self.shutdown_timeout = shutdown_timeout
        self.token = trio.lowlevel.current_trio_token()
        return self

    def __repr__(self) -> str:
        return f"<ActorSystem {len(self._top)} actors {'open' if self._open else 'closed'}>"

    async def spawn(
        self,
        actor_class: type[Actor],
        /,
        *args: Any,
        name: str | None = None,
        mailbox_size: int | None = None,
        trap_exits: bool | None = None,
        nursery: trio.Nursery | None = None,
        **kwargs: Any,
    ) -> ActorRef:
        """Create an actor, run its ``on_start`` and return its ref once it has started.

        Args:
            actor_class: an ``Actor`` subclass (``ThreadActor`` included).
            *args: positional arguments for the constructor.
            name: register the actor under this unique name.
            mailbox_size: bound the mailbox (None: unbounded).
            trap_exits: override the class's ``trap_exits``.
            nursery: run the actor in this nursery instead of the system's (supervisors do).
            **kwargs: keyword arguments for the constructor.

        Raises:
            TypeError: ``actor_class`` is not an Actor subclass, or ``name``, ``trap_exits`` or
                ``nursery`` is of the wrong type.
            ValueError: ``mailbox_size`` is not a positive int.
            NameTakenError: ``name`` is held by a live actor.
            ActorStartError: the constructor or ``on_start`` raised (chained as the cause).
        """
        if nursery is not None:
            check_instance(
                nursery, trio.Nursery, "spawn nursery", hint="; or None for the system's"
            )
        cell = self.prepare(
            actor_class, args, kwargs, name=name, mailbox_size=mailbox_size, trap_exits=trap_exits
        )
        # If an interrupt cancels the caller meanwhile, the start still completes (within the
        # shutdown timeout), so that the actor and its children are shut down in order.
        with trio.CancelScope() as starting:
            self._starting.add(starting)
            try:
                return await self.start_cell(cell, nursery)
            finally:
                self._starting.discard(starting)
        error = RuntimeError(
            "the actor system was interrupted while it started, and the start did not finish "
            f"within the shutdown timeout ({self.shutdown_timeout:g} s)"
        )
        raise ActorStartError(cell.describe(), error) from error

    def prepare(
        self,
        actor_class: type[Actor],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        name: str | None,
        mailbox_size: int | None,
        trap_exits: bool | None,
    ) -> Cell:
        """Validate and construct an actor without starting it (the first half of ``spawn``)."""
        if not self._open:
            raise RuntimeError("this actor system is closed; spawn inside `async with` only")
        check_actor_class(actor_class)
        check_bool(trap_exits, "trap_exits", none="for the class's setting")
        check_int(mailbox_size, "mailbox_size", none="for unbounded")
        if name is not None:
            check_name(name)  # before the constructor runs
            holder = self.registry.whereis(name)
            if holder is not None:
                raise NameTakenError(name, holder)
        try:
            actor = actor_class(*args, **kwargs)
        except Exception as exc:
            label = actor_class.__name__ + (f" {name!r}" if name else "")
            raise ActorStartError(label, exc) from exc
        # A class may run on another kind of cell (ThreadActor runs its handlers on a thread).
        cell_class: type[Cell] = getattr(actor_class, "_cell_class", Cell)
        cell = cell_class(
            self,
            actor,
            name=name,
            mailbox_size=mailbox_size,
            trap_exits=actor_class.trap_exits if trap_exits is None else trap_exits,
        )
        if name is not None:
            self.registry.register(name, cell.ref)
        return cell

    async def start_cell(self, cell: Cell, nursery: trio.Nursery | None) -> ActorRef:
        """Start a prepared actor in ``nursery`` (default: the system's) and return its ref."""
        if nursery is None:
            nursery = self._nursery
            self._top[cell] = None
        try:
            ref: ActorRef = await nursery.start(cell.run)
        except BaseException:
            if cell.task is None:
                # It never ran (a closed nursery): release its name and whoever watches it.
                cell.finish(Killed())
            raise
        return ref

    def _forget(self, cell: Cell) -> None:
        self._top.pop(cell, None)

    # -- interrupts --------------------------------------------------------------------------

    @property
    def interrupted(self) -> BaseException | None:
        """The ``KeyboardInterrupt`` or ``SystemExit`` that is stopping the system, or None.

        Set when one escapes an actor or a job; from then on supervisors restart nothing, the
        ``open_actor_system`` block is cancelled, every actor is shut down in order, and the
        block raises this very exception.
        """
        return self._interrupted

    def _interrupt(self, exc: BaseException, source: object) -> None:
        """An interrupt escaped ``source`` (an actor or a job): stop the system, raise it later.

        Synchronous and idempotent: the first interrupt wins; a later one is only logged.
        """
        if self._interrupted is not None:
            if exc is not self._interrupted:
                logger.warning(
                    "%r raised %r while the system was already stopping",
                    source,
                    exc,
                    extra=log_context(actor=source),
                )
            return
        self._interrupted = exc
        logger.warning(
            "%r raised %s; stopping the actor system",
            source,
            type(exc).__name__,
            extra=log_context(actor=source),
        )
        deadline = trio.current_time() + self.shutdown_timeout
        for starting in self._starting:
            starting.shield = True
            starting.deadline = deadline
        if self._body is not None:
            self._body.cancel()

    # -- by name -----------------------------------------------------------------------------

    def whereis(self, name: str) -> ActorRef | None:
        """Return the live actor registered as ``name``, or None."""
        return self.registry.whereis(name)

    def resolve(self, target: ActorRef | str) -> ActorRef:
        """Return ``target`` itself, or the live actor registered under that name.

        Raises:
            TypeError: ``target`` is neither an ``ActorRef`` nor a name (a str).
            LookupError: no live actor has that name.
        """
        if isinstance(target, ActorRef):
            return target
        if type(target) is not str:
            check_instance(target, str, "target", wanted="an ActorRef or an actor's name (a str)")
        ref = self.registry.whereis(target)
        if ref is None:
            raise LookupError(f"no live actor is registered as {target!r}")
        return ref

    def tell(self, target: ActorRef | str, message: Any) -> None:
        """``tell`` to a ref or to whichever incarnation holds the name now.

        Raises:
            TypeError: ``target`` is neither an ``ActorRef`` nor a str.
            LookupError: no live actor has that name.
            ActorDeadError, MailboxFullError: as ``ActorRef.tell``.
        """
        self.resolve(target).tell(message)

    async def ask(
        self, target: ActorRef | str, message: Any, *, timeout: float | None = DEFAULT_ASK_TIMEOUT
    ) -> Any:
        """``ask`` a ref or whichever incarnation holds the name now.

        Raises:
            TypeError: ``target`` is neither an ``ActorRef`` nor a str; a bad ``timeout``.
            LookupError: no live actor has that name.
            ValueError, AskTimeoutError, ActorDiedError: as ``ActorRef.ask``.
        """
        return await self.resolve(target).ask(message, timeout=timeout)

    def actors(self) -> list[ActorRef]:
        """Live actors spawned directly under the system, in spawn order."""
        return [cell.ref for cell in self._top]

    # -- shutdown ----------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        self._open = False
        for cell in reversed(list(self._top)):
            await cell.shutdown(self.shutdown_timeout)


def check_system(system: object) -> None:
    """Raise TypeError unless ``system`` is an ``ActorSystem`` (the hint names ``rt.system``)."""
    check_instance(
        system,
        ActorSystem,
        "system",
        hint="; open one with `async with open_actor_system()`, or pass rt.system in a Runtime",
    )


def check_actor_class(actor_class: Any) -> None:
    """Raise TypeError unless ``actor_class`` is an ``Actor`` subclass."""
    if isinstance(actor_class, type) and any(
        base.__module__.split(".")[0] == "pykka" for base in actor_class.__mro__
    ):
        raise TypeError(
            f"{actor_class.__name__} is a pykka actor; spawn it as "
            f"`system.spawn(ThreadActor.adopt({actor_class.__name__}), ...)`"
        )
    if not (isinstance(actor_class, type) and issubclass(actor_class, Actor)):
        raise TypeError(
            f"spawn() takes an Actor subclass (or a ThreadActor for blocking code); "
            f"got {actor_class!r}"
        )


@asynccontextmanager
async def open_actor_system(*, shutdown_timeout: float = 5.0) -> AsyncIterator[ActorSystem]:
    """Open an actor system; every actor it spawns ends before the block exits.

    On exit (normal, error or cancellation) the system's actors are shut down in reverse spawn
    order, each killed if it has not stopped after ``shutdown_timeout`` seconds. The block's
    own exception comes out bare. A ``KeyboardInterrupt`` or ``SystemExit`` raised in an actor
    or a job cancels the block, and once every actor is down the block raises that very
    exception (see the ``arborist.actors`` docstring).

    Raises:
        TypeError: ``shutdown_timeout`` is not a number (raised on entering the block).
        ValueError: ``shutdown_timeout`` is negative or NaN.

    Example:
        >>> async with open_actor_system() as system:  # doctest: +SKIP
        ...     ref = await system.spawn(Counter)
        ...     await ref.ask(1)
    """
    check_seconds(shutdown_timeout, "shutdown_timeout")
    error: BaseException | None = None
    system: ActorSystem | None = None
    try:
        async with trio.open_nursery() as nursery:
            # Actors live in a shielded nursery: cancelling the block reaches the body only,
            # and the shutdown below still stops every actor in order, with its on_stop.
            actors, shield = await nursery.start(_shielded_nursery)
            system = ActorSystem._create(actors, shutdown_timeout)
            actors.start_soon(system._timers.run)
            try:
                # An interrupt escaping an actor or a job cancels the body (only).
                with trio.CancelScope() as system._body:
                    yield system
            finally:
                system._body = None
                with trio.CancelScope(shield=True):
                    await system._shutdown()
                shield.cancel()
    except BaseExceptionGroup as group:
        # Only the body can fail here (actors never raise into the system's nursery), so the
        # caller gets its own error back, bare, with its cause and traceback intact.
        if len(group.exceptions) != 1 and (system is None or system._interrupted is None):
            raise
        error = group.exceptions[0]
    if system is not None and system._interrupted is not None:
        # The interrupt itself, bare (the original object: a SystemExit keeps its code),
        # whatever the cancelled body raised on its way out.
        error = system._interrupted
    if error is not None:
        raise error


async def _shielded_nursery(
    task_status: trio.TaskStatus[tuple[trio.Nursery, trio.CancelScope]],
) -> None:
    with trio.CancelScope(shield=True) as scope:
        async with trio.open_nursery() as nursery:
            task_status.started((nursery, scope))
            del task_status  # it keeps trio's start() nursery alive (see Cell.hand_over)
            await trio.sleep_forever()

"""ThreadActor: an actor whose handlers run on an OS thread of their own, for blocking code.

From trio a thread actor is an ordinary actor: refs, names, monitors, links, timers and
supervisors treat it like any other. Its trio side is a ``ThreadCell`` (``_thread_cell``),
which hands queued messages to the actor's thread in batches. ``ThreadActor.adopt`` wraps an
existing ``pykka.ThreadingActor`` class so arborist runs it.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import pykka
import pykka.messages
import trio

from ._actor import _HOOKS, Actor
from ._reasons import Crashed, ExitReason
from ._thread_cell import ThreadCell, ThreadMailbox

if TYPE_CHECKING:
    from ._cell import Cell
    from ._messages import Monitor
    from ._ref import ActorRef
    from ._timers import TimerHandle

__all__ = ["ThreadActor"]

T = TypeVar("T")


class ThreadActor(Actor):
    """An actor whose handlers run on an OS thread of its own (backed by ``pykka.ThreadingActor``).

    Use it for blocking code (blocking I/O, C extensions, libraries without async support).
    Subclass it and write plain ``def`` handlers: ``on_start()``, ``on_receive(message)``,
    ``on_failure(exc)``, ``on_stop(reason)`` and public methods for ``ref.proxy()`` all run on
    the actor's thread, always the same one, one message at a time, in mailbox order. Spawn,
    supervise, monitor, link and name it as any actor: its ref is an ordinary ``ActorRef``.

    Semantics:

    - Awaiting ``ask`` or a proxy call parks only the caller: the trio loop keeps running while
      the thread works.
    - Let it crash: an exception in a handler ends the actor with ``Crashed(exc)``; pending asks
      fail with ``ActorDiedError`` (cause chained) and later messages are not handled.
    - ``kill()`` cannot interrupt a handler that blocks. The actor is marked ``Killed`` at once
      (pending asks fail, monitors and links fire); the thread finishes the handler in the
      background and its result is discarded. The thread is a daemon thread.
    - From the actor's thread, ``self.stop()``, ``send_after``, ``send_interval``, ``monitor``,
      ``demonitor``, ``link`` and ``unlink`` work as in any actor. To reach other actors use
      ``self.call_in_trio(other.tell, msg)`` or ``self.await_in_trio(other.ask, msg)``; never
      ask yourself (it deadlocks, as in any actor).

    A quick reply is waited for on the trio thread (``reply_wait``, 100 us by default): when
    an ask hands its message to an idle actor while no other trio task is runnable, the asker
    makes the ask's checkpoint while the thread handles the message, then, if trio still has
    nothing else to run and no deadline falls within the wait, trio blocks on a lock for at
    most ``reply_wait`` seconds for the reply (as pykka's blocking ``ask`` is woken by a
    lock), instead of parking until the reply comes through the trio token's wake-up socket.
    The trade-off: for that long trio runs nothing else, so a socket that becomes readable
    then, or a task of the same scheduler pass, waits up to ``reply_wait`` more. A wait that
    runs out costs exactly ``reply_wait`` and makes the next asks to this actor skip it (2,
    4, ... up to 1,024 of them), so a slow handler is hardly ever waited for. The checks read
    trio's run queue, its ``run_sync_soon`` queue and (the second) its next deadline (what
    ``trio.lowlevel.current_statistics()`` reports, read without building the whole record).
    Set ``reply_wait = 0`` on a subclass to never wait (for I/O-heavy programs with strict
    latency budgets).

    Testing: trio cannot see work in flight on a thread, so under ``MockClock`` with autojump
    virtual time may leap ahead while a handler runs (an ask timeout or a shutdown timeout can
    then fire at once). Test thread actors on the real clock, guarded by ``trio.fail_after``.

    Async handlers are refused when the class is created, as is ``owns_nursery = True``.
    To run an existing ``pykka.ThreadingActor`` class, spawn ``ThreadActor.adopt(cls)``.

    Example:
        >>> class Files(ThreadActor):
        ...     def on_receive(self, path: str) -> str:
        ...         with open(path) as f:  # blocks this actor's thread, not trio
        ...             return f.read()
    """

    reply_wait: ClassVar[float] = 100e-6
    """Seconds trio may block for a quick reply to an ask (see the class docs); 0: never."""

    _cell_class: ClassVar[type[Cell]] = ThreadCell
    _mailbox_type = ThreadMailbox
    _cell: ThreadCell

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in vars(cls).items():
            fn = value.__func__ if isinstance(value, staticmethod | classmethod) else value
            if name.startswith("_") and name not in _HOOKS:
                continue
            if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
                raise TypeError(
                    f"{cls.__name__}.{name} is `async def`, but a ThreadActor runs its handlers "
                    "and proxied methods on an OS thread; define it with plain `def`, or "
                    "subclass Actor to write async handlers"
                )
        if cls.owns_nursery:
            raise TypeError(
                f"{cls.__name__} sets owns_nursery = True, but a ThreadActor has no nursery "
                "(its code runs on a thread); subclass Actor to own a nursery"
            )

    # -- crossing to trio ----------------------------------------------------------------------

    def _thread_cell(self) -> ThreadCell:
        return cast("ThreadCell", self._started_cell())

    def call_in_trio(self, fn: Callable[..., T], *args: Any) -> T:
        """Run the sync ``fn(*args)`` on the trio thread and return its result.

        Blocks the actor's thread until trio has run it (trio is never blocked by it). Safe to
        call from the trio thread too (it then calls ``fn`` directly).

        Example:
            >>> self.call_in_trio(other_ref.tell, "ping")  # doctest: +SKIP
        """
        return self._thread_cell().in_trio(fn, *args)

    def await_in_trio(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run the async ``fn(*args)`` in trio, wait on this thread for it, return its result.

        Must not be called from the trio thread. Asking this actor itself deadlocks.

        Example:
            >>> total = self.await_in_trio(counter_ref.ask, 1)  # doctest: +SKIP
        """
        cell = self._thread_cell()
        if threading.get_ident() == cell.trio_thread_ident:
            raise RuntimeError(
                "await_in_trio() blocks the calling thread, so it cannot run on the trio thread; "
                "await the coroutine directly there"
            )

        async def run() -> T:
            return await fn(*args)

        return trio.from_thread.run(run, trio_token=cell.system.token)

    # -- context methods, safe from the actor's thread ------------------------------------------

    def stop(self, reason: ExitReason | None = None) -> None:
        """Stop after the current message (``Normal`` by default); queued messages are dropped."""
        self.call_in_trio(super().stop, reason)

    def send_after(self, delay: float, message: Any) -> TimerHandle:
        """Deliver ``message`` to this actor's thread in ``delay`` seconds of trio time."""
        return self.call_in_trio(super().send_after, delay, message)

    def send_interval(
        self, period: float, message: Any, *, first: float | None = None
    ) -> TimerHandle:
        """Deliver ``message`` every ``period`` seconds (first after ``first``)."""
        parent = super().send_interval
        return self.call_in_trio(lambda: parent(period, message, first=first))

    def monitor(self, target: ActorRef) -> Monitor:
        """Receive ``Down(target, reason)`` when ``target`` ends (at once if it already has)."""
        return self.call_in_trio(super().monitor, target)

    def demonitor(self, monitor: Monitor) -> None:
        """Stop a monitor; no ``Down`` is delivered for it afterwards."""
        self.call_in_trio(super().demonitor, monitor)

    def link(self, other: ActorRef) -> None:
        """Link with ``other`` (see ``Actor.link``)."""
        self.call_in_trio(super().link, other)

    def unlink(self, other: ActorRef) -> None:
        """Remove a link in both directions (no-op if not linked)."""
        self.call_in_trio(super().unlink, other)

    # -- adopting pykka actors -----------------------------------------------------------------

    @classmethod
    def adopt(cls, pykka_class: type[pykka.ThreadingActor]) -> type[ThreadActor]:
        """Wrap an existing ``pykka.ThreadingActor`` class so arborist can spawn it.

        The pykka actor is constructed by ``spawn`` (with the spawn's arguments) but never
        started by pykka: arborist runs its hooks on a ThreadActor thread instead. Its
        ``on_start()``, ``on_receive(msg)`` and public methods (through ``ref.proxy()``) are
        called as pykka would; ``on_failure(type, exc, tb)`` runs after a crash and
        ``on_stop()`` at the end, whatever the reason but ``Killed``. Inside it,
        ``self.actor_ref.tell(msg)`` queues ``msg`` in its arborist mailbox and ``self.stop()``
        stops it normally; pykka asks and proxies to it are refused (use the arborist ref).

        Unlike plain pykka, an exception while answering an ask crashes the actor
        (``Crashed(exc)``) instead of being returned to the caller.

        Example:
            >>> ref = await system.spawn(ThreadActor.adopt(MyPykkaActor), 1)  # doctest: +SKIP
            >>> await ref.proxy().method()  # doctest: +SKIP

        Raises:
            TypeError: ``pykka_class`` is not a ``pykka.ThreadingActor`` subclass.
        """
        if not (isinstance(pykka_class, type) and issubclass(pykka_class, pykka.ThreadingActor)):
            raise TypeError(
                f"ThreadActor.adopt() takes a pykka.ThreadingActor subclass; got {pykka_class!r}"
            )
        namespace: dict[str, Any] = {
            "__module__": pykka_class.__module__,
            "__qualname__": pykka_class.__qualname__,
            "__doc__": pykka_class.__doc__,
            "pykka_class": pykka_class,
        }
        for name in dir(pykka_class):
            if name.startswith("_") or hasattr(pykka.ThreadingActor, name):
                continue
            if callable(getattr(pykka_class, name)) and not hasattr(_AdoptedPykkaActor, name):
                namespace[name] = _forward(name)
        return type(pykka_class.__name__, (_AdoptedPykkaActor,), namespace)


def _forward(name: str) -> Callable[..., Any]:
    def method(self: _AdoptedPykkaActor, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.pykka_actor, name)(*args, **kwargs)

    method.__name__ = name
    return method


class _Inbox:
    """Stands in for an adopted pykka actor's inbox: routes its own ``tell``s to arborist."""

    def __init__(self, owner: _AdoptedPykkaActor) -> None:
        self._owner = owner

    def put(self, envelope: Any, /) -> None:
        owner = self._owner
        message = envelope.message
        reply_to = envelope.reply_to
        if isinstance(message, pykka.messages._ActorStop):
            owner.stop()
            if reply_to is not None:
                reply_to.set(None)
        elif reply_to is None and not isinstance(
            message, pykka.messages.ProxyCall | pykka.messages.ProxySetAttr
        ):
            owner.call_in_trio(owner.ref.tell, message)
        else:
            error = TypeError(
                f"{owner.ref!r} runs under arborist: ask it or call its proxy through its "
                "arborist ref, not through its pykka actor_ref"
            )
            if reply_to is None:
                raise error
            reply_to.set_exception((TypeError, error, None))

    def get(self) -> Any:  # pragma: no cover - pykka never runs this actor's loop
        raise RuntimeError("an adopted pykka actor has no pykka loop")

    def empty(self) -> bool:  # pragma: no cover
        return True


class _AdoptedPykkaActor(ThreadActor):
    """Base of the classes ``ThreadActor.adopt`` makes: forwards hooks to a pykka instance."""

    pykka_class: ClassVar[type[pykka.ThreadingActor]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        actor = self.pykka_actor = self.pykka_class(*args, **kwargs)
        actor.actor_inbox = actor.actor_ref.actor_inbox = _Inbox(self)

    def on_start(self) -> None:
        self.pykka_actor.on_start()

    def on_receive(self, message: Any) -> Any:
        return self.pykka_actor.on_receive(message)

    def on_failure(self, exc: BaseException) -> None:
        self.pykka_actor.actor_stopped.set()
        self.pykka_actor.on_failure(type(exc), exc, exc.__traceback__)

    def on_stop(self, reason: ExitReason) -> None:
        # pykka calls on_stop only for an orderly stop; on_failure stands in after a crash.
        self.pykka_actor.actor_stopped.set()
        if not isinstance(reason, Crashed):
            self.pykka_actor.on_stop()

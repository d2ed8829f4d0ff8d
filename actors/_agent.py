"""Agent: the simplest state holder, an actor that applies functions to one value in turn.

As Elixir's ``Agent``: callers send plain functions of the state; the agent applies them one
at a time, in mailbox order, so concurrent updates never race. A function that raises crashes
the agent ("let it crash"): the caller's request fails with ``ActorDiedError`` (the exception
chained as the cause), later requests fail as for any dead actor, and a supervisor, if any,
restarts the agent from its initial state.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import attrs
import trio

from ._actor import Actor
from ._ref import DEFAULT_ASK_TIMEOUT, ActorRef
from ._system import check_system

if TYPE_CHECKING:
    from ._reasons import ExitReason
    from ._system import ActorSystem

__all__ = ["Agent", "AgentRef", "spawn_agent"]

S = TypeVar("S")
R = TypeVar("R")


@attrs.frozen
class _Get:
    fn: Callable[[Any], Any]


@attrs.frozen
class _Update:
    fn: Callable[[Any], Any]


@attrs.frozen
class _GetAndUpdate:
    fn: Callable[[Any], Any]


@attrs.frozen
class _Cast:
    fn: Callable[[Any], Any]


def _identity(state: S) -> S:
    return state


class Agent(Actor, Generic[S]):
    """The actor behind an ``AgentRef``: holds ``state`` and applies the functions it is sent.

    Spawn it with ``spawn_agent`` (or ``system.spawn(Agent, initial, name=...)`` and wrap the
    ref in ``AgentRef``). The functions run inside the agent, one at a time: keep them short,
    since a slow function delays every other caller.
    """

    def __init__(self, initial: S) -> None:
        self.state = initial

    def on_receive(self, message: Any) -> Any:
        """Apply one function to the state (the agent's protocol is private to ``AgentRef``)."""
        match message:
            case _Get(fn):
                return fn(self.state)
            case _Update(fn) | _Cast(fn):
                self.state = fn(self.state)
                return None
            case _GetAndUpdate(fn):
                result = fn(self.state)
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise TypeError(
                        f"get_and_update function {fn!r} must return a (reply, new_state) "
                        f"pair; it returned {result!r}"
                    )
                reply, self.state = result
                return reply
        raise TypeError(
            f"an Agent takes requests only through AgentRef (get, update, get_and_update, "
            f"cast); got {message!r}"
        )


def _check_fn(method: str, fn: Any) -> None:
    if not callable(fn):
        raise TypeError(f"AgentRef.{method}() takes a function of the state; got {fn!r}")
    if inspect.iscoroutinefunction(fn):
        raise TypeError(
            f"AgentRef.{method}() takes a plain function of the state, run inside the agent; "
            f"{fn!r} is `async def` (use an Actor for async work)"
        )


class AgentRef(Generic[S]):
    """A typed handle on an ``Agent``: ``get``, ``update``, ``get_and_update``, ``cast``, ``stop``.

    Requests from one task are applied in the order sent. If a function raises, the agent
    crashes: that request raises ``ActorDiedError`` with the function's exception as
    ``__cause__``, and every later request raises ``ActorDiedError``/``ActorDeadError``.

    Example:
        >>> counter = await spawn_agent(system, 0)  # doctest: +SKIP
        >>> await counter.update(lambda n: n + 1)  # doctest: +SKIP
        >>> await counter.get()  # doctest: +SKIP
        1
    """

    __slots__ = ("ref",)

    ref: ActorRef
    """The agent's ``ActorRef``, for monitors, links and supervisors."""

    def __init__(self, ref: ActorRef) -> None:
        """Wrap the ref of an ``Agent`` (e.g. one a supervisor spawned, found by name).

        Raises:
            TypeError: ``ref`` is not the ref of an ``Agent``.
        """
        if not (isinstance(ref, ActorRef) and issubclass(ref.actor_class, Agent)):
            raise TypeError(
                f"AgentRef wraps the ref of an Agent; got {ref!r} "
                "(spawn the agent with spawn_agent() or system.spawn(Agent, initial))"
            )
        self.ref = ref

    def __repr__(self) -> str:
        return f"<AgentRef of {self.ref!r}>"

    @property
    def is_alive(self) -> bool:
        """True until the agent has exited."""
        return self.ref.is_alive

    @overload
    async def get(self, *, timeout: float | None = ...) -> S: ...

    @overload
    async def get(self, fn: Callable[[S], R], *, timeout: float | None = ...) -> R: ...

    async def get(
        self, fn: Callable[[S], Any] = _identity, *, timeout: float | None = DEFAULT_ASK_TIMEOUT
    ) -> Any:
        """Return ``fn(state)`` (the state itself by default), computed inside the agent.

        Returning a mutable state shares it with the caller; copy it in ``fn`` if needed.

        Raises:
            ActorDiedError: ``fn`` raised (chained as the cause) or the agent is dead.
            AskTimeoutError: no reply within ``timeout`` seconds.
        """
        _check_fn("get", fn)
        return await self.ref.ask(_Get(fn), timeout=timeout)

    async def update(
        self, fn: Callable[[S], S], *, timeout: float | None = DEFAULT_ASK_TIMEOUT
    ) -> None:
        """Replace the state with ``fn(state)`` and wait until it is done.

        Raises:
            ActorDiedError: ``fn`` raised (chained as the cause) or the agent is dead.
            AskTimeoutError: no reply within ``timeout`` seconds (the update may still happen).
        """
        _check_fn("update", fn)
        await self.ref.ask(_Update(fn), timeout=timeout)

    async def get_and_update(
        self, fn: Callable[[S], tuple[R, S]], *, timeout: float | None = DEFAULT_ASK_TIMEOUT
    ) -> R:
        """Apply ``fn(state) -> (reply, new_state)``: store ``new_state`` and return ``reply``.

        Raises:
            ActorDiedError: ``fn`` raised or did not return a pair (the agent crashed; the
                cause is chained), or the agent is dead.
            AskTimeoutError: no reply within ``timeout`` seconds.
        """
        _check_fn("get_and_update", fn)
        reply: R = await self.ref.ask(_GetAndUpdate(fn), timeout=timeout)
        return reply

    def cast(self, fn: Callable[[S], S]) -> None:
        """Queue ``state = fn(state)`` and return at once (fire and forget, never blocks).

        A raising ``fn`` still crashes the agent; nobody is waiting to hear it, so watch the
        agent (monitor, link or supervisor) if that matters.

        Raises:
            ActorDeadError: the agent is dead or stopping.
            MailboxFullError: the agent's bounded mailbox is full.
        """
        _check_fn("cast", fn)
        self.ref.tell(_Cast(fn))

    async def stop(self) -> ExitReason:
        """Stop the agent after the requests already queued; return its exit reason."""
        return await self.ref.stop()


async def spawn_agent(
    system: ActorSystem,
    initial: S,
    *,
    name: str | None = None,
    mailbox_size: int | None = None,
    nursery: trio.Nursery | None = None,
) -> AgentRef[S]:
    """Spawn an ``Agent`` holding ``initial`` and return a typed ``AgentRef`` on it.

    Args:
        system: the actor system to spawn in.
        initial: the first state. A supervisor restarting the agent passes the same value
            again, so prefer immutable states (or ones the functions replace, not mutate).
        name: register the agent under this unique name.
        mailbox_size: bound its mailbox (None: unbounded).
        nursery: run it in this nursery instead of the system's.

    Raises:
        TypeError: ``system`` is not an ``ActorSystem`` (in a Runtime, pass ``rt.system``).
        NameTakenError: ``name`` is held by a live actor.

    Example:
        >>> cache = await spawn_agent(system, {}, name="cache")  # doctest: +SKIP
        >>> await cache.update(lambda d: {**d, "k": 1})  # doctest: +SKIP
    """
    check_system(system)
    ref = await system.spawn(Agent, initial, name=name, mailbox_size=mailbox_size, nursery=nursery)
    return AgentRef(ref)

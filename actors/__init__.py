"""The actor kernel: trio actors with mailboxes, asks, monitors, links, timers and names.

Semantics, in one place:

- An actor is a trio task with private state and a FIFO mailbox. It handles one message at a
  time; messages told by one sender arrive in the order sent.
- ``ref.tell(msg)`` never blocks; a full bounded mailbox raises ``MailboxFullError`` and
  ``await ref.send(msg)`` waits for room. Nothing is dropped silently.
- ``await ref.ask(msg, timeout=5.0)`` returns the handler's value; a timeout never harms the
  callee (its late reply is discarded).
- Let it crash: an exception escaping a handler ends the actor with ``Crashed(exc)``; every
  pending and later ask fails with ``ActorDiedError`` (cause chained); ``tell`` to a dead actor
  raises ``ActorDeadError``; monitors get ``Down``; links propagate non-normal exits.
- Timers (``send_after``, ``send_interval``) read trio's clock and die with the actor.
- Names live in the system's registry and are released at exit, so a restarted incarnation can
  take the same name.
- An ``Agent`` (``spawn_agent``) holds one value and applies callers' functions to it in turn;
  a raising function crashes it like any actor.
- A ``ThreadActor`` runs its plain ``def`` handlers on an OS thread of its own (pykka under the
  hood); from trio it is an ordinary actor, and awaiting it never blocks the trio loop.
"""

from ._actor import Actor
from ._agent import Agent, AgentRef, spawn_agent
from ._cell import Monitor
from ._errors import (
    ActorDeadError,
    ActorDiedError,
    ActorError,
    ActorStartError,
    AskTimeoutError,
    MailboxFullError,
    NameTakenError,
)
from ._messages import Down, Exit
from ._reasons import Crashed, ExitReason, Killed, Normal, Shutdown, is_abnormal
from ._ref import DEFAULT_ASK_TIMEOUT, ActorProxy, ActorRef
from ._registry import Registry
from ._system import ActorSystem, open_actor_system
from ._thread import ThreadActor
from ._timers import TimerHandle

__all__ = [
    "DEFAULT_ASK_TIMEOUT",
    "Actor",
    "ActorDeadError",
    "ActorDiedError",
    "ActorError",
    "ActorProxy",
    "ActorRef",
    "ActorStartError",
    "ActorSystem",
    "Agent",
    "AgentRef",
    "AskTimeoutError",
    "Crashed",
    "Down",
    "Exit",
    "ExitReason",
    "Killed",
    "MailboxFullError",
    "Monitor",
    "NameTakenError",
    "Normal",
    "Registry",
    "Shutdown",
    "ThreadActor",
    "TimerHandle",
    "is_abnormal",
    "open_actor_system",
    "spawn_agent",
]

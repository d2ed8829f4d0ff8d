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
- Timers (``send_after``, ``send_interval``) read trio's clock and die with the actor; the
  shortest period is 1 ms.
- Names live in the system's registry and are released at exit, so a restarted incarnation can
  take the same name.
- An ``Agent`` (``spawn_agent``) holds one value and applies callers' functions to it in turn;
  a raising function crashes it like any actor.
- A ``ThreadActor`` runs its plain ``def`` handlers on an OS thread of its own (pykka under the
  hood); from trio it is an ordinary actor, and awaiting it never blocks the trio loop.
- Memory is flat in the number of actors that ended: a fired monitor, a link to a dead actor,
  a cancelled or fired timer and a released name hold nothing, so a dead incarnation is freed
  once nobody else holds its ref (a ref keeps its actor object; drop refs you do not need).

BaseExceptions that escape an actor (a handler, a hook, a task of its own nursery, a thread
actor's thread; ``arborist.supervision`` applies the same rules to function children and to
task-supervisor jobs) are sorted where the kernel catches them:

- ``KeyboardInterrupt`` and ``SystemExit`` stop the whole actor system. The actor ends with
  ``Crashed(exc)`` (its ``on_failure``/``on_stop`` run; pending asks fail with
  ``ActorDiedError`` caused by it), ``system.interrupted`` is set, supervisors restart
  nothing from then on, actors still starting may finish their start (within
  ``shutdown_timeout``), the ``open_actor_system`` block is cancelled, every actor is shut
  down in reverse spawn order as on a normal exit, and the block raises the original
  exception object, bare (no group around it; a ``SystemExit`` keeps its exit code). Actors
  spawned into a nursery of your own end when that nursery is cancelled with the block.
- A real cancellation (a ``trio.Cancelled`` while the task is being cancelled: ``kill()``, a
  shutdown timeout, the owner's cancel scope) propagates, as trio requires: ``Killed``.
- Any other ``BaseException`` -- ``GeneratorExit``, your own ``BaseException`` subclass, a
  ``trio.Cancelled`` raised when nothing is being cancelled (a stale one re-raised by hand) --
  is a crash of that actor only: ``Crashed(exc)`` with the original object, restarted by
  supervisors under the normal rules. One exception: trio swallows a ``Cancelled`` that a task
  of a nursery raises (it cancels that nursery instead), so a stale ``Cancelled`` in a task of
  an actor's own nursery crashes the actor with a ``RuntimeError`` saying so.
"""

from ._actor import Actor
from ._agent import Agent, AgentRef, spawn_agent
from ._errors import (
    ActorDeadError,
    ActorDiedError,
    ActorError,
    ActorStartError,
    AskTimeoutError,
    MailboxFullError,
    NameTakenError,
)
from ._messages import Down, Exit, Monitor
from ._reasons import Crashed, ExitReason, Killed, Normal, Shutdown, is_abnormal
from ._ref import DEFAULT_ASK_TIMEOUT, ActorProxy, ActorRef
from ._registry import Registry
from ._system import ActorSystem, open_actor_system
from ._thread import ThreadActor
from ._timers import TimerHandle
from ._version import __version__ as __version__

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

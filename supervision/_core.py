"""The machinery every supervisor shares: starting, watching, stopping and restarting children.

A supervisor is an actor that owns a nursery; its children run in that nursery and are
monitored, so a child's exit arrives as a ``Down`` message in the supervisor's mailbox. All
decisions happen in the supervisor's message handler, one message at a time, so they never
race. Handling an exit, in order:

1. A ``Down`` for an incarnation that is no longer current (the supervisor already stopped it)
   is ignored.
2. The child's restart type decides: permanent always restarts; transient restarts only after
   ``Crashed`` or ``Killed``; temporary never (its spec is dropped). A child that is not
   restarted is ``stopped`` (auto-shutdown is checked if it is significant).
3. A restart is counted against the intensity: if more than ``max_restarts`` restarts fall
   within ``max_seconds`` (a restart ``max_seconds`` old still counts; one older does not),
   the supervisor reports ``SupervisorGaveUp``, stops every child in reverse start order and
   ends with ``Crashed(SupervisorGaveUpError)``, which its own supervisor sees as a crash.
4. The strategy picks the affected siblings; those still running are stopped in reverse start
   order (temporary ones are dropped, as in OTP), and all are marked ``restarting``.
5. After the backoff delay, if any (a timer message), they start again in start order. A
   child that fails to start is retried through the mailbox, as a new restart (counted).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import random
from collections.abc import Hashable
from typing import Any, ClassVar

import outcome
import trio

from arborist.actors import (
    Actor,
    ActorDeadError,
    ActorRef,
    ActorStartError,
    Crashed,
    Down,
    ExitReason,
    Normal,
    is_abnormal,
)
from arborist.actors._logging import get_logger, log_context

from ._backoff import Backoff
from ._child import (
    RESTARTING,
    RUNNING,
    STOPPED,
    Child,
    CountChildren,
    Request,
    RestartDue,
    Snapshot,
    TryAgain,
    WhichChildren,
)
from ._child_events import (
    ChildExited,
    ChildRestarted,
    ChildStarted,
    SupervisorEvent,
    SupervisorGaveUp,
)
from ._errors import ChildStartError, SupervisorGaveUpError
from ._events import EventBus
from ._snapshot import ChildCounts, NodeSnapshot
from ._spec import AutoShutdown, Kind, Restart, Strategy

__all__ = ["SupervisorBase"]

logger = get_logger("arborist.supervision")


class SupervisorBase(Actor):
    """Base class of supervisor actors (internal): children, intensity, backoff and events."""

    owns_nursery = True
    supervisor_kind: ClassVar[bool] = True
    strategy: Strategy = Strategy.ONE_FOR_ONE
    drops_stopped_children: ClassVar[bool] = False

    def __init__(
        self,
        *,
        max_restarts: int,
        max_seconds: float,
        backoff: Backoff | None,
        auto_shutdown: AutoShutdown,
        upstream: SupervisorBase | None = None,
        child_id: Hashable | None = None,
    ) -> None:
        self._child_id = child_id
        self._max_restarts = max_restarts
        self._max_seconds = max_seconds
        self._backoff = backoff
        self._auto_shutdown = auto_shutdown
        self._upstream = upstream
        self._children: dict[Hashable, Child] = {}
        self._by_ref: dict[ActorRef, Child] = {}
        self._restart_times: collections.deque[float] = collections.deque()
        self._events: EventBus[SupervisorEvent] = EventBus()
        self._rng = random.Random()

    # -- description and events ----------------------------------------------------------------

    @property
    def label(self) -> str:
        """How errors and logs name it: its registered name, its child id, or class#id."""
        ref = self.ref
        if ref.name is not None:
            return repr(ref.name)
        if self._child_id is not None:
            return repr(self._child_id)
        return f"{type(self).__name__}#{ref.id}"

    def _listening(self) -> bool:
        sup: SupervisorBase | None = self
        while sup is not None:
            if sup._events:
                return True
            sup = sup._upstream
        return False

    def _emit(self, event: SupervisorEvent) -> None:
        sup: SupervisorBase | None = self
        while sup is not None:
            if sup._events:
                sup._events.emit(event)
            sup = sup._upstream

    # -- lifecycle -----------------------------------------------------------------------------

    async def on_stop(self, reason: ExitReason) -> None:
        """Stop every child (reverse start order; concurrently for dynamic supervisors)."""
        await self._terminate_all()

    async def _terminate_all(self) -> None:
        for child in reversed(list(self._children.values())):
            await self._terminate(child)
            child.state = STOPPED

    # -- messages ------------------------------------------------------------------------------

    async def on_receive(self, message: Any) -> Any:
        """Handle child exits, restart timers and requests from supervisor refs."""
        match message:
            case Down(ref, reason):
                await self._on_down(ref, reason)
            case RestartDue(token, delay):
                group = [c for c in self._children.values() if c.pending is token]
                for child in group:
                    child.pending = None
                await self._start_group(group, delay)
            case TryAgain(key, token, reason):
                retry = self._children.get(key)
                if retry is not None and retry.pending is token:
                    retry.pending = None
                    await self._restart(retry, reason)
            case Request():
                try:
                    return outcome.Value(await self._handle(message))
                except Exception as exc:
                    return outcome.Error(exc)
            case _:
                logger.error(
                    "supervisor %s got a message it does not handle: %r (dropped)",
                    self.label,
                    message,
                    extra=log_context(supervisor=self.label),
                )
        return None

    async def _handle(self, request: Request) -> Any:
        match request:
            case WhichChildren():
                return [child.info() for child in self._children.values()]
            case CountChildren():
                return self._count()
            case Snapshot(node_id, restart_count):
                return await self._snapshot(node_id, restart_count)
        raise TypeError(f"supervisor {self.label} does not handle {request!r}")

    def _count(self) -> ChildCounts:
        specs = active = supervisors = 0
        for child in self._children.values():
            specs += 1
            active += child.state is RUNNING
            supervisors += child.spec.kind is Kind.SUPERVISOR
        return ChildCounts(specs, active, supervisors, specs - supervisors)

    async def _snapshot(self, node_id: Hashable | None, restart_count: int) -> NodeSnapshot:
        ref = self.ref
        children = [await self._child_node(child) for child in list(self._children.values())]
        return NodeSnapshot(
            id=node_id if node_id is not None else (ref.name or type(self).__name__),
            kind=Kind.SUPERVISOR,
            state=RUNNING,
            restart_count=restart_count,
            mailbox_size=ref.mailbox_size,
            actor=type(self).__name__,
            strategy=self.strategy,
            children=tuple(children),
        )

    async def _child_node(self, child: Child) -> NodeSnapshot:
        ref = child.ref
        if ref is not None and issubclass(ref.actor_class, SupervisorBase):
            try:
                result = await ref.ask(Snapshot(child.spec.id, child.restarts), timeout=None)
                node: NodeSnapshot = result.unwrap()
            except ActorDeadError:
                pass
            else:
                return node
        return NodeSnapshot(
            id=child.spec.id,
            kind=child.spec.kind,
            state=child.state,
            restart_count=child.restarts,
            mailbox_size=ref.mailbox_size if ref is not None else 0,
            actor=ref.actor_class.__name__ if ref is not None else None,
        )

    # -- starting and stopping one child -------------------------------------------------------

    async def _start(self, child: Child) -> ActorRef:
        """Start one incarnation of ``child`` in this supervisor's nursery and watch it.

        Raises:
            ChildStartError: the child's constructor or ``on_start`` raised (cause chained).
        """
        spec = child.spec
        cls, args, kwargs = spec.actor_start()
        if issubclass(cls, SupervisorBase):
            kwargs = {**kwargs, "upstream": self, "child_id": spec.id}
        system = self.system
        monitor = None
        try:
            cell = system.prepare(
                cls, args, kwargs, name=spec.name, mailbox_size=None, trap_exits=None
            )
            # Watch before it runs: a child that dies right after its start is still seen.
            monitor = self.monitor(cell.ref)
            ref = await system.start_cell(cell, self.nursery)
        except Exception as exc:
            if monitor is not None:
                self.demonitor(monitor)
            cause: BaseException = exc
            if type(exc) is ActorStartError and exc.__cause__ is not None:
                cause = exc.__cause__  # the kernel's wrapper adds nothing here
            raise ChildStartError(self.label, spec.id, cause) from cause
        now = trio.current_time()
        child.ref = ref
        child.state = RUNNING
        child.started_at = now
        child.pending = None
        child.monitor = monitor
        self._by_ref[ref] = child
        child.notify()
        if self._listening():
            self._emit(ChildStarted(self.ref, spec.id, ref, now))
        return ref

    async def _terminate(self, child: Child) -> None:
        """Stop ``child``'s incarnation, if any: shutdown, then kill after its shutdown time."""
        child.pending = None
        ref = child.ref
        if ref is None:
            return
        del self._by_ref[ref]
        if child.monitor is not None:
            self.demonitor(child.monitor)
        child.ref = None
        child.monitor = None
        timeout = child.spec.shutdown
        reason = await ref.shutdown(None if math.isinf(timeout) else timeout)
        if self._listening():
            self._emit(ChildExited(self.ref, child.spec.id, ref, reason, trio.current_time()))

    def _retire(self, child: Child) -> None:
        """The child will not run again by itself: drop a temporary spec, else mark it stopped."""
        child.state = STOPPED
        child.pending = None
        if self.drops_stopped_children or child.spec.restart is Restart.TEMPORARY:
            if self._children.get(child.key) is child:
                del self._children[child.key]
            self._forget(child)
        child.notify()

    def _forget(self, child: Child) -> None:
        """Hook: ``child`` left the supervisor for good."""

    # -- exits and restarts --------------------------------------------------------------------

    async def _on_down(self, ref: ActorRef, reason: ExitReason) -> None:
        child = self._by_ref.pop(ref, None)
        if child is None:
            return  # an incarnation we already stopped ourselves
        now = trio.current_time()
        child.ref = None
        child.monitor = None
        child.uptime = now - child.started_at
        if self._listening():
            self._emit(ChildExited(self.ref, child.spec.id, ref, reason, now))
        restart = child.spec.restart
        if self.system.interrupted is not None:
            self._retire(child)  # the whole system is stopping: restart nothing
        elif restart is Restart.PERMANENT or (restart is Restart.TRANSIENT and is_abnormal(reason)):
            if is_abnormal(reason) and logger.isEnabledFor(logging.ERROR):
                logger.error(
                    "supervisor %s: child %r exited (%s); restarting",
                    self.label,
                    child.spec.id,
                    reason,
                    exc_info=reason.exc if isinstance(reason, Crashed) else None,
                    extra=log_context(supervisor=self.label, actor=ref),
                )
            await self._restart(child, reason)
        else:
            self._log_retired(child, reason)
            self._retire(child)
            self._check_auto_shutdown(child)

    def _log_retired(self, child: Child, reason: ExitReason) -> None:
        """Log a child that is not restarted: a crash at ERROR (an OTP crash report), else DEBUG."""
        level = logging.ERROR if is_abnormal(reason) else logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "supervisor %s: child %r exited (%s); not restarted (restart=%s)",
                self.label,
                child.spec.id,
                reason,
                child.spec.restart.value,
                exc_info=reason.exc if isinstance(reason, Crashed) else None,
                extra=log_context(supervisor=self.label),
            )

    def _add_restart(self) -> bool:
        """Record a restart now; False when more than max_restarts fall within max_seconds."""
        now = trio.current_time()
        times = self._restart_times
        while times and now - times[0] > self._max_seconds:
            times.popleft()
        times.append(now)
        return len(times) <= self._max_restarts

    def _restart_group(self, child: Child) -> list[Child]:
        """The children the strategy restarts with ``child``, in start order."""
        return [child]

    def _next_delay(self, child: Child) -> float:
        backoff = self._backoff
        if backoff is None:
            return 0.0
        reset_after = backoff.reset_after if backoff.reset_after is not None else backoff.max
        if child.uptime >= reset_after:
            child.streak = 0
        child.streak += 1
        return backoff.delay(child.streak, self._rng)

    async def _restart(self, child: Child, reason: ExitReason) -> None:
        if not self._add_restart():
            self._retire(child)
            self._give_up(child, reason)
        group = self._restart_group(child)
        for other in reversed(group):
            if other is not child:
                await self._terminate(other)
        kept = []
        for other in group:
            if other is not child and other.spec.restart is Restart.TEMPORARY:
                self._retire(other)
            else:
                other.state = RESTARTING
                other.pending = None
                kept.append(other)
        delay = self._next_delay(child)
        if delay > 0:
            token = object()
            for other in kept:
                other.pending = token
            self.send_after(delay, RestartDue(token, delay))
        else:
            await self._start_group(kept, 0.0)

    def _give_up(self, child: Child, reason: ExitReason) -> None:
        now = trio.current_time()
        if self._listening():
            self._emit(SupervisorGaveUp(self.ref, child.spec.id, reason, now))
        error = SupervisorGaveUpError(
            self.label, child.spec.id, reason, self._max_restarts, self._max_seconds
        )
        if isinstance(reason, Crashed):
            error.__cause__ = reason.exc
        logger.error("%s", error, extra=log_context(supervisor=self.label))
        raise error

    async def _start_group(self, group: list[Child], delay: float) -> None:
        if self.system.interrupted is not None:
            return  # a restart that was due when the system began to stop
        for child in group:
            if self._children.get(child.key) is not child or child.state is not RESTARTING:
                continue  # terminated or deleted while it waited
            try:
                ref = await self._start(child)
            except ChildStartError as error:
                if not getattr(self.system, "_open", True):
                    return  # the system is closing: this supervisor is about to be stopped
                logger.error(  # noqa: TRY400 - the traceback is the child's, in exc_info
                    "supervisor %s: child %r failed to restart; trying again",
                    self.label,
                    child.spec.id,
                    exc_info=error,
                    extra=log_context(supervisor=self.label),
                )
                child.uptime = 0.0
                token = object()
                child.pending = token
                with contextlib.suppress(ActorDeadError):  # stopping: no retry needed
                    self.ref.tell(TryAgain(child.key, token, Crashed(error.cause)))
                return
            child.restarts += 1
            if self._listening():
                self._emit(
                    ChildRestarted(
                        self.ref, child.spec.id, ref, child.restarts, delay, trio.current_time()
                    )
                )

    def _check_auto_shutdown(self, child: Child) -> None:
        mode = self._auto_shutdown
        if mode is AutoShutdown.NEVER or not child.spec.significant:
            return
        if mode is AutoShutdown.ALL_SIGNIFICANT and any(
            other.spec.significant and other.state is not STOPPED
            for other in self._children.values()
        ):
            return
        self.stop(Normal())

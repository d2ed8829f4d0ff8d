"""Starting and stopping schedulers under the schedules supervisor, and manual ticks.

The manager's side of a scheduler's life: the launcher task starts (and stops) each
schedule's scheduler actor in order, a failed start ends the schedule with the reason, and
``run_now`` reaches a scheduler that has not started yet once it has.
"""

from __future__ import annotations

from typing import Any

import trio
import trio.lowlevel

from arborist.actors._logging import get_logger
from arborist.supervision import ChildNotFoundError, ChildSpec, DynamicSupervisorRef
from arborist.supervision._events import EventBus

from ._events import ScheduleEnded
from ._handle import ScheduleNotFoundError
from ._scheduler import Scheduler
from ._state import RunNow, ScheduleState

__all__ = ["Launching"]

logger = get_logger("arborist.runtime.schedules")


class Launching:
    """The launcher side of `ScheduleManager`."""

    _states: dict[str, ScheduleState]
    _closed: bool
    _nursery: trio.Nursery | None
    _shutdown_timeout: float
    _supervisor: DynamicSupervisorRef | None
    _events: EventBus[Any]

    @property
    def supervisor(self) -> DynamicSupervisorRef:
        """The dynamic supervisor the schedulers run under (once open)."""
        if self._supervisor is None:
            raise RuntimeError("the ScheduleManager is not open; use `async with manager:`")
        return self._supervisor

    def _run_now(self, state: ScheduleState) -> None:
        if state.ended.is_set() or state.removing:
            raise ScheduleNotFoundError(state.name, sorted(self._states))
        ref = state.ref
        if ref is None:
            # The scheduler has not started yet: run it as soon as it has.
            if self._nursery is not None:
                self._nursery.start_soon(self._run_when_launched, state)
            return
        try:
            ref.tell(RunNow())
        except Exception:
            if self._nursery is not None:
                self._nursery.start_soon(self._run_when_launched, state)

    async def _run_when_launched(self, state: ScheduleState) -> None:
        await state.launched.wait()
        for _ in range(100):
            ref = state.ref
            if ref is None or state.ended.is_set():
                return
            try:
                ref.tell(RunNow())
            except Exception:
                await trio.lowlevel.checkpoint()
            else:
                return

    async def _launcher(
        self, receive: trio.MemoryReceiveChannel[tuple[str, ScheduleState]]
    ) -> None:
        async for op, state in receive:
            if op == "start":
                await self._launch(state)
            else:
                await self._terminate(state)

    async def _launch(self, state: ScheduleState) -> None:
        try:
            if state.removing or self._closed:
                return
            args: tuple[Any, ...] = (state,)
            spec = ChildSpec(
                ("schedule", state.name),
                Scheduler,
                args=args,
                shutdown=self._shutdown_timeout,
            )
            await self.supervisor.start_child(spec)
        except Exception as exc:
            logger.exception("schedule %r: its scheduler failed to start", state.name)
            if self._states.get(state.name) is state:
                del self._states[state.name]
            state.ending = f"failed to start: {exc!r}"
            state.cancel_timer()
            self._events.emit(
                ScheduleEnded(state.name, trio.current_time(), state.ending, state.runs)
            )
            state.ended.set()
        finally:
            state.launched.set()

    async def _terminate(self, state: ScheduleState) -> None:
        """Terminate the schedule's current scheduler through the supervisor."""
        await state.launched.wait()
        supervisor = self._supervisor
        for _ in range(100):
            ref = state.ref
            if ref is None or supervisor is None:
                return
            try:
                await supervisor.terminate_child(ref)
            except ChildNotFoundError:
                if state.ref is ref and not ref.is_alive and state.ended.is_set():
                    return
                await trio.lowlevel.checkpoint()  # restarting: terminate the next incarnation
            except Exception:
                logger.debug("schedule %r: supervisor gone while removing", state.name)
                return
            else:
                return

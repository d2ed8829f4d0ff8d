"""RunEvent: the union of every event a runtime's subscribers receive from runs and schedules."""

from __future__ import annotations

from .engine._events import EngineEvent
from .engine._recovery_events import DurableEvent
from .schedules._events import ScheduleEvent

__all__ = ["RunEvent"]

RunEvent = EngineEvent | ScheduleEvent | DurableEvent
"""Any runtime event: workflow runs, steps, pools, schedules and durable runs recovered or
parked (supervisor and job events
are ``SupervisorEvent`` and ``TaskEvent`` of ``arborist.supervision``)."""

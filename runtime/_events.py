"""RunEvent: the union of every event a runtime's subscribers receive from runs and schedules."""

from __future__ import annotations

from .engine._events import EngineEvent
from .schedules._events import ScheduleEvent

__all__ = ["RunEvent"]

RunEvent = EngineEvent | ScheduleEvent
"""Any runtime event: workflow runs, steps, pools and schedules (supervisor and job events
are ``SupervisorEvent`` and ``TaskEvent`` of ``arborist.supervision``)."""

"""EventClock: maps trio's clock (every event's ``time``) to the wall clock, for exporters.

Exporters want epoch nanoseconds (OpenTelemetry) or seconds; events carry trio's clock, which
is exact and consistent within a runtime (and virtual under ``MockClock``). The mapping is
anchored once, when the exporter is set up: ``wall = anchor_wall + (time - anchor_trio)``, so
durations are trio's durations and two events never swap order.
"""

from __future__ import annotations

import time

import trio

__all__ = ["EventClock"]


class EventClock:
    """Converts trio times to epoch times, anchored at construction (inside ``trio.run``)."""

    __slots__ = ("_trio", "_wall_ns")

    def __init__(self) -> None:
        self._wall_ns = time.time_ns()
        self._trio = trio.current_time()

    def ns(self, trio_time: float) -> int:
        """Epoch nanoseconds of the trio time ``trio_time``."""
        return self._wall_ns + round((trio_time - self._trio) * 1e9)

    def seconds(self, trio_time: float) -> float:
        """Epoch seconds of the trio time ``trio_time``."""
        return self.ns(trio_time) / 1e9

    def __repr__(self) -> str:
        return f"<EventClock trio {self._trio:.3f} = epoch {self._wall_ns / 1e9:.3f}>"

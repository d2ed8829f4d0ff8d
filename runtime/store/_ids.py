"""Time-ordered identifiers: UUID version 7 (RFC 9562), unique across processes and restarts.

Python 3.11's ``uuid`` module has no ``uuid7``, so this module makes them: 48 bits of Unix
milliseconds, then a 12-bit counter that keeps ids made within one millisecond in order (it
starts at a random value each new millisecond), then 62 random bits drawn fresh for each id.
Two processes, or one process before and after a restart, cannot collide except by a 62-bit
coincidence within one millisecond and counter value; within one process ids strictly increase,
even when the wall clock steps back (the last timestamp is reused and the counter advances).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime

__all__ = ["uuid7", "uuid7_time"]

_MAX_COUNTER = 0xFFF


class _Sequence:
    """The last millisecond used and the counter within it, guarded by a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_ms = -1
        self.counter = 0

    def next(self) -> tuple[int, int]:
        with self.lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms > self.last_ms:
                self.last_ms = now_ms
                self.counter = int.from_bytes(os.urandom(2), "big") & 0x7FF  # room to count up
            else:  # same millisecond, or the clock stepped back: keep order with the counter
                self.counter += 1
                if self.counter > _MAX_COUNTER:
                    self.last_ms += 1
                    self.counter = 0
            return self.last_ms, self.counter


_sequence = _Sequence()


def uuid7() -> uuid.UUID:
    """Return a new UUIDv7; later calls in this process return strictly greater ids.

    Never blocks (a process-wide lock guards the counter for a few instructions) and is safe
    from any thread. The canonical text form (``str(id)``) sorts like the ids themselves.

    Example:
        >>> a, b = uuid7(), uuid7()
        >>> a < b and a.version == 7 and str(a) < str(b)
        True
    """
    ms, counter = _sequence.next()
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def uuid7_time(value: uuid.UUID | str) -> datetime:
    """Return the creation time (UTC, millisecond precision) encoded in a UUIDv7.

    Raises:
        ValueError: ``value`` is not a version-7 UUID.
    """
    parsed = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
    if parsed.version != 7:
        raise ValueError(f"uuid7_time() needs a version-7 UUID; got version {parsed.version}")
    return datetime.fromtimestamp((parsed.int >> 80) / 1000, UTC)

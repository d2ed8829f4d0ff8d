"""An adaptive pool finds how much concurrency a service takes, without being told.

The simulated ``inventory`` service has 8 workers (the pool does not know that): a call takes
50 ms while at most 8 are in flight, and queues beyond that (16 in flight: 100 ms each). A
workflow makes 800 independent calls through the pool ``api``, declared with
``Adaptive(min=1, max=64)``:

1. Slow start: each round of calls at the baseline latency doubles the limit (1, 2, 4, 8, 16,
   32) until a round's latency passes 1.5x the baseline (32 in flight: 4x); the limit then
   drops to where the latency would be back at the baseline, times 0.9: 8.
2. From there it probes one more slot per round and backs off whenever calls queue: a
   sawtooth just above the knee.
3. Compared with fixed limits: one slot is 8x slower; 64 slots is barely faster than adaptive
   (the service has only 8 workers) but every call waits in its queue 5x longer.

The service is simulated, so the example runs on trio's virtual clock (``MockClock``) even when
run directly.

Expected output::

    [0.20s] api: 1 -> 2 (growth)
    [0.30s] api: 2 -> 4 (growth)
    [0.35s] api: 4 -> 8 (growth)
    [0.40s] api: 8 -> 16 (growth)
    [0.50s] api: 16 -> 32 (growth)
    [0.79s] api: 32 -> 8 (latency)
    ... 36 more changes
    limit, every 0.5 s (capacity 8 = |):
     0.0s   1 █       |
     0.5s  32 ████████|████████████████████████
     1.0s   8 ████████|
     1.5s  12 ████████|████
     2.0s  10 ████████|██
     2.5s  13 ████████|█████
     3.0s  11 ████████|███
     3.5s   8 ████████|
     4.0s  12 ████████|████
     4.5s  10 ████████|██
    after 1 s the limit stays within 7..13 (capacity 8)
    adaptive 1..64: 800 calls in 5.32s, mean latency 75ms
    fixed 1:        800 calls in 40.00s, mean latency 50ms
    fixed 64:       800 calls in 5.00s, mean latency 384ms
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio
import trio.testing

from arborist.runtime import Adaptive, PoolLimitChanged, RunEvent, Runtime, Workflow

CALLS = 800
CAPACITY = 8
BASE = 0.05


class Inventory:
    """A service with ``CAPACITY`` workers: beyond them, calls wait their turn."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.latencies: list[float] = []

    async def lookup(self, sku: int) -> int:
        self.in_flight += 1
        latency = BASE * max(1.0, self.in_flight / CAPACITY)
        try:
            await trio.sleep(latency)
        finally:
            self.in_flight -= 1
        self.latencies.append(latency)
        return sku


def crawl(service: Inventory) -> Workflow:
    """A workflow of ``CALLS`` independent lookups, each holding a slot of the pool ``api``."""
    wf = Workflow("crawl")
    for sku in range(CALLS):
        wf.step(name=f"lookup_{sku}", pool="api")(lookup_of(service, sku))
    return wf


def lookup_of(service: Inventory, sku: int) -> Callable[[], Awaitable[int]]:
    async def lookup() -> int:
        return await service.lookup(sku)

    return lookup


async def crawl_with(limit: int | Adaptive, changes: list[PoolLimitChanged]) -> str:
    service = Inventory()

    def on_event(event: RunEvent) -> None:
        if isinstance(event, PoolLimitChanged):
            changes.append(event)

    async with Runtime() as rt:
        rt.pool("api", limit=limit)
        rt.subscribe(on_event)
        start = trio.current_time()
        await rt.run(crawl(service))
        took = trio.current_time() - start
    mean = sum(service.latencies) / len(service.latencies)
    return f"{CALLS} calls in {took:.2f}s, mean latency {mean * 1000:.0f}ms"


def limit_at(changes: list[PoolLimitChanged], time: float, initial: int) -> int:
    limit = initial
    for change in changes:
        if change.time > time:
            break
        limit = change.new
    return limit


async def main() -> None:
    changes: list[PoolLimitChanged] = []
    start = trio.current_time()
    adaptive = await crawl_with(Adaptive(min=1, max=64), changes)

    first_drop = next(n for n, change in enumerate(changes) if change.new < change.old)
    for change in changes[: first_drop + 1]:
        print(f"[{change.time - start:.2f}s] api: {change.old} -> {change.new} ({change.reason})")
    print(f"... {len(changes) - first_drop - 1} more changes")

    print(f"limit, every 0.5 s (capacity {CAPACITY} = |):")
    for tick in range(10):
        limit = limit_at(changes, start + tick * 0.5, initial=1)
        bar = ("█" * limit).ljust(CAPACITY)
        bar = bar[:CAPACITY] + "|" + bar[CAPACITY:]
        print(f"{tick * 0.5:4.1f}s  {limit:2d} {bar}")

    settled = [change for change in changes if change.time >= start + 1.0]
    low, high = min(c.new for c in settled), max(c.new for c in settled)
    print(f"after 1 s the limit stays within {low}..{high} (capacity {CAPACITY})")

    print(f"adaptive 1..64: {adaptive}")
    print(f"fixed 1:        {await crawl_with(1, [])}")
    print(f"fixed 64:       {await crawl_with(64, [])}")


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))

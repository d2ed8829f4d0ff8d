"""W8 memory per idle actor: resident and traced bytes per spawned, idle actor.

Every measurement runs in a FRESH interpreter (``python -m benchmarks.w8_memory --child IMPL N``),
one per implementation per repetition, alternating implementations. The child:

1. imports everything and spawns a few warm-up actors (so lazy imports and first-use caches
   are not charged to the actors);
2. RSS: reads its resident set size (``/proc/self/statm``), spawns N idle actors, waits until
   every task is parked, collects garbage, reads RSS again: (after - before) / N;
3. traced: starts ``tracemalloc``, spawns N more idle actors the same way, and divides the
   traced growth by N (Python allocations only; RSS also sees thread stacks and arenas);
4. prints one JSON line and leaves with ``os._exit`` (tearing down 20,000 actors is not the
   measurement).

Implementations:
- trio floor: one trio task per actor, parked on its own memory channel (``async for``).
- arborist Actor: ``system.spawn(Idle)``.
- arborist ThreadActor (when the kernel has it): 1,000 actors (each owns an OS thread).
- pykka ThreadingActor: 1,000 actors (each owns an OS thread); scaled per actor.

Target: at most 8 KiB RSS per arborist Actor.
"""

from __future__ import annotations

import gc
import json
import math
import os
import sys
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._harness import Row, Target, alternate, optional_import, repeats, rows, run_child

__all__ = ["run"]

N = 10_000
N_THREADS = 1_000
QUICK_N = 200
QUICK_N_THREADS = 20
WARM = 5

FLOOR = "trio floor"
ACTOR = "arborist Actor"
THREAD_ACTOR = "arborist ThreadActor"
PYKKA = "pykka ThreadingActor"

_CHILD_IMPLS = {"floor": FLOOR, "actor": ACTOR, "thread-actor": THREAD_ACTOR, "pykka": PYKKA}


def rss_bytes() -> int:
    """This process's resident set size in bytes."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(spawn_many: Callable[[int], Any], n: int) -> dict[str, float]:
    """Spawn N twice (RSS, then tracemalloc); return bytes per actor for each."""
    keep = [spawn_many(WARM)]
    gc.collect()
    before = rss_bytes()
    keep.append(spawn_many(n))
    gc.collect()
    rss = (rss_bytes() - before) / n
    tracemalloc.start()
    gc.collect()
    traced_before = tracemalloc.get_traced_memory()[0]
    keep.append(spawn_many(n))
    gc.collect()
    traced = (tracemalloc.get_traced_memory()[0] - traced_before) / n
    tracemalloc.stop()
    return {"rss": rss, "traced": traced}


def child_trio(impl: str, n: int) -> dict[str, float]:
    import trio
    import trio.testing

    from arborist import actors

    class Idle(actors.Actor):
        def on_receive(self, message: Any) -> None:
            return None

    async def parked(receive: trio.MemoryReceiveChannel[Any]) -> None:
        async for _ in receive:
            pass

    result: dict[str, float] = {}

    async def main() -> None:
        async with actors.open_actor_system() as system, trio.open_nursery() as nursery:
            token = trio.lowlevel.current_trio_token()

            async def spawn_floor(count: int) -> list[Any]:
                sends = []
                for _ in range(count):
                    send, receive = trio.open_memory_channel[Any](math.inf)
                    nursery.start_soon(parked, receive)
                    sends.append(send)
                await trio.testing.wait_all_tasks_blocked()
                return sends

            async def spawn_actors(count: int) -> list[Any]:
                refs = [await system.spawn(Idle) for _ in range(count)]
                await trio.testing.wait_all_tasks_blocked()
                return refs

            spawn: Callable[[int], Awaitable[list[Any]]] = (
                spawn_floor if impl == "floor" else spawn_actors
            )
            # measure() is synchronous; run each batch on the loop from a worker thread.
            result.update(
                await trio.to_thread.run_sync(
                    measure, lambda count: trio.from_thread.run(spawn, count, trio_token=token), n
                )
            )
            os._exit(report(result))

    trio.run(main)
    return result


def child_thread_actor(n: int) -> dict[str, float]:
    import trio
    import trio.testing

    from arborist import actors

    base: Any = actors.ThreadActor  # type: ignore[attr-defined]

    class IdleThread(base):  # type: ignore[misc]
        def on_receive(self, message: Any) -> None:
            return None

    result: dict[str, float] = {}

    async def main() -> None:
        async with actors.open_actor_system() as system:
            token = trio.lowlevel.current_trio_token()

            async def spawn(count: int) -> list[Any]:
                refs = [await system.spawn(IdleThread) for _ in range(count)]
                await trio.testing.wait_all_tasks_blocked()
                return refs

            result.update(
                await trio.to_thread.run_sync(
                    measure, lambda count: trio.from_thread.run(spawn, count, trio_token=token), n
                )
            )
            os._exit(report(result))

    trio.run(main)
    return result


def child_pykka(n: int) -> dict[str, float]:
    import pykka

    class IdlePykka(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> None:
            return None

    def spawn(count: int) -> list[Any]:
        refs = [IdlePykka.start() for _ in range(count)]
        # Every actor thread is parked on its inbox once it answers one ask.
        for ref in refs:
            ref.ask(None)
        return refs

    os._exit(report(measure(spawn, n)))


def report(result: dict[str, float]) -> int:
    print(json.dumps(result), flush=True)
    sys.stderr.flush()
    return 0


def child(argv: list[str]) -> None:
    impl, n = argv[0], int(argv[1])
    if impl not in _CHILD_IMPLS:
        raise SystemExit(f"unknown implementation {impl!r}; choose from {sorted(_CHILD_IMPLS)}")
    if impl in ("floor", "actor"):
        child_trio(impl, n)
    elif impl == "thread-actor":
        child_thread_actor(n)
    else:
        child_pykka(n)


def run(quick: bool) -> list[Row]:
    from arborist import actors

    n = QUICK_N if quick else N
    n_threads = QUICK_N_THREADS if quick else N_THREADS
    sizes = {"floor": n, "actor": n}
    if hasattr(actors, "ThreadActor"):
        sizes["thread-actor"] = n_threads
    if optional_import("pykka") is not None:
        sizes["pykka"] = n_threads
    measured: dict[str, list[float]] = {}

    def one(impl: str) -> Callable[[], float]:
        def measure_once() -> float:
            payload = run_child("w8_memory", impl, str(sizes[impl]))
            measured.setdefault(impl, []).append(float(payload["traced"]))
            return float(payload["rss"])

        return measure_once

    rss = alternate({_CHILD_IMPLS[impl]: one(impl) for impl in sizes}, repeats(quick), warmup=False)
    traced = {_CHILD_IMPLS[impl]: values for impl, values in measured.items()}
    notes = {
        _CHILD_IMPLS[impl]: f"{size:,} actors, scaled per actor"
        for impl, size in sizes.items()
        if size != n
    }
    common: dict[str, Any] = {"unit": "KiB/actor", "floor": FLOOR, "scale": 1 / 1024}
    return [
        *rows(
            f"W8 RSS per idle actor ({n:,})",
            rss,
            targets={ACTOR: [Target(8.0, absolute=True)]},
            notes=notes,
            **common,
        ),
        *rows(f"W8 traced per idle actor ({n:,})", traced, notes=notes, **common),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        raise SystemExit(
            "usage: python -m benchmarks.w8_memory --child IMPL N (or python -m benchmarks w8)"
        )

"""What W1 and W2 share: the four implementations compared, measured and tabulated the same way.

Not a benchmark module itself (its name does not start with ``w<N>_``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from benchmarks._harness import Row, Target, alternate, optional_import, repeats, rows, timed_trio

__all__ = [
    "ACTOR",
    "CHANNEL_FLOOR",
    "DEQUE_FLOOR",
    "PYKKA",
    "THREAD_ACTOR",
    "THREAD_BLOCKING_FLOOR",
    "THREAD_FLOOR",
    "THREAD_OVERLAP_FLOOR",
    "compare_actors",
]

DEQUE_FLOOR = "trio deque floor"
CHANNEL_FLOOR = "trio channel floor"
ACTOR = "arborist Actor"
THREAD_ACTOR = "arborist ThreadActor"
PYKKA = "pykka ThreadingActor"
THREAD_FLOOR = "trio-thread round trip (SimpleQueue + run_sync_soon)"
THREAD_BLOCKING_FLOOR = "trio-thread blocking hand-over (SimpleQueue + lock + checkpoint)"
THREAD_OVERLAP_FLOOR = "trio-thread hand-over, checkpoint while the thread works, then the lock"


def compare_actors(
    *,
    workload: str,
    unit: str,
    per_thread: str,
    n: int,
    thread_n: int,
    floors: Mapping[str, Callable[[int], Awaitable[float]]],
    actor: Callable[[int], Awaitable[float]],
    thread_class: type[Any] | None,
    thread_actor: Callable[[Any, int], Awaitable[float]],
    pykka_actor: Callable[[Any, int], float],
    targets: Mapping[str, Sequence[Target]],
    quick: bool,
    thread_floors: Mapping[str, tuple[Callable[[int], Awaitable[float]], str]] | None = None,
    extra: Mapping[str, Callable[[int], Awaitable[float]]] | None = None,
    thread_extra: Mapping[str, tuple[Callable[[int], float], str]] | None = None,
) -> list[Row]:
    """Measure the floors, Actor, ThreadActor (if any) and pykka (if installed), alternating.

    Ratios are to the fastest floor of the run. Each callable does ``n`` operations
    (``thread_n`` for the ThreadActor, whose row then says so) and returns the seconds it
    timed itself. ``thread_floors`` rows are trio callables doing ``thread_n`` operations, each
    with a note (references for the ThreadActor, not floors of the other rows).
    ``thread_extra`` rows are plain (blocking) callables doing ``thread_n`` operations, each
    with a note.
    """
    impls: dict[str, Callable[[], float]] = {
        name: (lambda fn=fn: timed_trio(fn, n)) for name, fn in floors.items()
    }
    impls.update({name: (lambda fn=fn: timed_trio(fn, n)) for name, fn in (extra or {}).items()})
    impls[ACTOR] = lambda: timed_trio(actor, n)
    counts = {**dict.fromkeys(floors, n), **dict.fromkeys(extra or {}, n), ACTOR: n, PYKKA: n}
    notes = {}
    if thread_class is not None:
        counts[THREAD_ACTOR] = thread_n
        notes[THREAD_ACTOR] = f"{thread_n:,} {per_thread}"
        impls[THREAD_ACTOR] = lambda: timed_trio(thread_actor, thread_class, thread_n)
    for name, (floor_fn, note) in (thread_floors or {}).items():
        counts[name] = thread_n
        notes[name] = f"{thread_n:,} {per_thread}; {note}"
        impls[name] = lambda fn=floor_fn: timed_trio(fn, thread_n)  # type: ignore[misc]
    for name, (fn, note) in (thread_extra or {}).items():
        counts[name] = thread_n
        notes[name] = f"{thread_n:,} {per_thread}; {note}"
        impls[name] = lambda fn=fn: fn(thread_n)  # type: ignore[misc]
    pykka = optional_import("pykka")
    if pykka is not None:
        impls[PYKKA] = lambda: pykka_actor(pykka, n)
    samples = alternate(impls, repeats(quick))
    return rows(
        workload,
        samples,
        unit=unit,
        floor=list(floors),
        per=counts,
        scale=1e6,
        notes=notes,
        targets=targets,
    )

"""W1 tell throughput: N messages told to one counter actor, until it has counted them all.

Each repetition times from the first ``tell`` to the moment the counter has seen message N
(it sets an event), with the actor already spawned; start-up and shutdown are not timed.

Implementations:
- trio deque floor: the design's limit: a ``collections.deque`` mailbox and one task parked
  with ``wait_task_rescheduled`` when it is empty, woken with ``reschedule`` by the first
  message after it parked (and only then); it pops everything queued before parking again.
- trio channel floor: ``open_memory_channel(inf)``; one task drains it, taking every queued
  message (``receive_nowait``) before its next checkpoint (``await receive()`` when empty).
  (The first floor; kept as a row for comparison.)
- deque floor + the API's two calls: the deque floor where the sender calls a ``tell`` method
  (append, wake if parked) and the drain calls the receiver's ``on_receive`` method (the
  same counter as the Actor's; a run of more than 32 queued messages is handed to it by
  ``map``, from C, as the Actor's loop does): what the public API's shape adds to the floor.
  Not a floor; it shows how close to the floor an actor with this API can get.
- deque floor + on_receive() calls, tell as the deque's append: the row above, with the
  sender calling the deque's own ``append`` (C) while the drain is not parked (a Python
  ``tell`` wakes it once it parks). What the receiving side of the API costs alone: no tell
  written in Python can be cheaper than this, so it bounds what any ``ActorRef.tell`` reaches.
  Not a floor either, and not a design (a caller holding the bound ``tell`` would keep the
  append after the drain parked, and never wake it).
- arborist Actor: ``ref.tell(i)`` to an ``Actor`` with a sync ``on_receive``.
- arborist ThreadActor: the same with ``ThreadActor`` (when the kernel has it).
- pykka ThreadingActor: ``ref.tell(i)`` from the main thread, a ``threading.Event`` at N.

Ratios are to the fastest floor of the run. Targets (issue #13): arborist Actor within 1.5x
of the fastest floor, and at least 5x faster than pykka.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import repeat, starmap
from types import ModuleType
from typing import Any

import trio
import trio.testing
from trio.lowlevel import Abort, Task, current_task, reschedule, wait_task_rescheduled

from arborist import actors
from arborist.actors._runs import RUN_MIN
from benchmarks._actor_bench import ACTOR, CHANNEL_FLOOR, DEQUE_FLOOR, PYKKA, compare_actors
from benchmarks._harness import Row, Target

__all__ = ["run"]

API_SHAPED = "deque floor + tell()/on_receive() calls"
C_TELL = "deque floor + on_receive() calls, tell as the deque's append (C)"

_exhaust = deque(maxlen=0).extend  # consumes an iterator in C

N = 200_000
QUICK_N = 2_000

# A ThreadActor pays two thread hand-offs per message (~0.2 ms on 2 small cores), so it gets
# fewer messages; its row is still per message.
THREAD_N = 20_000
QUICK_THREAD_N = 200


async def deque_floor(n: int) -> float:
    queue: deque[int] = deque()
    parked: list[Task | None] = [None]
    done = trio.Event()

    def abort(_: Any) -> Abort:
        parked[0] = None
        return Abort.SUCCEEDED

    async def drain() -> None:
        count = 0
        while True:
            if not queue:
                parked[0] = current_task()
                await wait_task_rescheduled(abort)
                continue
            queue.popleft()
            count += 1
            if count == n:
                done.set()
                return

    async with trio.open_nursery() as nursery:
        nursery.start_soon(drain)
        await trio.testing.wait_all_tasks_blocked()
        started = time.perf_counter()
        for i in range(n):
            queue.append(i)
            task = parked[0]
            if task is not None:
                parked[0] = None
                reschedule(task)
        await done.wait()
        return time.perf_counter() - started


class _Box:
    """The deque floor's mailbox with a ``tell`` method, as a ref has."""

    __slots__ = ("parked", "queue")

    def __init__(self) -> None:
        self.queue: deque[int] = deque()
        self.parked: Task | None = None

    def tell(self, message: int) -> None:
        self.queue.append(message)
        task = self.parked
        if task is not None:
            self.parked = None
            reschedule(task)

    def park(self) -> None:
        self.parked = current_task()

    def __call__(self, _: Any) -> Abort:
        self.parked = None
        return Abort.SUCCEEDED


class _AppendingBox(_Box):
    """``_Box`` whose ``send`` is the deque's own ``append`` while the drain is not parked."""

    __slots__ = ("send",)

    def __init__(self) -> None:
        super().__init__()
        self.send: Callable[[int], None] = self.queue.append

    def tell(self, message: int) -> None:
        super().tell(message)
        self.send = self.queue.append

    def park(self) -> None:
        super().park()
        self.send = self.tell


async def _drain(box: _Box, handler: Callable[[int], None], done: trio.Event) -> None:
    queue = box.queue
    popleft = queue.popleft
    while True:
        if not queue:
            if done.is_set():
                return
            box.park()
            await wait_task_rescheduled(box)
            continue
        if len(queue) > RUN_MIN:  # a long run, as the Actor's loop makes (actors._runs)
            _exhaust(map(handler, starmap(popleft, repeat((), len(queue)))))
        else:
            handler(popleft())


async def _through_box(n: int, box: _Box) -> float:
    done = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_drain, box, Counter(n, done).on_receive, done)
        await trio.testing.wait_all_tasks_blocked()
        started = time.perf_counter()
        if isinstance(box, _AppendingBox):
            for i in range(n):
                box.send(i)
        else:
            for i in range(n):
                box.tell(i)
        await done.wait()
        return time.perf_counter() - started


async def api_shaped(n: int) -> float:
    return await _through_box(n, _Box())


async def tell_as_append(n: int) -> float:
    return await _through_box(n, _AppendingBox())


async def channel_floor(n: int) -> float:
    send, receive = trio.open_memory_channel[int](math.inf)
    done = trio.Event()

    async def drain() -> None:
        count = 0
        while True:
            try:
                receive.receive_nowait()
            except trio.WouldBlock:
                await receive.receive()
            count += 1
            if count == n:
                done.set()
                return

    async with trio.open_nursery() as nursery:
        nursery.start_soon(drain)
        await trio.testing.wait_all_tasks_blocked()
        started = time.perf_counter()
        for i in range(n):
            send.send_nowait(i)
        await done.wait()
        return time.perf_counter() - started


def counter_class(base: type[Any]) -> type[Any]:
    """W1's actor on ``base``: ``Actor``, ``ThreadActor``, or another revision's ``Actor``
    (``benchmarks.ab``). It sets ``done`` (a trio or a threading event) at the n-th message."""

    class Counter(base):  # type: ignore[valid-type,misc]
        def __init__(self, n: int, done: trio.Event | threading.Event) -> None:
            self.n = n
            self.count = 0
            self.done = done

        def on_receive(self, message: Any) -> None:
            self.count += 1
            if self.count == self.n:
                self.done.set()

    return Counter


Counter = counter_class(actors.Actor)


async def arborist_actor(n: int, kernel: ModuleType = actors) -> float:
    counter = Counter if kernel is actors else counter_class(kernel.Actor)
    done = trio.Event()
    async with kernel.open_actor_system() as system:
        ref = await system.spawn(counter, n, done)
        await trio.testing.wait_all_tasks_blocked()
        started = time.perf_counter()
        for i in range(n):
            ref.tell(i)
        await done.wait()
        return time.perf_counter() - started


def thread_actor_class() -> type[actors.Actor] | None:
    base = getattr(actors, "ThreadActor", None)
    return None if base is None else counter_class(base)


async def arborist_thread_actor(cls: type[actors.Actor], n: int) -> float:
    done = threading.Event()
    async with actors.open_actor_system() as system:
        ref = await system.spawn(cls, n, done)
        await trio.testing.wait_all_tasks_blocked()
        started = time.perf_counter()
        for i in range(n):
            ref.tell(i)
        await trio.to_thread.run_sync(done.wait)
        return time.perf_counter() - started


def pykka_actor(pykka: Any, n: int) -> float:
    class PykkaCounter(pykka.ThreadingActor):  # type: ignore[misc,name-defined]
        def __init__(self, done: threading.Event) -> None:
            super().__init__()
            self.count = 0
            self.done = done

        def on_receive(self, message: Any) -> None:
            self.count += 1
            if self.count == n:
                self.done.set()

    done = threading.Event()
    ref = PykkaCounter.start(done)
    try:
        started = time.perf_counter()
        for i in range(n):
            ref.tell(i)
        done.wait()
        return time.perf_counter() - started
    finally:
        ref.stop()


def run(quick: bool) -> list[Row]:
    n = QUICK_N if quick else N
    return compare_actors(
        workload=f"W1 tell {n:,}",
        unit="us/msg",
        per_thread="messages, per message",
        n=n,
        thread_n=QUICK_THREAD_N if quick else THREAD_N,
        floors={DEQUE_FLOOR: deque_floor, CHANNEL_FLOOR: channel_floor},
        extra={API_SHAPED: api_shaped, C_TELL: tell_as_append},
        actor=arborist_actor,
        thread_class=thread_actor_class(),
        thread_actor=arborist_thread_actor,
        pykka_actor=pykka_actor,
        targets={ACTOR: [Target(1.5), Target(0.2, of=PYKKA)]},
        quick=quick,
    )

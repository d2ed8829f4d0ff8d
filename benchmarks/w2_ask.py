"""W2 ask round trips: N sequential request/reply round trips to one actor.

Each repetition times N asks, one after another (each waits for its reply), with the actor
already spawned; start-up and shutdown are not timed.

Implementations:
- trio deque floor: the design's limit: a ``collections.deque`` of requests, a server task
  parked with ``wait_task_rescheduled`` when it is empty and woken with ``reschedule``; the
  client parks the same way and the server hands the reply straight to it
  (``reschedule(client, Value(reply))``).
- deque floor + ask()/on_receive() calls and the timeout's clock reads (not a floor): the
  deque floor with what any ask of this API pays on top of it: the caller's ``await ask(i)``
  (a coroutine of its own), the two clock reads a 5 s timeout needs (its deadline, and the
  check once the reply came), and the server calling the user's ``on_receive``. No actor,
  no checks, no call object: the least an ``ask`` with the Actor's API and semantics costs.
- trio channel floor: two memory channels (request, reply) and a server task; the client sends
  a request and awaits the reply, sequentially. (The first floor; kept for comparison.)
- arborist Actor: ``await ref.ask(i)`` (default 5 s timeout, as users call it).
- arborist ThreadActor: the same with ``ThreadActor`` (when the kernel has it).
- pykka ThreadingActor: ``ref.ask(i)`` (blocking) from the main thread.
- ThreadActor from a plain thread (not a floor): pykka's calling situation, a blocking ask from
  the main thread to a ThreadActor in ``Runtime.background()`` through ``bg.call(ref.ask, i)``
  (the public path; it crosses into trio and back on top of the ThreadActor's own hops).
- trio-thread round trip: a trio task puts each request on a ``queue.SimpleQueue`` that a
  thread serves, and parks; the thread hands the reply back with
  ``TrioToken.run_sync_soon``, which reschedules the caller. No actor at all: the least an
  ask costs whose caller parks until the thread wakes trio. A ThreadActor ask to an idle
  actor goes below it when its bounded wait on the trio thread (``ThreadActor.reply_wait``)
  catches the reply; so this row is a reference, not the ThreadActor's floor.
- trio-thread blocking hand-over: a trio task queues each request to a thread on a
  ``queue.SimpleQueue`` and blocks the trio thread on a ``threading.Lock`` that the thread
  releases with the reply, then makes one checkpoint: what pykka's blocking ask does plus one
  trio scheduling pass. (The ThreadActor's floor until 2026-12-04; kept as a row.)
- trio-thread overlapped hand-over: the ThreadActor's floor. The same, but the checkpoint
  comes between the put and the wait on the lock, so the scheduling pass runs while the
  thread wakes up and replies: the quick-reply path (``reply_wait``) with no actor around it.

Ratios are to the fastest floor of the run. Targets (issue #13): arborist Actor within 1.1x of
the fastest floor, and ahead of pykka; ThreadActor's ask ahead of pykka's.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from types import ModuleType
from typing import Any

import outcome
import trio
import trio.testing
from trio.lowlevel import Abort, Task, current_task, reschedule, wait_task_rescheduled

from arborist import actors
from arborist.runtime import Runtime
from benchmarks._actor_bench import (
    ACTOR,
    CHANNEL_FLOOR,
    DEQUE_FLOOR,
    PYKKA,
    THREAD_ACTOR,
    THREAD_BLOCKING_FLOOR,
    THREAD_FLOOR,
    THREAD_OVERLAP_FLOOR,
    compare_actors,
)
from benchmarks._harness import Row, Target

__all__ = ["run"]

N = 50_000
QUICK_N = 200

# A ThreadActor pays two thread hand-offs per message (~0.2 ms on 2 small cores), so it gets
# fewer messages; its row is still per message.
THREAD_N = 5_000
QUICK_THREAD_N = 50
PLAIN_THREAD = "ThreadActor from a plain thread: bg.call(ref.ask)"
API_SHAPED = "deque floor + ask()/on_receive() calls and the timeout's clock reads"


def _abort(_: Any) -> Abort:
    return Abort.SUCCEEDED


async def deque_floor(n: int) -> float:
    requests: deque[tuple[int, Task]] = deque()
    parked: list[Task | None] = [None]

    async def server() -> None:
        while True:
            if not requests:
                parked[0] = current_task()
                await wait_task_rescheduled(_abort)
                continue
            message, client = requests.popleft()
            reschedule(client, outcome.Value(message + 1))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        await trio.testing.wait_all_tasks_blocked()
        me = current_task()
        started = time.perf_counter()
        for i in range(n):
            requests.append((i, me))
            task = parked[0]
            if task is not None:
                parked[0] = None
                reschedule(task)
            await wait_task_rescheduled(_abort)
        elapsed = time.perf_counter() - started
        nursery.cancel_scope.cancel()
    return elapsed


async def api_shaped(n: int) -> float:
    requests: deque[tuple[int, Task]] = deque()
    parked: list[Task | None] = [None]
    now = trio.lowlevel.current_clock().current_time  # as the Actor's ask reads it

    def on_receive(message: int) -> int:
        return message + 1

    async def server() -> None:
        while True:
            while requests:
                message, client = requests.popleft()
                reschedule(client, outcome.Value(on_receive(message)))
            parked[0] = current_task()
            await wait_task_rescheduled(_abort)

    async def ask(message: int) -> int:
        deadline = now() + 5.0
        requests.append((message, current_task()))
        task = parked[0]
        if task is not None:
            parked[0] = None
            reschedule(task)
        result: int = await wait_task_rescheduled(_abort)
        if now() >= deadline:
            raise TimeoutError
        return result

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        await trio.testing.wait_all_tasks_blocked()
        started = time.perf_counter()
        for i in range(n):
            await ask(i)
        elapsed = time.perf_counter() - started
        nursery.cancel_scope.cancel()
    return elapsed


async def thread_round_trip(n: int) -> float:
    """The least a parked trio caller pays for a reply from a thread: a request queued to
    a thread, and the reply sent back through trio's token (``run_sync_soon``) straight to
    the parked caller."""
    token = trio.lowlevel.current_trio_token()
    requests: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    caller = current_task()

    def deliver(value: int) -> None:
        reschedule(caller, outcome.Value(value))

    def serve() -> None:
        while (item := requests.get()) is not None:
            token.run_sync_soon(deliver, item + 1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started = time.perf_counter()
    for i in range(n):
        requests.put(i)
        await wait_task_rescheduled(_abort)
    elapsed = time.perf_counter() - started
    requests.put(None)
    thread.join()
    return elapsed


_Request = tuple[int, threading.Lock, list[int]]


def _lock_server() -> tuple[Callable[[_Request | None], None], threading.Thread]:
    """A thread that answers each ``(message, lock, reply)``: the reply, then the lock released.

    Returns the queue's ``put`` (``put(None)`` ends the thread) and the started thread.
    """
    requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()

    def serve() -> None:
        while (item := requests.get()) is not None:
            message, lock, reply = item
            reply.append(message + 1)
            lock.release()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return requests.put, thread


async def thread_blocking_hand_over(n: int) -> float:
    """The least a trio caller pays for a reply from a thread while trio has nothing else to
    run: a request queued to a thread, the trio thread blocked on a lock that the thread
    releases with the reply, then one checkpoint (every ask is one)."""
    put, thread = _lock_server()
    checkpoint = trio.lowlevel.checkpoint
    new_lock = threading.Lock
    started = time.perf_counter()
    for i in range(n):
        lock = new_lock()
        lock.acquire()
        put((i, lock, []))
        lock.acquire()
        await checkpoint()
    elapsed = time.perf_counter() - started
    put(None)
    thread.join()
    return elapsed


async def thread_overlapped_hand_over(n: int) -> float:
    """``thread_blocking_hand_over`` with the checkpoint first: the trio scheduling pass runs
    while the thread wakes up and replies, then the trio thread takes the lock (a bounded wait
    first, as the ThreadActor's ``reply_wait``). What a ThreadActor's quick reply does, with
    no actor around it."""
    put, thread = _lock_server()
    checkpoint = trio.lowlevel.checkpoint
    new_lock = threading.Lock
    started = time.perf_counter()
    for i in range(n):
        lock = new_lock()
        lock.acquire()
        put((i, lock, []))
        await checkpoint()
        if not lock.acquire(timeout=100e-6):
            lock.acquire()
    elapsed = time.perf_counter() - started
    put(None)
    thread.join()
    return elapsed


async def channel_floor(n: int) -> float:
    request_send, request_receive = trio.open_memory_channel[int](math.inf)
    reply_send, reply_receive = trio.open_memory_channel[int](math.inf)

    async def server() -> None:
        async for message in request_receive:
            await reply_send.send(message + 1)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        await trio.testing.wait_all_tasks_blocked()
        started = time.perf_counter()
        for i in range(n):
            await request_send.send(i)
            await reply_receive.receive()
        elapsed = time.perf_counter() - started
        nursery.cancel_scope.cancel()
    return elapsed


def echo_class(kernel: ModuleType) -> type[Any]:
    """W2's actor on ``kernel``: ``arborist.actors``, or another revision's (``benchmarks.ab``)."""

    class Echo(kernel.Actor):  # type: ignore[misc,name-defined]
        def on_receive(self, message: Any) -> Any:
            return message + 1

    return Echo


Echo = echo_class(actors)


async def arborist_actor(n: int, kernel: ModuleType = actors) -> float:
    echo = Echo if kernel is actors else echo_class(kernel)
    async with kernel.open_actor_system() as system:
        ref = await system.spawn(echo)
        await trio.testing.wait_all_tasks_blocked()
        started = time.perf_counter()
        for i in range(n):
            await ref.ask(i)
        return time.perf_counter() - started


def thread_actor_class() -> type[actors.Actor] | None:
    base = getattr(actors, "ThreadActor", None)
    if base is None:
        return None

    class ThreadEcho(base):  # type: ignore[valid-type,misc]
        def on_receive(self, message: Any) -> Any:
            return message + 1

    return ThreadEcho


async def arborist_thread_actor(cls: type[actors.Actor], n: int) -> float:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(cls)
        await trio.testing.wait_all_tasks_blocked()
        started = time.perf_counter()
        for i in range(n):
            await ref.ask(i)
        return time.perf_counter() - started


def plain_thread_ask(n: int) -> float:
    """A blocking ask from a plain (non-trio) thread, pykka's calling situation: a ThreadActor
    in ``Runtime.background()``, asked through the public ``bg.call(ref.ask, message)``."""
    cls = thread_actor_class()
    assert cls is not None
    with Runtime.background() as bg:
        ref = bg.spawn(cls)
        call = bg.call
        ask = ref.ask
        started = time.perf_counter()
        for i in range(n):
            call(ask, i)
        return time.perf_counter() - started


def pykka_actor(pykka: Any, n: int) -> float:
    class PykkaEcho(pykka.ThreadingActor):  # type: ignore[misc,name-defined]
        def on_receive(self, message: Any) -> Any:
            return message + 1

    ref = PykkaEcho.start()
    try:
        started = time.perf_counter()
        for i in range(n):
            ref.ask(i)
        return time.perf_counter() - started
    finally:
        ref.stop()


def run(quick: bool) -> list[Row]:
    n = QUICK_N if quick else N
    return compare_actors(
        workload=f"W2 ask {n:,}",
        unit="us/ask",
        per_thread="asks, per ask",
        n=n,
        thread_n=QUICK_THREAD_N if quick else THREAD_N,
        floors={DEQUE_FLOOR: deque_floor, CHANNEL_FLOOR: channel_floor},
        extra={API_SHAPED: api_shaped},
        actor=arborist_actor,
        thread_class=thread_actor_class(),
        thread_actor=arborist_thread_actor,
        pykka_actor=pykka_actor,
        targets={
            ACTOR: [Target(1.1), Target(1.0, of=PYKKA)],
            THREAD_ACTOR: [Target(1.0, of=PYKKA)],
        },
        thread_floors={
            THREAD_FLOOR: (thread_round_trip, "a parked trio task woken through the token"),
            THREAD_BLOCKING_FLOOR: (
                thread_blocking_hand_over,
                "the trio thread blocks on a lock for the reply, then checkpoints",
            ),
            THREAD_OVERLAP_FLOOR: (
                thread_overlapped_hand_over,
                "the checkpoint while the thread replies, then the lock; the ThreadActor's floor",
            ),
        },
        thread_extra={
            PLAIN_THREAD: (
                plain_thread_ask,
                "blocking, from the main thread (as pykka's ask); not a floor",
            )
        },
        quick=quick,
    )

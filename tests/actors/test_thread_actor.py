"""ThreadActor: handlers on an OS thread of their own, seen from trio as any actor."""

import threading
from typing import Any

import pykka
import pytest
import trio
import trio.testing

from arborist.actors import (
    Actor,
    ActorDiedError,
    ActorRef,
    ActorStartError,
    ActorSystem,
    Crashed,
    Down,
    Exit,
    Killed,
    MailboxFullError,
    Normal,
    Shutdown,
    ThreadActor,
    _thread_jobs,
)
from arborist.actors._thread_jobs import Batch

GUARD = 5  # seconds; a generous guard, never a timing assertion


async def wait_thread_event(event: threading.Event) -> None:
    assert await trio.to_thread.run_sync(event.wait, GUARD)


async def spawn_idle(system: ActorSystem, cls: type[ThreadActor]) -> ActorRef:
    """Spawn ``cls`` and return its ref once every trio task is blocked (the actor is idle)."""
    ref = await system.spawn(cls)
    await trio.testing.wait_all_tasks_blocked()
    return ref


class Recorder(ThreadActor):
    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.threads: dict[str, int] = {}

    def on_start(self) -> None:
        self.threads["on_start"] = threading.get_ident()

    def on_receive(self, message: Any) -> Any:
        self.threads["on_receive"] = threading.get_ident()
        if message == "seen":
            return list(self.seen)
        if message == "threads":
            return dict(self.threads)
        self.seen.append(message)
        return None

    def add(self, a: int, b: int = 0) -> int:
        self.threads["add"] = threading.get_ident()
        return a + b


class Blocker(ThreadActor):
    """Blocks in its handler until the test releases it."""

    def __init__(self, entered: threading.Event, release: threading.Event) -> None:
        self.entered = entered
        self.release = release
        self.finished = threading.Event()
        self.stopped = False

    def on_receive(self, message: Any) -> Any:
        if message == "block":
            self.entered.set()
            self.release.wait(GUARD)
            self.finished.set()
            return "late"
        return message

    def on_stop(self, reason: Any) -> None:
        self.stopped = True


class Crasher(ThreadActor):
    def __init__(self) -> None:
        self.handled: list[Any] = []
        self.failure: BaseException | None = None

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise ValueError("boom on the thread")
        self.handled.append(message)
        return message

    def on_failure(self, exc: BaseException) -> None:
        self.failure = exc


class Watcher(Actor):
    """A trio actor that records the Down and Exit messages it gets."""

    trap_exits = True

    def __init__(self) -> None:
        self.got: list[Any] = []
        self.arrived = trio.Event()

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, tuple) and message[0] == "monitor":
            self.monitor(message[1])
        elif isinstance(message, tuple) and message[0] == "link":
            self.link(message[1])
        elif message == "got":
            return list(self.got)
        else:
            self.got.append(message)
            self.arrived.set()
        return None


# -- messaging -------------------------------------------------------------------------------


async def test_a_thread_actor_handles_a_tell_before_a_later_ask_from_the_same_sender(
    system: ActorSystem,
):
    ref = await system.spawn(Recorder)
    for i in range(50):
        ref.tell(i)
    with trio.fail_after(GUARD):
        assert await ref.ask("seen") == list(range(50))


async def test_a_proxy_calls_a_public_method_of_a_thread_actor_and_returns_its_value(
    system: ActorSystem,
):
    ref = await system.spawn(Recorder)
    with trio.fail_after(GUARD):
        assert await ref.proxy().add(2, b=3) == 5


async def test_every_handler_of_a_thread_actor_runs_on_one_thread_that_is_not_trios(
    system: ActorSystem,
):
    ref = await system.spawn(Recorder)
    with trio.fail_after(GUARD):
        await ref.proxy().add(1)
        threads = await ref.ask("threads")
    assert set(threads) == {"on_start", "on_receive", "add"}
    assert len(set(threads.values())) == 1
    assert threading.get_ident() not in threads.values()


async def test_a_thread_actor_ref_is_an_ordinary_actor_ref_with_its_class_in_the_repr(
    system: ActorSystem,
):
    ref = await system.spawn(Recorder, name="rec")
    assert isinstance(ref, ActorRef)
    assert ref.actor_class is Recorder
    assert system.whereis("rec") is ref
    assert repr(ref) == f"<ActorRef Recorder#{ref.id} 'rec' alive>"


async def test_awaiting_an_ask_to_a_blocked_thread_actor_leaves_the_trio_loop_running(
    system: ActorSystem,
):
    entered, release = threading.Event(), threading.Event()
    ref = await system.spawn(Blocker, entered, release)
    ticks = 0
    reply: list[Any] = []

    async def asker() -> None:
        reply.append(await ref.ask("block"))

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(asker)
            await wait_thread_event(entered)
            # The handler is blocked in threading.Event.wait: trio must still schedule us.
            for _ in range(100):
                await trio.lowlevel.checkpoint()
                ticks += 1
            assert reply == []
            release.set()
    assert ticks == 100
    assert reply == ["late"]


# -- let it crash ----------------------------------------------------------------------------


async def test_a_crash_on_the_thread_fails_the_ask_with_actor_died_error_chaining_the_cause(
    system: ActorSystem,
):
    ref = await system.spawn(Crasher)
    with trio.fail_after(GUARD):
        with pytest.raises(ActorDiedError) as info:
            await ref.ask("boom")
        reason = await ref.wait_exit()
    assert isinstance(info.value.__cause__, ValueError)
    assert str(info.value.__cause__) == "boom on the thread"
    assert reason == Crashed(info.value.__cause__)


async def test_a_crashed_thread_actor_does_not_handle_the_messages_queued_behind_the_crash(
    system: ActorSystem,
):
    ref = await system.spawn(Crasher)
    ref.tell("boom")
    ref.tell("after")
    with trio.fail_after(GUARD):
        with pytest.raises(ActorDiedError):
            await ref.ask("asked after")
        await ref.wait_exit()
    actor = ref._cell.actor
    assert actor.handled == []
    assert isinstance(actor.failure, ValueError)


async def test_a_monitor_of_a_crashing_thread_actor_gets_down_with_the_crash(
    system: ActorSystem,
):
    watcher = await system.spawn(Watcher)
    ref = await system.spawn(Crasher)
    await watcher.ask(("monitor", ref))
    ref.tell("boom")
    with trio.fail_after(GUARD):
        reason = await ref.wait_exit()
        assert await watcher.ask("got") == [Down(ref, reason)]
    assert isinstance(reason, Crashed)


async def test_a_crashing_thread_actor_sends_an_exit_signal_to_a_linked_actor(
    system: ActorSystem,
):
    watcher = await system.spawn(Watcher)
    ref = await system.spawn(Crasher)
    await watcher.ask(("link", ref))
    ref.tell("boom")
    with trio.fail_after(GUARD):
        reason = await ref.wait_exit()
        assert await watcher.ask("got") == [Exit(ref, reason)]


async def test_an_on_start_that_raises_on_the_thread_fails_the_spawn_with_actor_start_error(
    system: ActorSystem,
):
    class BadStart(ThreadActor):
        def on_start(self) -> None:
            raise RuntimeError("no database")

    with trio.fail_after(GUARD), pytest.raises(ActorStartError) as info:
        await system.spawn(BadStart)
    assert isinstance(info.value.__cause__, RuntimeError)


# -- stopping and killing --------------------------------------------------------------------


async def test_stop_runs_on_stop_on_the_actor_thread_with_reason_normal(system: ActorSystem):
    class Stopper(ThreadActor):
        def __init__(self) -> None:
            self.stop_seen: tuple[Any, int] | None = None

        def on_receive(self, message: Any) -> int:
            return threading.get_ident()

        def on_stop(self, reason: Any) -> None:
            self.stop_seen = (reason, threading.get_ident())

    ref = await system.spawn(Stopper)
    with trio.fail_after(GUARD):
        thread = await ref.ask("thread?")
        assert await ref.stop() == Normal()
    assert ref._cell.actor.stop_seen == (Normal(), thread)


async def test_self_stop_on_the_thread_ends_the_actor_normally_after_the_current_message(
    system: ActorSystem,
):
    class Quitter(ThreadActor):
        def on_receive(self, message: Any) -> str:
            self.stop()
            return "bye"

    ref = await system.spawn(Quitter)
    with trio.fail_after(GUARD):
        assert await ref.ask("quit") == "bye"
        assert await ref.wait_exit() == Normal()


async def test_shutdown_of_an_idle_thread_actor_runs_on_stop_with_shutdown(system: ActorSystem):
    entered, release = threading.Event(), threading.Event()
    ref = await system.spawn(Blocker, entered, release)
    with trio.fail_after(GUARD):
        assert await ref.shutdown() == Shutdown()
    assert ref._cell.actor.stopped


async def test_kill_while_a_handler_blocks_marks_the_actor_killed_at_once_and_fails_the_ask(
    system: ActorSystem,
):
    entered, release = threading.Event(), threading.Event()
    ref = await system.spawn(Blocker, entered, release)
    actor = ref._cell.actor
    errors: list[BaseException] = []

    async def asker() -> None:
        try:
            await ref.ask("block", timeout=None)
        except ActorDiedError as exc:
            errors.append(exc)

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(asker)
            await wait_thread_event(entered)
            ref.kill()
            assert await ref.wait_exit() == Killed()
        # The handler is still blocked on its thread, yet the ask has already failed.
        assert not actor.finished.is_set()
        assert [type(e) for e in errors] == [ActorDiedError]
        release.set()
        await wait_thread_event(actor.finished)
    assert not actor.stopped  # on_stop does not run after a kill


async def test_a_shutdown_timeout_kills_a_thread_actor_blocked_in_its_handler(
    system: ActorSystem,
):
    entered, release = threading.Event(), threading.Event()
    ref = await system.spawn(Blocker, entered, release)
    ref.tell("block")
    with trio.fail_after(GUARD):
        await wait_thread_event(entered)
        assert await ref.shutdown(timeout=0.01) == Killed()
    release.set()


# -- timers and other actors -----------------------------------------------------------------


async def test_send_after_from_the_thread_delivers_the_message_to_the_thread(
    system: ActorSystem,
):
    arrived = threading.Event()

    class Alarm(ThreadActor):
        def on_start(self) -> None:
            self.send_after(0.001, "ring")

        def on_receive(self, message: Any) -> None:
            if message == "ring":
                arrived.set()

    await system.spawn(Alarm)
    with trio.fail_after(GUARD):
        await wait_thread_event(arrived)


async def test_a_thread_actor_tells_a_trio_actor_through_call_in_trio(system: ActorSystem):
    watcher = await system.spawn(Watcher)

    class Forwarder(ThreadActor):
        def on_receive(self, message: Any) -> None:
            self.call_in_trio(watcher.tell, ("forwarded", message))

    ref = await system.spawn(Forwarder)
    ref.tell("hello")
    with trio.fail_after(GUARD):
        await watcher._cell.actor.arrived.wait()
    assert await watcher.ask("got") == [("forwarded", "hello")]


async def test_a_thread_actor_asks_another_actor_through_await_in_trio(system: ActorSystem):
    helper = await system.spawn(Recorder)

    class Asker(ThreadActor):
        def on_receive(self, message: Any) -> Any:
            return self.await_in_trio(helper.proxy().add, message, 1)

    ref = await system.spawn(Asker)
    with trio.fail_after(GUARD):
        assert await ref.ask(41) == 42


# -- bad input -------------------------------------------------------------------------------


def test_an_async_handler_on_a_thread_actor_is_refused_when_the_class_is_created():
    with pytest.raises(TypeError, match=r"Bad\.on_receive is `async def`.*plain `def`"):

        class Bad(ThreadActor):
            async def on_receive(self, message: Any) -> None:
                pass


def test_an_async_public_method_on_a_thread_actor_is_refused_when_the_class_is_created():
    with pytest.raises(TypeError, match=r"Bad\.fetch is `async def`"):

        class Bad(ThreadActor):
            async def fetch(self) -> None:
                pass


def test_a_thread_actor_that_asks_for_a_nursery_is_refused_when_the_class_is_created():
    with pytest.raises(TypeError, match="owns_nursery = True, but a ThreadActor has no nursery"):

        class Bad(ThreadActor):
            owns_nursery = True


async def test_await_in_trio_on_the_trio_thread_raises_a_clear_error(system: ActorSystem):
    ref = await system.spawn(Recorder)
    with pytest.raises(RuntimeError, match="cannot run on the trio thread"):
        ref._cell.actor.await_in_trio(trio.sleep, 0)


# -- adopting pykka actors -------------------------------------------------------------------


class PykkaCounter(pykka.ThreadingActor):
    def __init__(self, start: int) -> None:
        super().__init__()
        self.count = start
        self.events: list[str] = []

    def on_start(self) -> None:
        self.events.append("start")

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise KeyError("pykka boom")
        if message == "quit":
            self.stop()
            return None
        if message == "self-tell":
            self.actor_ref.tell(100)
            return None
        self.count += message
        return self.count

    def increment(self, by: int = 1) -> int:
        self.count += by
        return self.count

    def on_failure(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.events.append(f"failure {exc_type.__name__}")

    def on_stop(self) -> None:
        self.events.append("stop")


async def test_an_adopted_pykka_actor_answers_asks_tells_and_proxy_calls(system: ActorSystem):
    ref = await system.spawn(ThreadActor.adopt(PykkaCounter), 10)
    ref.tell(5)
    with trio.fail_after(GUARD):
        assert await ref.ask(1) == 16
        assert await ref.proxy().increment(by=4) == 20
        assert await ref.stop() == Normal()
    assert ref._cell.actor.pykka_actor.events == ["start", "stop"]


async def test_an_adopted_pykka_actor_that_raises_during_an_ask_crashes_instead_of_replying(
    system: ActorSystem,
):
    ref = await system.spawn(ThreadActor.adopt(PykkaCounter), 0)
    with trio.fail_after(GUARD):
        with pytest.raises(ActorDiedError) as info:
            await ref.ask("boom")
        assert isinstance(await ref.wait_exit(), Crashed)
    assert isinstance(info.value.__cause__, KeyError)
    assert ref._cell.actor.pykka_actor.events == ["start", "failure KeyError"]


async def test_an_adopted_pykka_actor_stops_itself_and_tells_itself_through_pykka_calls(
    system: ActorSystem,
):
    ref = await system.spawn(ThreadActor.adopt(PykkaCounter), 0)
    with trio.fail_after(GUARD):
        await ref.ask("self-tell")
        assert await ref.ask(0) == 100
        await ref.ask("quit")
        assert await ref.wait_exit() == Normal()


def test_adopt_refuses_a_class_that_is_not_a_pykka_threading_actor():
    with pytest.raises(TypeError, match=r"adopt\(\) takes a pykka.ThreadingActor subclass"):
        ThreadActor.adopt(Recorder)  # type: ignore[arg-type]


async def test_spawning_a_pykka_class_directly_names_thread_actor_adopt(system: ActorSystem):
    with pytest.raises(TypeError, match=r"spawn\(ThreadActor\.adopt\(PykkaCounter\)"):
        await system.spawn(PykkaCounter, 0)  # type: ignore[arg-type]


async def test_an_adopted_pykka_class_keeps_its_name_in_the_ref(system: ActorSystem):
    ref = await system.spawn(ThreadActor.adopt(PykkaCounter), 0)
    assert repr(ref) == f"<ActorRef PykkaCounter#{ref.id} alive>"


async def test_wait_all_tasks_blocked_returns_while_a_thread_actor_handler_blocks(
    system: ActorSystem,
):
    # The cell task is parked while its thread works, so trio sees every task blocked.
    entered, release = threading.Event(), threading.Event()
    ref = await system.spawn(Blocker, entered, release)
    ref.tell("block")
    with trio.fail_after(GUARD):
        await wait_thread_event(entered)
        await trio.testing.wait_all_tasks_blocked()
        release.set()
        assert await ref.ask("after") == "after"


# -- batches: every queued message reaches the thread in one job ------------------------------


class Gate(ThreadActor):
    """Records what it handles; ("hold", entered, release) blocks; "boom" raises; "quit" stops."""

    def __init__(self) -> None:
        self.handled: list[Any] = []

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, tuple) and message[0] == "hold":
            message[1].set()
            message[2].wait(GUARD)
            return "released"
        if message == "boom":
            raise ValueError("boom in a batch")
        if message == "quit":
            self.stop()
            return None
        self.handled.append(message)
        return message


def hold() -> tuple[str, threading.Event, threading.Event]:
    return ("hold", threading.Event(), threading.Event())


async def held(ref: ActorRef, message: tuple[str, threading.Event, threading.Event]) -> None:
    """Tell ``ref`` the hold message and return once its thread is blocked in it."""
    ref.tell(message)
    await wait_thread_event(message[1])


def start_ask(nursery: trio.Nursery, ref: ActorRef, message: Any, out: list[Any]) -> None:
    """Ask in the background; append the reply, or the ActorDiedError, to ``out``."""

    async def asker() -> None:
        try:
            out.append(await ref.ask(message, timeout=None))
        except ActorDiedError as exc:
            out.append(exc)

    nursery.start_soon(asker)


async def test_messages_queued_while_a_thread_actor_works_reach_its_thread_in_one_job(
    system: ActorSystem, monkeypatch: pytest.MonkeyPatch
):
    sizes: list[int] = []
    run = Batch.run

    def counting_run(batch: Batch) -> None:
        sizes.append(len(batch.items))
        run(batch)

    monkeypatch.setattr(Batch, "run", counting_run)
    ref = await system.spawn(Gate)
    first = hold()
    replies: list[Any] = []
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            await held(ref, first)
            for i in range(100):
                ref.tell(i)
            start_ask(nursery, ref, "last", replies)
            await trio.testing.wait_all_tasks_blocked()
            first[2].set()
    assert replies == ["last"]
    assert sizes == [1, 101]
    assert ref._cell.actor.handled == [*range(100), "last"]


async def test_a_tell_to_an_idle_thread_actor_hands_the_message_to_its_thread_at_once(
    system: ActorSystem,
):
    ref = await spawn_idle(system, Gate)
    cell = ref._cell
    message = hold()
    ref.tell(message)
    handed = cell.batch  # read before any checkpoint: the actor's trio task has not run
    with trio.fail_after(GUARD):
        await wait_thread_event(message[1])
        message[2].set()
        assert await ref.ask("next") == "next"
    assert handed is not None
    assert handed.items == [message]


async def test_an_ask_in_the_middle_of_a_batch_is_answered_before_the_batch_ends(
    system: ActorSystem,
):
    ref = await system.spawn(Gate)
    first, second = hold(), hold()
    replies: list[Any] = []
    answered = trio.Event()

    async def asker() -> None:
        replies.append(await ref.ask("early"))
        answered.set()

    with trio.fail_after(GUARD):
        await held(ref, first)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(asker)
            await trio.testing.wait_all_tasks_blocked()
            ref.tell(second)
            first[2].set()  # the ask and `second` now go to the thread as one batch
            await answered.wait()  # `second`, later in that batch, is released only below
            second[2].set()
    assert replies == ["early"]


async def test_a_crash_mid_batch_answers_earlier_asks_and_fails_later_ones_with_the_cause(
    system: ActorSystem, caplog: pytest.LogCaptureFixture
):
    ref = await system.spawn(Gate)
    first = hold()
    before: list[Any] = []
    after: list[Any] = []
    with trio.fail_after(GUARD):
        await held(ref, first)
        async with trio.open_nursery() as nursery:
            start_ask(nursery, ref, 1, before)
            await trio.testing.wait_all_tasks_blocked()
            ref.tell("boom")
            ref.tell("never")
            start_ask(nursery, ref, 2, after)
            await trio.testing.wait_all_tasks_blocked()
            first[2].set()
        reason = await ref.wait_exit()
    assert before == [1]
    [error] = after
    assert isinstance(error, ActorDiedError)
    assert isinstance(error.__cause__, ValueError)
    assert reason == Crashed(error.__cause__)
    assert ref._cell.actor.handled == [1]
    assert "with 1 unhandled messages" in caplog.text  # "never", not silently lost


async def test_a_shutdown_during_a_batch_finishes_the_current_message_and_handles_no_more(
    system: ActorSystem,
):
    ref = await system.spawn(Gate)
    first, second = hold(), hold()
    replies: list[Any] = []
    reasons: list[Any] = []

    async def shut_down() -> None:
        reasons.append(await ref.shutdown(timeout=None))

    with trio.fail_after(GUARD):
        await held(ref, first)
        async with trio.open_nursery() as nursery:
            ref.tell(second)
            ref.tell(1)
            start_ask(nursery, ref, 2, replies)
            await trio.testing.wait_all_tasks_blocked()
            first[2].set()  # `second`, 1 and the ask now go to the thread as one batch
            await wait_thread_event(second[1])
            nursery.start_soon(shut_down)
            await trio.testing.wait_all_tasks_blocked()
            second[2].set()
    assert reasons == [Shutdown()]
    assert ref._cell.actor.handled == []
    assert [type(r) for r in replies] == [ActorDiedError]


async def test_a_stop_requested_mid_batch_leaves_the_rest_of_the_batch_unhandled(
    system: ActorSystem,
):
    ref = await system.spawn(Gate)
    first = hold()
    replies: list[Any] = []
    with trio.fail_after(GUARD):
        await held(ref, first)
        async with trio.open_nursery() as nursery:
            ref.tell("quit")
            ref.tell(1)
            start_ask(nursery, ref, 2, replies)
            await trio.testing.wait_all_tasks_blocked()
            first[2].set()
        reason = await ref.wait_exit()
    assert reason == Normal()
    assert ref._cell.actor.handled == []
    assert [type(r) for r in replies] == [ActorDiedError]


async def test_a_kill_mid_batch_fails_the_ask_in_hand_and_the_thread_handles_no_more(
    system: ActorSystem,
):
    ref = await system.spawn(Gate)
    cell = ref._cell
    first, second = hold(), hold()
    early: list[Any] = []
    in_hand: list[Any] = []
    later: list[Any] = []
    with trio.fail_after(GUARD):
        await held(ref, first)
        async with trio.open_nursery() as nursery:
            for message, out in ((1, early), (second, in_hand), (2, later)):
                start_ask(nursery, ref, message, out)
                await trio.testing.wait_all_tasks_blocked()
            ref.tell(3)
            first[2].set()
            await wait_thread_event(second[1])
            ref.kill()
            assert await ref.wait_exit() == Killed()
        # The thread is still blocked in `second`, yet both pending asks have failed.
        assert early == [1]
        assert [type(r) for r in in_hand + later] == [ActorDiedError, ActorDiedError]
        [thread] = [t for t in threading.enumerate() if t.ident == cell.thread_ident]
        second[2].set()
        await trio.to_thread.run_sync(thread.join, GUARD)
    assert not thread.is_alive()
    assert cell.actor.handled == [1]


async def test_a_bounded_thread_actor_takes_one_message_at_a_time_so_its_bound_holds(
    system: ActorSystem,
):
    ref = await system.spawn(Gate, mailbox_size=2)
    first = hold()
    ref.tell(first)
    ref.tell("a")  # queued with `first`, but handed over after it, not with it
    with trio.fail_after(GUARD):
        await wait_thread_event(first[1])
        ref.tell("b")
        with pytest.raises(MailboxFullError):
            ref.tell("c")
        first[2].set()
        assert await ref.ask("seen?") == "seen?"
    assert ref._cell.actor.handled == ["a", "b", "seen?"]


# -- a quick reply is waited for on the trio thread (ThreadActor.reply_wait) -------------------


class PatientEcho(ThreadActor):
    reply_wait = GUARD  # long enough that the wait never runs out in a test

    def on_receive(self, message: Any) -> Any:
        return message


class HastyGate(Gate):
    reply_wait = 1e-6  # runs out before any handler can reply


class NeverWaits(PatientEcho):
    reply_wait = 0


def record_waits(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record what each wait for a quick reply returned (True: the reply came in time).

    Only waits that may block count: a zero-second look (a batch left to the token) does not.
    """
    waits: list[bool] = []
    wait_here = Batch.wait_here

    def recording(batch: Batch, seconds: float) -> bool:
        came = wait_here(batch, seconds)
        if seconds > 0:
            waits.append(came)
        return came

    monkeypatch.setattr(Batch, "wait_here", recording)
    return waits


async def test_an_ask_to_an_idle_thread_actor_takes_a_quick_reply_on_the_trio_thread(
    system: ActorSystem, monkeypatch: pytest.MonkeyPatch
):
    waits = record_waits(monkeypatch)
    ref = await spawn_idle(system, PatientEcho)
    with trio.fail_after(GUARD):
        replies = [await ref.ask(i) for i in range(3)]
    assert replies == [0, 1, 2]
    assert waits == [True, True, True]


async def test_an_ask_is_not_waited_for_while_another_trio_task_is_runnable(
    system: ActorSystem, monkeypatch: pytest.MonkeyPatch
):
    waits = record_waits(monkeypatch)
    ref = await spawn_idle(system, PatientEcho)
    # What trio's run loop says after the ask's checkpoint: a task or a callback to run.
    monkeypatch.setattr(_thread_jobs, "idle_seconds", lambda: 0.0)
    with trio.fail_after(GUARD):
        assert await ref.ask("busy") == "busy"
    assert waits == []


async def test_a_task_runnable_when_the_ask_is_put_runs_before_the_asker_waits(
    system: ActorSystem, monkeypatch: pytest.MonkeyPatch
):
    order: list[str] = []
    wait_here = Batch.wait_here

    def recording(batch: Batch, seconds: float) -> bool:
        if seconds > 0:
            order.append("wait")
        return wait_here(batch, seconds)

    monkeypatch.setattr(Batch, "wait_here", recording)
    ref = await spawn_idle(system, PatientEcho)

    async def other() -> None:
        order.append("other")

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(other)  # runnable now: in the scheduler pass the ask makes
            assert await ref.ask("busy") == "busy"
    assert order[0] == "other"


async def test_a_quick_reply_still_makes_the_ask_a_checkpoint(system: ActorSystem):
    ref = await spawn_idle(system, PatientEcho)
    with trio.fail_after(GUARD):
        with trio.CancelScope() as scope:
            scope.cancel()
            await ref.ask("cancelled")
        assert scope.cancelled_caught
        assert await ref.ask("after") == "after"


class PatientGate(Gate):
    reply_wait = GUARD


async def test_an_ask_cancelled_at_its_checkpoint_is_still_handled_and_the_actor_goes_on(
    system: ActorSystem,
):
    ref = await spawn_idle(system, PatientGate)
    message = hold()
    with trio.fail_after(GUARD):
        with trio.CancelScope() as scope:
            scope.cancel()
            await ref.ask(message)  # on the thread already; cancelled at the ask's checkpoint
        assert scope.cancelled_caught
        await wait_thread_event(message[1])  # the thread handles it all the same
        message[2].set()  # its report (and dropped reply) comes through the token
        assert await ref.ask("after") == "after"
    assert ref._cell.actor.handled == ["after"]


async def test_a_quick_reply_leaves_no_ask_deadline_behind(system: ActorSystem):
    ref = await spawn_idle(system, PatientEcho)
    with trio.fail_after(GUARD):
        assert [await ref.ask(i) for i in range(3)] == [0, 1, 2]
    assert not system._timers._calls  # each reply came before its deadline was kept


async def test_a_reply_slower_than_reply_wait_comes_through_the_token_and_next_asks_skip_the_wait(
    system: ActorSystem, monkeypatch: pytest.MonkeyPatch
):
    waits = record_waits(monkeypatch)
    ref = await spawn_idle(system, HastyGate)
    message = hold()
    replies: list[Any] = []
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            start_ask(nursery, ref, message, replies)
            await trio.testing.wait_all_tasks_blocked()  # the asker ran alone: it waited
            await wait_thread_event(message[1])
            message[2].set()
        replies.append(await ref.ask("skipped"))
    assert replies == ["released", "skipped"]
    assert waits == [False]
    assert ref._cell.wait_skips == 1  # two skips after one miss; the second ask took one


async def test_a_thread_actor_with_reply_wait_zero_never_waits_on_the_trio_thread(
    system: ActorSystem, monkeypatch: pytest.MonkeyPatch
):
    waits = record_waits(monkeypatch)
    ref = await spawn_idle(system, NeverWaits)
    with trio.fail_after(GUARD):
        assert await ref.ask(1) == 1
    assert waits == []


async def test_a_batch_that_finishes_as_the_wait_runs_out_is_the_waiters_to_deliver(
    system: ActorSystem,
):
    ref = await system.spawn(NeverWaits)
    cell = ref._cell
    batch = Batch(cell, ["late"])
    batch.gate = threading.Lock()
    batch.gate.acquire()
    batch.finished = True  # the thread saw the gate but has not released it yet
    assert batch.wait_here(0)
    assert batch.gate is None  # nothing else will release or report this batch

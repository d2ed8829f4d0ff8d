"""Lifecycle: hook order for each exit reason, failed starts, stop, self.stop, shutdown, kill."""

import logging
import re

import pytest
import trio
import trio.testing

from arborist.actors import (
    Actor,
    ActorDeadError,
    ActorDiedError,
    ActorStartError,
    Crashed,
    Killed,
    Normal,
    Shutdown,
)


class Hooked(Actor):
    """Records every hook call in a shared list; can crash, stop itself or block on request."""

    def __init__(self, events: list[object], gate: trio.Event | None = None) -> None:
        self.events = events
        self.gate = gate

    def on_start(self) -> None:
        self.events.append("on_start")

    async def on_receive(self, message: object) -> object:
        self.events.append(message)
        match message:
            case "boom":
                raise ValueError("boom")
            case "stop":
                self.stop()
            case "block":
                assert self.gate is not None
                await self.gate.wait()
            case "forever":
                await trio.sleep_forever()
        return message

    def on_failure(self, exc: BaseException) -> None:
        self.events.append(("on_failure", type(exc).__name__))

    def on_stop(self, reason: object) -> None:
        self.events.append(("on_stop", reason))


# --- hook order ------------------------------------------------------------------------------


async def test_a_stopped_actor_runs_on_start_then_its_messages_then_on_stop_normal(system):
    events: list[object] = []
    ref = await system.spawn(Hooked, events)
    ref.tell("a")
    ref.tell("b")

    assert await ref.stop() == Normal()
    assert events == ["on_start", "a", "b", ("on_stop", Normal())]


async def test_a_crashed_actor_runs_on_failure_then_on_stop_with_crashed(system):
    events: list[object] = []
    ref = await system.spawn(Hooked, events)
    ref.tell("a")
    ref.tell("boom")

    reason = await ref.wait_exit()

    assert isinstance(reason, Crashed)
    assert events == ["on_start", "a", "boom", ("on_failure", "ValueError"), ("on_stop", reason)]


async def test_a_shut_down_actor_runs_on_stop_with_shutdown(system):
    events: list[object] = []
    ref = await system.spawn(Hooked, events)
    ref.tell("a")
    await trio.testing.wait_all_tasks_blocked()

    assert await ref.shutdown() == Shutdown()
    assert events == ["on_start", "a", ("on_stop", Shutdown())]


async def test_a_killed_actor_does_not_run_on_stop(system):
    events: list[object] = []
    ref = await system.spawn(Hooked, events)
    ref.tell("forever")
    await trio.testing.wait_all_tasks_blocked()

    ref.kill()

    assert await ref.wait_exit() == Killed()
    assert events == ["on_start", "forever"]


async def test_async_hooks_are_awaited_in_order(system):
    events: list[str] = []

    class AsyncHooks(Actor):
        async def on_start(self) -> None:
            await trio.lowlevel.checkpoint()
            events.append("on_start")

        async def on_receive(self, message: str) -> None:
            await trio.lowlevel.checkpoint()
            events.append(message)

        async def on_stop(self, reason: object) -> None:
            await trio.lowlevel.checkpoint()
            events.append("on_stop")

    ref = await system.spawn(AsyncHooks)
    ref.tell("m")
    await ref.stop()

    assert events == ["on_start", "m", "on_stop"]


async def test_an_exception_in_on_stop_turns_a_normal_exit_into_a_crash(system, caplog):
    class BadStop(Actor):
        def on_stop(self, reason: object) -> None:
            raise RuntimeError("cleanup failed")

    ref = await system.spawn(BadStop)

    with caplog.at_level(logging.ERROR, logger="arborist.actors"):
        reason = await ref.stop()

    assert isinstance(reason, Crashed)
    assert isinstance(reason.exc, RuntimeError)
    assert "on_stop raised" in caplog.text


async def test_an_exception_in_on_failure_is_logged_and_the_reason_stays_the_first_crash(
    system, caplog
):
    class BadFailure(Actor):
        def on_receive(self, message: object) -> None:
            raise ValueError("first")

        def on_failure(self, exc: BaseException) -> None:
            raise RuntimeError("second")

    ref = await system.spawn(BadFailure)
    ref.tell("go")

    with caplog.at_level(logging.ERROR, logger="arborist.actors"):
        reason = await ref.wait_exit()

    assert isinstance(reason, Crashed)
    assert str(reason.exc) == "first"
    assert "on_failure raised" in caplog.text


async def test_an_actor_without_on_receive_crashes_with_a_type_error_naming_the_message(system):
    class Silent(Actor):
        pass

    ref = await system.spawn(Silent)

    with pytest.raises(ActorDiedError) as caught:
        await ref.ask("hello")

    assert isinstance(caught.value.__cause__, TypeError)
    assert "Silent received 'hello' but defines no on_receive" in str(caught.value.__cause__)


async def test_a_generator_hook_is_refused_when_the_class_is_defined():
    with pytest.raises(TypeError, match=re.escape("Gen.on_receive is a generator")):

        class Gen(Actor):
            def on_receive(self, message: object):  # type: ignore[override]
                yield message


# --- failed starts ---------------------------------------------------------------------------


FAILED_START_HOOKS: list[str] = []


class FailsToStart(Actor):
    def on_start(self) -> None:
        raise OSError("port in use")

    def on_failure(self, exc: BaseException) -> None:
        FAILED_START_HOOKS.append("on_failure")

    def on_stop(self, reason: object) -> None:
        FAILED_START_HOOKS.append("on_stop")


async def test_an_exception_in_on_start_raises_actor_start_error_at_spawn_with_the_cause(system):
    with pytest.raises(ActorStartError) as caught:
        await system.spawn(FailsToStart, name="server")

    error = caught.value
    assert isinstance(error.__cause__, OSError)
    assert error.actor == "FailsToStart 'server'"
    assert str(error) == "actor FailsToStart 'server' failed to start: OSError: port in use"


async def test_a_failed_start_runs_neither_on_failure_nor_on_stop(system):
    FAILED_START_HOOKS.clear()

    with pytest.raises(ActorStartError):
        await system.spawn(FailsToStart)

    assert FAILED_START_HOOKS == []


async def test_a_failed_start_releases_the_name(system):
    with pytest.raises(ActorStartError):
        await system.spawn(FailsToStart, name="server")

    assert system.whereis("server") is None
    ref = await system.spawn(Hooked, [], name="server")
    assert system.whereis("server") is ref


async def test_a_failed_start_leaves_no_actor_in_the_system(system):
    with pytest.raises(ActorStartError):
        await system.spawn(FailsToStart)

    assert system.actors() == []


async def test_a_constructor_error_raises_actor_start_error_with_the_cause(system):
    class BadInit(Actor):
        def __init__(self, size: int) -> None:
            raise ValueError(f"bad size {size}")

    with pytest.raises(
        ActorStartError, match="actor BadInit failed to start: ValueError"
    ) as caught:
        await system.spawn(BadInit, 3)

    assert str(caught.value.__cause__) == "bad size 3"


async def test_a_constructor_given_wrong_arguments_raises_actor_start_error(system):
    with pytest.raises(ActorStartError) as caught:
        await system.spawn(Hooked)

    assert isinstance(caught.value.__cause__, TypeError)


async def test_spawn_returns_only_after_an_async_on_start_returned(system, autojump_clock):
    class SlowStart(Actor):
        async def on_start(self) -> None:
            await trio.sleep(2.0)

    start = trio.current_time()
    ref = await system.spawn(SlowStart)

    assert trio.current_time() - start == 2.0
    assert ref.is_alive


async def test_the_ref_and_system_are_available_in_on_start_but_not_in_the_constructor(system):
    seen: list[object] = []

    class Curious(Actor):
        def __init__(self) -> None:
            with pytest.raises(RuntimeError, match="Curious is not running yet; use on_start"):
                self.ref  # noqa: B018

        def on_start(self) -> None:
            seen.extend([self.ref, self.system])

    ref = await system.spawn(Curious)

    assert seen == [ref, system]


# --- stop ------------------------------------------------------------------------------------


async def test_stop_handles_the_queued_messages_first(system):
    events: list[object] = []
    ref = await system.spawn(Hooked, events)
    for n in range(3):
        ref.tell(n)

    await ref.stop()

    assert events == ["on_start", 0, 1, 2, ("on_stop", Normal())]


async def test_stop_refuses_new_messages_while_the_queue_drains(system):
    gate = trio.Event()
    ref = await system.spawn(Hooked, [], gate)
    ref.tell("block")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ref.stop)
        await trio.testing.wait_all_tasks_blocked()

        assert ref.is_alive
        with pytest.raises(ActorDeadError, match="is stopping; nothing was delivered"):
            ref.tell("too late")
        gate.set()


async def test_stop_on_a_dead_actor_returns_its_exit_reason(system):
    ref = await system.spawn(Hooked, [])
    ref.tell("boom")
    first = await ref.wait_exit()

    assert await ref.stop() == first


async def test_an_actor_stopping_itself_ends_normally_after_the_current_message(system):
    events: list[object] = []
    ref = await system.spawn(Hooked, events)
    ref.tell("stop")

    assert await ref.wait_exit() == Normal()
    assert events == ["on_start", "stop", ("on_stop", Normal())]


async def test_messages_queued_behind_self_stop_are_not_handled_and_are_logged_at_debug(
    system, caplog
):
    events: list[object] = []
    ref = await system.spawn(Hooked, events)
    ref.tell("stop")
    ref.tell("dropped")

    with caplog.at_level(logging.DEBUG, logger="arborist.actors"):
        await ref.wait_exit()

    assert "dropped" not in events
    (record,) = [r for r in caplog.records if "with 1 unhandled messages" in r.message]
    assert record.levelno == logging.DEBUG  # an expected stop: not the user's stderr
    assert record.actor == repr(ref)


async def test_messages_left_behind_by_a_crash_are_logged_as_a_warning(system, caplog):
    class Fragile(Actor):
        async def on_receive(self, message: object) -> None:
            raise RuntimeError("boom")

    ref = await system.spawn(Fragile)
    ref.tell("crash")
    ref.tell("left")

    with caplog.at_level(logging.DEBUG, logger="arborist.actors"):
        await ref.wait_exit()

    (record,) = [r for r in caplog.records if "with 1 unhandled messages" in r.message]
    assert record.levelno == logging.WARNING


async def test_an_actor_may_stop_itself_with_a_chosen_reason(system):
    class Quitter(Actor):
        def on_receive(self, message: object) -> None:
            self.stop(Shutdown())

    ref = await system.spawn(Quitter)
    ref.tell("go")

    assert await ref.wait_exit() == Shutdown()


async def test_an_actor_cannot_await_its_own_stop(system):
    class SelfAwait(Actor):
        async def on_receive(self, message: object) -> None:
            await self.ref.stop()

    ref = await system.spawn(SelfAwait)

    with pytest.raises(ActorDiedError) as caught:
        await ref.ask("go")

    assert "cannot await its own stop(); call self.stop()" in str(caught.value.__cause__)


# --- shutdown and kill -----------------------------------------------------------------------


async def test_shutdown_lets_the_current_message_finish(system, autojump_clock):
    events: list[object] = []

    class Busy(Actor):
        async def on_receive(self, message: object) -> None:
            await trio.sleep(1.0)
            events.append("finished")

        def on_stop(self, reason: object) -> None:
            events.append(("on_stop", reason))

    ref = await system.spawn(Busy)
    ref.tell("work")
    await trio.testing.wait_all_tasks_blocked()

    assert await ref.shutdown(timeout=5.0) == Shutdown()
    assert events == ["finished", ("on_stop", Shutdown())]


async def test_shutdown_fails_queued_asks_with_actor_died_error(system, autojump_clock):
    gate = trio.Event()
    ref = await system.spawn(Hooked, [], gate)
    ref.tell("block")
    errors: list[BaseException] = []

    async def ask() -> None:
        with pytest.raises(ActorDiedError) as caught:
            await ref.ask("queued")
        errors.append(caught.value)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ask)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(ref.shutdown)
        await trio.testing.wait_all_tasks_blocked()
        gate.set()

    assert [e.reason for e in errors] == [Shutdown()]  # type: ignore[attr-defined]


async def test_shutdown_kills_an_actor_stuck_in_a_handler_after_exactly_the_timeout(
    system, autojump_clock
):
    events: list[object] = []
    ref = await system.spawn(Hooked, events)
    ref.tell("forever")
    await trio.testing.wait_all_tasks_blocked()
    start = trio.current_time()

    reason = await ref.shutdown(timeout=2.0)

    assert reason == Killed()
    assert trio.current_time() - start == 2.0
    assert ("on_stop", Killed()) not in events


async def test_shutdown_just_inside_the_timeout_is_a_clean_shutdown(system, autojump_clock):
    class Busy(Actor):
        async def on_receive(self, message: float) -> None:
            await trio.sleep(message)

    ref = await system.spawn(Busy)
    ref.tell(1.999)
    await trio.testing.wait_all_tasks_blocked()

    assert await ref.shutdown(timeout=2.0) == Shutdown()


async def test_shutdown_with_timeout_zero_kills_at_once(system, autojump_clock):
    events: list[object] = []
    ref = await system.spawn(Hooked, events)
    start = trio.current_time()

    assert await ref.shutdown(timeout=0) == Killed()
    assert trio.current_time() == start
    assert events == ["on_start"]


async def test_shutdown_with_timeout_none_waits_for_the_handler_however_long(
    system, autojump_clock
):
    class Busy(Actor):
        async def on_receive(self, message: float) -> None:
            await trio.sleep(message)

    ref = await system.spawn(Busy)
    ref.tell(600.0)
    await trio.testing.wait_all_tasks_blocked()
    start = trio.current_time()

    assert await ref.shutdown(timeout=None) == Shutdown()
    assert trio.current_time() - start == 600.0


async def test_kill_fails_the_ask_being_handled_with_actor_died_error(system):
    gate = trio.Event()
    ref = await system.spawn(Hooked, [], gate)

    async with trio.open_nursery() as nursery:

        async def kill_soon() -> None:
            await trio.testing.wait_all_tasks_blocked()
            ref.kill()

        nursery.start_soon(kill_soon)
        with pytest.raises(ActorDiedError, match=re.escape("died before replying (killed)")):
            await ref.ask("block")


# --- owned nurseries -------------------------------------------------------------------------


class Background(Actor):
    owns_nursery = True

    def __init__(self, events: list[object]) -> None:
        self.events = events

    def on_receive(self, message: object) -> None:
        if message == "spawn-crash":
            self.nursery.start_soon(self.crash_later)
        elif message == "spawn-forever":
            self.nursery.start_soon(self.forever)

    async def crash_later(self) -> None:
        await trio.sleep(1.0)
        raise ConnectionError("lost")

    async def forever(self) -> None:
        try:
            await trio.sleep_forever()
        finally:
            self.events.append("background cancelled")


async def test_a_crash_in_an_owned_background_task_crashes_the_actor(system, autojump_clock):
    ref = await system.spawn(Background, [])
    ref.tell("spawn-crash")

    reason = await ref.wait_exit()

    assert isinstance(reason, Crashed)
    assert isinstance(reason.exc, ConnectionError)


async def test_owned_background_tasks_are_cancelled_when_the_actor_stops(system):
    events: list[object] = []
    ref = await system.spawn(Background, events)
    ref.tell("spawn-forever")
    await trio.testing.wait_all_tasks_blocked()

    assert await ref.stop() == Normal()
    assert events == ["background cancelled"]


async def test_an_actor_without_owns_nursery_has_no_nursery(system):
    class Plain(Actor):
        def on_receive(self, message: object) -> None:
            self.nursery  # noqa: B018

    ref = await system.spawn(Plain)

    with pytest.raises(ActorDiedError) as caught:
        await ref.ask("go")

    assert "Plain has no nursery; set `owns_nursery = True`" in str(caught.value.__cause__)


async def test_a_crash_in_an_owned_background_task_runs_on_failure_and_on_stop(
    system, autojump_clock
):
    events: list[object] = []

    class Watched(Background):
        def on_failure(self, exc: BaseException) -> None:
            self.events.append(("on_failure", type(exc).__name__))

        def on_stop(self, reason: object) -> None:
            self.events.append(("on_stop", reason))

    ref = await system.spawn(Watched, events)
    ref.tell("spawn-crash")

    reason = await ref.wait_exit()

    assert events == [("on_failure", "ConnectionError"), ("on_stop", reason)]


async def test_a_crash_in_an_owned_background_task_fails_the_ask_being_handled(
    system, autojump_clock
):
    class Waiting(Background):
        async def on_receive(self, message: object) -> None:
            self.nursery.start_soon(self.crash_later)
            await trio.sleep_forever()

    ref = await system.spawn(Waiting, [])

    with pytest.raises(ActorDiedError) as caught:
        await ref.ask("go")

    assert isinstance(caught.value.__cause__, ConnectionError)


async def test_a_background_task_crashing_during_on_start_raises_actor_start_error(
    system, autojump_clock
):
    class CrashesWhileStarting(Background):
        async def on_start(self) -> None:
            self.nursery.start_soon(self.crash_later)
            await trio.sleep(5.0)

    with pytest.raises(ActorStartError) as caught:
        await system.spawn(CrashesWhileStarting, [], name="starter")

    assert isinstance(caught.value.__cause__, ConnectionError)
    assert system.whereis("starter") is None


async def test_shutdown_refuses_new_messages_while_the_current_one_finishes(system, autojump_clock):
    gate = trio.Event()
    ref = await system.spawn(Hooked, [], gate)
    ref.tell("block")
    await trio.testing.wait_all_tasks_blocked()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ref.shutdown)
        await trio.testing.wait_all_tasks_blocked()

        with pytest.raises(ActorDeadError, match="is stopping; nothing was delivered"):
            ref.tell("too late")
        gate.set()


async def test_after_self_stop_new_messages_are_refused_while_the_handler_finishes(
    system, autojump_clock
):
    gate = trio.Event()

    class StopsThenWaits(Actor):
        async def on_receive(self, message: object) -> None:
            self.stop()
            await gate.wait()

    ref = await system.spawn(StopsThenWaits)
    ref.tell("go")
    await trio.testing.wait_all_tasks_blocked()

    with pytest.raises(ActorDeadError, match="is stopping"):
        ref.tell("too late")
    gate.set()
    assert await ref.wait_exit() == Normal()


async def test_an_actor_killed_during_on_start_raises_actor_start_error_at_spawn(
    system, autojump_clock
):
    class SlowStart(Actor):
        async def on_start(self) -> None:
            await trio.sleep(10.0)

    async def kill_the_starting_actor() -> None:
        await trio.testing.wait_all_tasks_blocked()
        (starting,) = system._top
        starting.kill()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(kill_the_starting_actor)
        with pytest.raises(ActorStartError, match="it ended \\(killed\\) before on_start returned"):
            await system.spawn(SlowStart, name="slow")

    assert system.whereis("slow") is None


async def test_a_linked_crash_during_on_start_raises_actor_start_error_with_that_cause(
    system, autojump_clock
):
    class Doomed(Actor):
        async def on_receive(self, message: object) -> None:
            await trio.sleep(0.5)
            raise ValueError("linked crash")

    class LinksWhileStarting(Actor):
        def __init__(self, other: object) -> None:
            self.other = other

        async def on_start(self) -> None:
            self.link(self.other)
            self.other.tell("go")
            await trio.sleep(1.0)

    doomed = await system.spawn(Doomed)

    with pytest.raises(ActorStartError) as caught:
        await system.spawn(LinksWhileStarting, doomed)

    assert str(caught.value.__cause__) == "linked crash"


async def test_shutdown_refuses_a_nan_timeout_and_leaves_the_actor_running(system):
    ref = await system.spawn(Hooked, [])

    with pytest.raises(
        ValueError, match="shutdown timeout must be a number of seconds >= 0, or None"
    ):
        await ref.shutdown(timeout=float("nan"))

    assert ref.is_alive


async def test_an_actor_cannot_await_its_own_shutdown(system, autojump_clock):
    class SelfShutdown(Actor):
        async def on_receive(self, message: object) -> None:
            await self.ref.shutdown()

    ref = await system.spawn(SelfShutdown)
    start = trio.current_time()

    with pytest.raises(ActorDiedError) as caught:
        await ref.ask("go")

    assert trio.current_time() == start
    assert "cannot await its own shutdown()" in str(caught.value.__cause__)

"""BaseExceptions escaping actors: interrupts stop the system and come out bare; others crash.

- ``KeyboardInterrupt`` / ``SystemExit`` raised in a handler, a hook, an actor's own nursery or
  a thread actor's thread: every actor is shut down in order (with ``on_stop``), then
  ``open_actor_system()`` raises the original object, bare.
- ``GeneratorExit``, a user's ``BaseException`` subclass, or a ``trio.Cancelled`` raised when
  nothing is being cancelled: only that actor ends, ``Crashed(exc)``.
- A real cancellation still propagates.

No test lets an interrupt escape into pytest: each catches what the block raised and compares.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing

from arborist.actors import (
    Actor,
    ActorDiedError,
    Crashed,
    Killed,
    Shutdown,
    ThreadActor,
    open_actor_system,
)

GUARD = 5  # seconds, for thread actors on the real clock; never a timing assertion


class UserBaseException(BaseException):
    """A user's own BaseException subclass."""


async def stale_cancelled() -> trio.Cancelled:
    """A real ``trio.Cancelled``, caught and kept, to be re-raised later when nothing is."""
    caught: list[trio.Cancelled] = []
    with trio.CancelScope() as scope:
        scope.cancel()
        try:
            await trio.lowlevel.checkpoint()
        except trio.Cancelled as exc:
            caught.append(exc)
            raise
    return caught[0]


class Recorder(Actor):
    """Records its on_stop reason in a shared log."""

    def __init__(self, name: str, log: list[Any]) -> None:
        self.name = name
        self.log = log

    def on_stop(self, reason: Any) -> None:
        self.log.append((self.name, reason))


class Raiser(Recorder):
    """Raises whatever exception it is sent."""

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, BaseException):
            raise message
        return message


class ThreadRaiser(ThreadActor):
    def on_receive(self, message: Any) -> Any:
        if isinstance(message, BaseException):
            raise message
        return message


class Background(Actor):
    """Runs one task in its own nursery that raises the exception it was given."""

    owns_nursery = True

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def on_start(self) -> None:
        self.nursery.start_soon(self.fail)

    async def fail(self) -> None:
        await trio.lowlevel.checkpoint()
        raise self.exc


async def raised_by(body: Callable[[], Awaitable[None]]) -> BaseException | None:
    try:
        await body()
    except BaseException as exc:  # an interrupt too: never let it reach pytest
        return exc
    return None


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt("ctrl-c"), SystemExit(2)], ids=repr)
async def test_an_interrupt_in_a_handler_comes_out_of_open_actor_system_bare_after_a_clean_stop(
    interrupt,
):
    log: list[Any] = []

    async def body() -> None:
        async with open_actor_system() as system:
            await system.spawn(Recorder, "first", log)
            raiser = await system.spawn(Raiser, "raiser", log)
            await system.spawn(Recorder, "last", log)
            raiser.tell(interrupt)
            await trio.sleep_forever()  # the interrupt cancels the block

    raised = await raised_by(body)

    assert raised is interrupt
    assert log == [("raiser", Crashed(interrupt)), ("last", Shutdown()), ("first", Shutdown())]


async def test_system_exit_keeps_its_exit_code_for_the_process():
    script = textwrap.dedent(
        """
        import trio
        from arborist.actors import Actor, open_actor_system

        class Exits(Actor):
            def on_receive(self, message):
                raise SystemExit(message)

        async def main():
            async with open_actor_system() as system:
                (await system.spawn(Exits)).tell(2)
                await trio.sleep_forever()

        trio.run(main)
        """
    )

    done = await trio.to_thread.run_sync(
        lambda: subprocess.run(
            [sys.executable, "-c", script], capture_output=True, timeout=60, check=False
        )
    )

    assert done.returncode == 2, done.stderr.decode()


@pytest.mark.parametrize("hook", ["on_start", "on_failure", "on_stop"])
async def test_an_interrupt_in_a_hook_comes_out_of_open_actor_system_bare(hook):
    interrupt = KeyboardInterrupt(hook)

    def raise_interrupt(self: Actor, *args: Any) -> None:
        raise interrupt

    class Crashes(Actor):
        def on_receive(self, message: Any) -> Any:
            raise ValueError("a crash, so that on_failure and on_stop run")

    setattr(Crashes, hook, raise_interrupt)

    async def body() -> None:
        async with open_actor_system() as system:
            try:
                (await system.spawn(Crashes)).tell("crash")
            except Exception:  # on_start raised: the spawn fails, and the system stops
                pass
            await trio.sleep_forever()

    assert await raised_by(body) is interrupt


async def test_an_interrupt_in_an_actors_own_nursery_comes_out_of_open_actor_system_bare():
    interrupt = KeyboardInterrupt("background")

    async def body() -> None:
        async with open_actor_system() as system:
            await system.spawn(Background, interrupt)
            await trio.sleep_forever()

    assert await raised_by(body) is interrupt


async def test_an_interrupt_on_a_thread_actors_thread_comes_out_of_open_actor_system_bare():
    interrupt = SystemExit(3)

    async def body() -> None:
        with trio.fail_after(GUARD):
            async with open_actor_system() as system:
                ref = await system.spawn(ThreadRaiser)
                ref.tell(interrupt)
                await trio.sleep_forever()

    assert await raised_by(body) is interrupt


async def test_an_actor_asking_an_interrupted_actor_gets_actor_died_error_caused_by_it():
    interrupt = KeyboardInterrupt()
    errors: list[BaseException] = []

    class Asker(Actor):
        async def on_receive(self, message: Any) -> Any:
            try:
                await message.ask(interrupt)
            except ActorDiedError as exc:
                errors.append(exc)

    async def body() -> None:
        async with open_actor_system() as system:
            raiser = await system.spawn(Raiser, "raiser", [])
            (await system.spawn(Asker)).tell(raiser)
            await trio.sleep_forever()

    assert await raised_by(body) is interrupt
    [error] = errors
    assert error.__cause__ is interrupt


def other_base_exceptions() -> list[Any]:
    return [
        pytest.param(lambda: GeneratorExit("closed"), id="GeneratorExit"),
        pytest.param(lambda: UserBaseException("mine"), id="user BaseException"),
        pytest.param(None, id="stale trio.Cancelled"),
    ]


@pytest.mark.parametrize("make", other_base_exceptions())
async def test_another_base_exception_in_a_handler_crashes_only_that_actor(system, make):
    exc = make() if make is not None else await stale_cancelled()
    log: list[Any] = []
    raiser = await system.spawn(Raiser, "raiser", log)
    bystander = await system.spawn(Raiser, "bystander", log)

    with pytest.raises(ActorDiedError) as info:
        await raiser.ask(exc)

    assert info.value.__cause__ is exc
    assert await raiser.wait_exit() == Crashed(exc)
    assert log == [("raiser", Crashed(exc))]
    assert await bystander.ask("still here") == "still here"
    assert system.interrupted is None


@pytest.mark.parametrize("make", other_base_exceptions()[:2])
async def test_another_base_exception_in_an_actors_own_nursery_crashes_only_that_actor(
    system, make
):
    exc = make()

    ref = await system.spawn(Background, exc)

    assert await ref.wait_exit() == Crashed(exc)
    assert system.interrupted is None


async def test_a_stale_cancelled_in_an_actors_own_nursery_crashes_it_with_a_clear_error(system):
    # trio swallows a Cancelled raised by a task of a nursery (it cancels the nursery), so
    # the original is lost; the actor still crashes (not killed) and says what happened.
    ref = await system.spawn(Background, await stale_cancelled())

    reason = await ref.wait_exit()

    assert isinstance(reason, Crashed)
    assert isinstance(reason.exc, RuntimeError)
    assert "nursery of Background was cancelled from inside" in str(reason.exc)
    assert system.interrupted is None


@pytest.mark.parametrize("make", other_base_exceptions())
async def test_another_base_exception_on_a_thread_actors_thread_crashes_only_that_actor(
    system, make
):
    exc = make() if make is not None else await stale_cancelled()

    with trio.fail_after(GUARD):
        ref = await system.spawn(ThreadRaiser)
        ref.tell(exc)

        assert await ref.wait_exit() == Crashed(exc)
    assert system.interrupted is None


async def test_a_real_cancellation_of_a_handler_still_ends_the_actor_killed(system):
    class Sleeper(Actor):
        async def on_receive(self, message: Any) -> Any:
            await trio.sleep_forever()

    ref = await system.spawn(Sleeper)
    ref.tell("sleep")
    await trio.testing.wait_all_tasks_blocked()

    ref.kill()

    assert await ref.wait_exit() == Killed()


async def test_cancelling_the_scope_around_open_actor_system_still_cancels_it(autojump_clock):
    log: list[Any] = []

    with trio.move_on_after(1) as scope:
        async with open_actor_system() as system:
            await system.spawn(Recorder, "a", log)
            await trio.sleep_forever()

    assert scope.cancelled_caught
    assert log == [("a", Shutdown())]

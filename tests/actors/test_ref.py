"""ActorRef: tell, ask replies, ordering per sender, proxies, identity and repr."""

import re

import pytest
import trio
import trio.lowlevel
import trio.testing

from arborist.actors import (
    Actor,
    ActorDeadError,
    ActorRef,
    Crashed,
    Normal,
    open_actor_system,
)


class Recorder(Actor):
    """Appends every message to a shared log; replies with the number of messages seen."""

    def __init__(self, log: list[object]) -> None:
        self.log = log

    def on_receive(self, message: object) -> int:
        if message == "boom":
            raise ValueError("boom")
        self.log.append(message)
        return len(self.log)


class AsyncDoubler(Actor):
    async def on_receive(self, message: int) -> int:
        await trio.lowlevel.checkpoint()
        return message * 2


class Account(Actor):
    def __init__(self) -> None:
        self.balance = 0
        self.label = "account"

    def deposit(self, amount: int, *, note: str = "") -> int:
        self.balance += amount
        return self.balance

    async def audited_balance(self) -> tuple[str, int]:
        await trio.lowlevel.checkpoint()
        return ("audited", self.balance)

    def fail(self) -> None:
        raise KeyError("no such account")

    def _secret(self) -> str:
        return "hidden"


# --- ordering and replies --------------------------------------------------------------------


async def test_messages_from_one_sender_arrive_in_the_order_sent_with_tells_and_asks_interleaved(
    system,
):
    log: list[object] = []
    ref = await system.spawn(Recorder, log)

    ref.tell(1)
    ref.tell(2)
    await ref.ask(3)
    ref.tell(4)
    await ref.ask(5)
    ref.tell(6)
    ref.tell(7)
    await ref.ask(8)

    assert log == [1, 2, 3, 4, 5, 6, 7, 8]


async def test_ask_returns_the_value_the_handler_returned(system):
    ref = await system.spawn(Recorder, [])
    ref.tell("a")

    assert await ref.ask("b") == 2


async def test_ask_returns_the_value_an_async_handler_returned(system):
    ref = await system.spawn(AsyncDoubler)

    assert await ref.ask(21) == 42


async def test_tell_is_not_a_checkpoint_and_queues_without_running_the_actor(system):
    log: list[object] = []
    ref = await system.spawn(Recorder, log)

    ref.tell("x")

    assert log == []
    assert ref.mailbox_size == 1
    await trio.testing.wait_all_tasks_blocked()
    assert log == ["x"]
    assert ref.mailbox_size == 0


# --- proxies ---------------------------------------------------------------------------------


async def test_a_proxy_calls_a_sync_method_with_args_and_kwargs_and_returns_its_value(system):
    ref = await system.spawn(Account)
    proxy = ref.proxy()

    assert await proxy.deposit(5) == 5
    assert await proxy.deposit(3, note="again") == 8


async def test_a_proxy_awaits_an_async_method(system):
    ref = await system.spawn(Account)
    await ref.proxy().deposit(7)

    assert await ref.proxy().audited_balance() == ("audited", 7)


async def test_a_proxy_refuses_private_names(system):
    ref = await system.spawn(Account)

    with pytest.raises(AttributeError, match="proxies call public methods only; '_secret'"):
        ref.proxy()._secret  # noqa: B018


async def test_a_proxy_refuses_an_unknown_method_naming_the_class_and_the_method(system):
    ref = await system.spawn(Account)

    with pytest.raises(AttributeError, match="Account has no method 'withdraw'"):
        ref.proxy().withdraw  # noqa: B018


async def test_a_proxy_refuses_a_plain_attribute_that_is_not_a_method(system):
    ref = await system.spawn(Account)

    with pytest.raises(AttributeError, match="Account has no method 'balance'"):
        ref.proxy().balance  # noqa: B018


async def test_an_exception_in_a_proxied_method_crashes_the_actor_and_is_the_cause(system):
    ref = await system.spawn(Account)

    with pytest.raises(ActorDeadError) as caught:
        await ref.proxy().fail()

    assert isinstance(caught.value.__cause__, KeyError)
    assert isinstance(ref.exit_reason, Crashed)


async def test_proxy_calls_and_tells_share_one_mailbox_order(system):
    ref = await system.spawn(Account)
    proxy = ref.proxy()
    ref.proxy()  # a second proxy is just another view on the same actor

    await proxy.deposit(1)
    assert await proxy.deposit(10) == 11


async def test_a_proxy_repr_names_its_actor(system):
    ref = await system.spawn(Account)

    assert repr(ref.proxy()) == f"<ActorProxy of {ref!r}>"


# --- identity ---------------------------------------------------------------------------------


async def test_an_actor_ref_has_no_public_constructor():
    with pytest.raises(TypeError, match="no public constructor"):
        ActorRef()


async def test_a_ref_reports_its_name_class_and_liveness(system):
    ref = await system.spawn(Recorder, [], name="rec")

    assert (ref.name, ref.actor_class, ref.is_alive, ref.exit_reason) == (
        "rec",
        Recorder,
        True,
        None,
    )
    await ref.stop()
    assert (ref.is_alive, ref.exit_reason) == (False, Normal())


async def test_every_incarnation_gets_a_distinct_id(system):
    first = await system.spawn(Recorder, [])
    second = await system.spawn(Recorder, [])

    assert first.id != second.id


async def test_repr_of_a_live_unnamed_ref_shows_class_id_and_alive(system):
    ref = await system.spawn(Recorder, [])

    assert repr(ref) == f"<ActorRef Recorder#{ref.id} alive>"


async def test_repr_of_a_live_named_ref_shows_the_name(system):
    ref = await system.spawn(Recorder, [], name="rec")

    assert repr(ref) == f"<ActorRef Recorder#{ref.id} 'rec' alive>"


async def test_repr_of_a_dead_ref_shows_the_exit_reason(system):
    ref = await system.spawn(Recorder, [])
    await ref.stop()

    assert repr(ref) == f"<ActorRef Recorder#{ref.id} dead: normal>"


async def test_repr_of_a_crashed_named_ref_shows_the_name_and_the_exception(system):
    ref = await system.spawn(Recorder, [], name="rec")
    ref.tell("boom")
    await ref.wait_exit()

    assert repr(ref) == f"<ActorRef Recorder#{ref.id} 'rec' dead: crashed: ValueError: boom>"


# --- dead targets -----------------------------------------------------------------------------


async def test_tell_to_a_dead_actor_raises_actor_dead_error_naming_it_and_its_reason(system):
    ref = await system.spawn(Recorder, [])
    await ref.stop()

    with pytest.raises(
        ActorDeadError, match=re.escape(f"{ref!r} is dead (normal); nothing was delivered")
    ) as caught:
        ref.tell("late")

    assert (caught.value.ref, caught.value.reason) == (ref, Normal())


async def test_tell_to_a_crashed_actor_chains_the_crash_as_the_cause(system):
    ref = await system.spawn(Recorder, [])
    ref.tell("boom")
    await ref.wait_exit()

    with pytest.raises(ActorDeadError) as caught:
        ref.tell("late")

    assert isinstance(caught.value.__cause__, ValueError)


async def test_a_ref_stays_usable_after_its_system_closed():
    async with open_actor_system() as system:
        ref = await system.spawn(Recorder, [])

    assert not ref.is_alive
    with pytest.raises(ActorDeadError):
        ref.tell("after the system closed")

"""FairLimiter: slots granted FIFO within a party and round-robin between parties."""

import math

import pytest
import trio
import trio.testing

from arborist.runtime.engine._fair import FairLimiter


async def _take(limiter, borrower, party, order):
    await limiter.acquire_on_behalf_of(borrower, party)
    order.append(borrower)


async def test_a_free_slot_is_granted_at_once_without_waiting(autojump_clock):
    limiter = FairLimiter(2)

    await limiter.acquire_on_behalf_of("a", "run-1")

    assert limiter.borrowed_tokens == 1
    assert limiter.waiting == 0
    assert trio.current_time() == 0.0


async def test_freed_slots_go_round_robin_between_parties_and_fifo_within_each():
    limiter = FairLimiter(1)
    await limiter.acquire_on_behalf_of("holder", "x")
    order = []
    async with trio.open_nursery() as nursery:
        for borrower, party in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("b2", "b")]:
            nursery.start_soon(_take, limiter, borrower, party, order)
            await trio.testing.wait_all_tasks_blocked()
        assert limiter.waiting == 5
        limiter.release_on_behalf_of("holder")
        for _ in range(5):
            await trio.testing.wait_all_tasks_blocked()
            limiter.release_on_behalf_of(order[-1])
    assert order == ["a1", "b1", "a2", "b2", "a3"]


async def test_a_waiter_cancelled_while_waiting_leaves_the_queue_holding_nothing():
    limiter = FairLimiter(1)
    await limiter.acquire_on_behalf_of("holder", "x")
    order = []
    async with trio.open_nursery() as outer:
        async with trio.open_nursery() as doomed:
            doomed.start_soon(_take, limiter, "gone", "a", order)
            outer.start_soon(_take, limiter, "kept", "b", order)
            await trio.testing.wait_all_tasks_blocked()
            assert limiter.waiting == 2
            doomed.cancel_scope.cancel()
        assert limiter.waiting == 1
        limiter.release_on_behalf_of("holder")
    assert order == ["kept"]
    assert limiter.borrowed_tokens == 1


async def test_raising_the_total_grants_waiters_at_once():
    limiter = FairLimiter(1)
    await limiter.acquire_on_behalf_of("holder", "x")
    order = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_take, limiter, "a", "a", order)
        nursery.start_soon(_take, limiter, "b", "b", order)
        await trio.testing.wait_all_tasks_blocked()
        limiter.total_tokens = 3
    assert sorted(order) == ["a", "b"]
    assert limiter.borrowed_tokens == 3


async def test_a_borrower_holds_at_most_one_slot():
    limiter = FairLimiter(2)
    await limiter.acquire_on_behalf_of("a", "x")

    with pytest.raises(RuntimeError, match="already holds a slot"):
        await limiter.acquire_on_behalf_of("a", "x")


def test_releasing_a_slot_never_taken_is_an_error():
    with pytest.raises(RuntimeError, match="holds no slot"):
        FairLimiter(1).release_on_behalf_of("nobody")


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3", True])
def test_a_bad_total_is_refused(bad):
    limiter = FairLimiter(1)
    with pytest.raises((TypeError, ValueError)):
        limiter.total_tokens = bad


def test_an_infinite_total_is_accepted():
    limiter = FairLimiter(1)
    limiter.total_tokens = math.inf
    assert limiter.total_tokens == math.inf

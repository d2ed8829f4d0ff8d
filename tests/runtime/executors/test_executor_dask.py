"""DaskExecutor on a real LocalCluster: results, errors, no engine retries, honest cancel.

The fast tests share an in-process cluster (``processes=False``); one test starts two worker
processes on loopback. Dask's messages take real time: waits are short and no test asserts
a duration.
"""

import asyncio
import os
import threading

import pytest
import trio
import trio.testing

from arborist.runtime.executors import (
    CancelResult,
    DaskExecutor,
    ExecutorOptionError,
    NotSendableError,
    RemoteCancelledError,
    wait_gone,
    wait_remote,
)

distributed = pytest.importorskip("distributed")


class Declined(Exception):
    pass


def decline(reason):
    raise Declined(reason)


def echo_options(value, key=None, priority=None):
    return (value, key, priority)


# Dask serialises functions even in-process, so a closure's list or event would be a copy:
# the functions below reach the test through this module's globals (pickled by reference).
RUNS: list[str] = []
GATES: dict[str, threading.Event] = {}


@pytest.fixture(autouse=True)
def _fresh_state():
    RUNS.clear()
    GATES.clear()
    GATES.update(started=threading.Event(), release=threading.Event())
    yield
    GATES["release"].set()


def record(x):
    RUNS.append(x)
    return x


def flaky(succeed_on):
    RUNS.append("attempt")
    if len(RUNS) < succeed_on:
        raise Declined("again")
    return "done"


def slow():
    GATES["started"].set()
    GATES["release"].wait(10)


def held():
    GATES["release"].wait(10)


def mark_ran():
    RUNS.append("ran")


def inc(x):
    return x + 1


async def test_a_dask_call_returns_the_value(dask):
    assert await wait_remote(dask.submit(pow, (2, 10))) == 1024


async def test_a_dask_call_raises_the_users_exception_with_its_type(dask):
    with pytest.raises(Declined, match="over budget"):
        await wait_remote(dask.submit(decline, ("over budget",)))


async def test_keyword_arguments_named_like_submit_options_reach_the_function(dask):
    call = dask.submit(echo_options, (1,), {"key": "k", "priority": "high"})

    assert await wait_remote(call) == (1, "k", "high")


async def test_each_submission_is_a_new_task_even_with_equal_arguments(dask):
    first, second = dask.submit(record, (1,)), dask.submit(record, (1,))
    await wait_remote(first)
    await wait_remote(second)

    assert RUNS == [1, 1]
    assert first.label != second.label
    assert first.label.startswith("arborist-record-")


async def test_dask_does_not_retry_a_failing_call_by_itself(dask):
    with pytest.raises(Declined):
        await wait_remote(dask.submit(flaky, (3,)))

    assert RUNS == ["attempt"]


async def test_retries_set_in_the_options_are_passed_to_dask(dask):
    assert await wait_remote(dask.submit(flaky, (3,), options={"retries": 2})) == "done"
    assert RUNS == ["attempt"] * 3


@pytest.mark.parametrize(
    ("option", "message"),
    [("pure", "pure=False: a retry must run again"), ("num_cpus", "is not a Dask submit option")],
)
async def test_options_arborist_owns_or_dask_lacks_are_refused_early(dask, option, message):
    with pytest.raises(ExecutorOptionError, match=message) as info:
        dask.validate_options({option: 1})

    assert info.value.option == option


async def test_submit_many_sends_a_map_in_order(dask):
    calls = dask.submit_many(pow, [((i, 2), {}) for i in range(20)])

    assert [await wait_remote(c) for c in calls] == [i * i for i in range(20)]


async def test_submit_many_in_chunks_keeps_order_and_each_elements_error(dask):
    def half(x):
        if x == 5:
            raise Declined("five")
        return x / 2

    calls = dask.submit_many(half, [((i,), {}) for i in range(8)], chunk_size=3)

    values = []
    for call in calls:
        try:
            values.append(await wait_remote(call))
        except Declined:
            values.append("declined")
    assert values == [0, 0.5, 1, 1.5, 2, "declined", 3, 3.5]


async def test_submit_many_with_differing_keywords_sends_each_call(dask):
    calls = dask.submit_many(echo_options, [((1,), {"key": "a"}), ((2,), {"priority": "p"})])

    assert [await wait_remote(c) for c in calls] == [(1, "a", None), (2, None, "p")]


async def test_cancelling_a_running_task_abandons_it_until_its_function_returns(dask):
    call = dask.submit(slow)
    await trio.to_thread.run_sync(GATES["started"].wait, 10)
    returned = trio.Event()

    async def waiter(box):
        with trio.CancelScope() as scope:
            box.append(scope)
            await wait_remote(call, hold_until_gone=True, gone_timeout=10)
        returned.set()

    async with trio.open_nursery() as nursery:
        box = []
        nursery.start_soon(waiter, box)
        await trio.testing.wait_all_tasks_blocked()
        box[0].cancel()
        await trio.testing.wait_all_tasks_blocked()
        holding = not returned.is_set()
        GATES["release"].set()

    assert holding
    assert call.cancel_result is CancelResult.ABANDONED
    with pytest.raises(RemoteCancelledError):
        call.result()


async def test_a_cancelled_queued_task_is_reported_gone_without_running(dask):
    busy = [dask.submit(held) for _ in range(2)]  # both worker threads
    queued = dask.submit(mark_ran)
    await trio.testing.wait_all_tasks_blocked()  # the batch has gone to the scheduler

    assert queued.cancel() is CancelResult.ABANDONED  # Dask cannot say whether it started
    with trio.fail_after(10):
        assert await wait_gone(queued)
    GATES["release"].set()
    for call in busy:
        await wait_remote(call)
    assert RUNS == []


async def test_a_call_cancelled_before_its_batch_is_sent_never_reaches_dask(dask):
    first = dask.submit(inc, (0,))  # sent at once; the next ones wait for the batch
    call = dask.submit(mark_ran)

    assert call.cancel() is CancelResult.NOT_STARTED
    assert await wait_gone(call)
    await trio.testing.wait_all_tasks_blocked()  # the batch is sent, without it
    assert await wait_remote(first) == 1
    assert await wait_remote(dask.submit(inc, (1,))) == 2
    assert RUNS == []


async def test_calls_after_the_first_of_a_trio_batch_go_to_dask_in_one_message(
    dask, monkeypatch
):
    maps = []
    client_map = dask.client.map

    def counting_map(*args, **kwargs):
        maps.append(len(kwargs["key"]))
        return client_map(*args, **kwargs)

    monkeypatch.setattr(dask.client, "map", counting_map)
    calls = [dask.submit(inc, (i,)) for i in range(5)]

    assert [await wait_remote(c) for c in calls] == [1, 2, 3, 4, 5]
    assert maps == [4]


async def test_calls_with_different_options_in_one_batch_each_keep_their_options(dask):
    calls = [
        dask.submit(held),
        dask.submit(held, options={"priority": 5}),
        dask.submit(held, options={"retries": 2}),
    ]
    await trio.testing.wait_all_tasks_blocked()  # the batch has gone to the scheduler
    labels = [c.label for c in calls]
    seen = await trio.to_thread.run_sync(dask.client.run_on_scheduler, _options, labels)
    GATES["release"].set()
    for call in calls:
        await wait_remote(call)

    assert seen == [(0, 0), (5, 0), (0, 2)]


async def _options(keys, dask_scheduler):
    """(priority, retries) of each task, once the scheduler has them all."""
    for _ in range(1000):
        if all(k in dask_scheduler.tasks for k in keys):
            break
        await asyncio.sleep(0.01)
    tasks = [dask_scheduler.tasks[k] for k in keys]
    return [(-t.priority[0], t.retries) for t in tasks]


async def test_a_batch_with_one_unsendable_call_sends_the_others(dask):
    good = dask.submit(inc, (1,))
    bad = dask.submit(inc, (threading.Lock(),))
    after = dask.submit(inc, (2,))

    assert await wait_remote(good) == 2
    assert await wait_remote(after) == 3
    with pytest.raises(NotSendableError, match="argument 0"):
        await wait_remote(bad)


async def test_without_gone_tracking_an_abandoned_call_cannot_be_waited_for(dask_client):
    executor = DaskExecutor(client=dask_client, track_gone=False)
    await executor.open()
    call = executor.submit(held)
    await trio.testing.wait_all_tasks_blocked()  # the batch has gone to the scheduler

    assert call.cancel() is CancelResult.ABANDONED
    assert await wait_gone(call) is False
    await executor.aclose()


async def test_closing_an_executor_leaves_a_client_it_was_given_open(dask_client):
    executor = DaskExecutor(client=dask_client)
    await executor.open()

    await executor.aclose()

    assert dask_client.status == "running"


async def test_an_executor_on_a_cluster_of_two_worker_processes_uses_both():
    with distributed.LocalCluster(
        processes=True,
        n_workers=2,
        threads_per_worker=1,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # not 8787: may be taken
        host="127.0.0.1",
    ) as cluster:
        executor = DaskExecutor(cluster=cluster)
        await executor.open()
        try:
            calls = executor.submit_many(_pid_after, [((0.2,), {}) for _ in range(4)])
            pids = {await wait_remote(call) for call in calls}
            with pytest.raises(ValueError, match="invalid literal"):
                await wait_remote(executor.submit(int, ("x",)))
        finally:
            await executor.aclose()

    assert len(pids) == 2
    assert os.getpid() not in pids


def _pid_after(seconds):
    import time

    time.sleep(seconds)  # long enough that both workers get work
    return os.getpid()


class NoTruth:
    """Compares like an array: ``==`` gives something that is not a bool."""

    def __eq__(self, other):
        raise ValueError("the truth value is ambiguous")

    __hash__ = object.__hash__


def first_arg(x, table=None):
    return x


async def test_a_map_whose_shared_argument_has_no_boolean_equality_is_sent(dask):
    table = NoTruth()

    calls = dask.submit_many(first_arg, [((i,), {"table": table}) for i in range(3)])

    assert [await wait_remote(c) for c in calls] == [0, 1, 2]

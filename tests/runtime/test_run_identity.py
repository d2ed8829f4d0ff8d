"""Run ids and keys, with or without a store: UUIDv7 ids, ``key=`` idempotency, ``ctx``'s
idempotency key, and runs by id in a runtime that keeps no journal."""

from __future__ import annotations

import uuid

import pytest
import trio

from arborist.runtime import (
    RUN_OPTIONS,
    RunNotFoundError,
    Runtime,
    StepContext,
    Workflow,
    WorkflowCancelledError,
)
from arborist.runtime.executors import RemoteStepInfo


def echo(name: str = "echo") -> Workflow:
    wf = Workflow(name, inputs=["x"])

    @wf.step
    async def give(x):
        return x

    wf.returns("give")
    return wf


async def test_run_ids_are_uuid7_strings_that_sort_by_creation():
    async with Runtime() as rt:
        ids = [(await rt.start(echo(), x=i)).run_id for i in range(3)]
    assert [uuid.UUID(i).version for i in ids] == [7, 7, 7]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3


async def test_a_key_starts_its_run_once_in_memory():
    wf = echo()
    async with Runtime() as rt:
        first = await rt.start(wf, x=1, key="order-1")
        second = await rt.start(wf, x=2, key="order-1")
        other = await rt.start(wf, x=3, key="order-2")
        results = [await first.result(), await second.result(), await other.result()]
    assert second is first
    assert results == [1, 1, 3]


async def test_a_key_of_another_workflows_run_is_refused_in_memory():
    async with Runtime() as rt:
        await rt.start(echo(), x=1, key="k")
        with pytest.raises(ValueError, match="key 'k' already names a run of workflow 'echo'"):
            await rt.start(echo("other"), x=1, key="k")


@pytest.mark.parametrize("key", ["", 3], ids=["empty", "not a str"])
async def test_a_bad_key_is_refused_at_the_call(key):
    async with Runtime() as rt:
        with pytest.raises(ValueError, match="key must be a non-empty str"):
            await rt.start(echo(), x=1, key=key)


def test_key_is_a_run_option_so_an_input_named_key_goes_through_inputs():
    assert "key" in RUN_OPTIONS


async def test_the_idempotency_key_names_the_run_and_step_and_is_the_remote_infos():
    seen: list[StepContext] = []
    wf = Workflow("pay")

    @wf.step
    async def charge(ctx):
        seen.append(ctx)

    async with Runtime() as rt:
        handle = await rt.start(wf)
        await handle.result()
    (ctx,) = seen
    assert ctx.idempotency_key == f"pay/{handle.run_id}/charge"
    info = RemoteStepInfo.for_attempt(handle.run_id, "pay", "charge", 1)
    assert ctx.idempotency_key == info.idempotency_key


async def test_each_map_element_gets_its_own_idempotency_key():
    keys: list[str] = []
    wf = Workflow("batch", inputs=["xs"])

    @wf.map(over="xs")
    async def each(x, ctx):
        keys.append(ctx.idempotency_key)

    async with Runtime() as rt:
        handle = await rt.start(wf, xs=["a", "b"])
        await handle.result()
    assert sorted(keys) == [f"batch/{handle.run_id}/each[0]", f"batch/{handle.run_id}/each[1]"]


async def test_get_run_finds_a_run_in_flight_and_cancel_run_cancels_it(autojump_clock):
    wf = Workflow("slow")

    @wf.step
    async def wait():
        await trio.sleep(60)

    async with Runtime() as rt:
        handle = await rt.start(wf)
        assert await rt.get_run(handle.run_id) is handle
        await rt.cancel_run(handle.run_id)
        with pytest.raises(WorkflowCancelledError):
            await handle.result()


async def test_without_a_store_an_ended_run_is_not_found_by_id():
    async with Runtime() as rt:
        handle = await rt.start(echo(), x=1)
        await handle.result()
        with pytest.raises(RunNotFoundError, match="without a store, ended runs are forgotten"):
            await rt.get_run(handle.run_id)

"""Map steps on an executor: batch_size bounds the elements in flight, results stay in order,
elements go out in batches (chunk_size per engine task), retries and timeouts per element."""

from __future__ import annotations

import pytest
import trio
import trio.lowlevel
from outcome import Error, Value
from remote_fakes import ManualExecutor

from arborist.runtime import (
    MapElementError,
    RemoteCallCancelled,
    Retry,
    RunStarted,
    Runtime,
    Workflow,
    WorkflowFailedError,
)
from arborist.runtime.executors import CancelResult, NotSendableError, RemoteStepInfo


class Bad(Exception):
    pass


def square(item):
    return item * item


def mapped(fn=square, **options):
    wf = Workflow("mapped", inputs=["records"])
    wf.map(fn, over="records", name="each", executor="manual", **options)
    wf.returns("each")
    return wf


async def run_map(manual, wf, records, *, events=None, **runtime_options):
    async with Runtime(executors={"manual": manual}, **runtime_options) as rt:
        if events is not None:
            rt.subscribe(events.append)
        return await rt.run(wf, records=records)


def by_element(seconds):
    """A duration per call from its element (positional or keyword)."""

    def duration(fn, args, kwargs):
        element = args[0] if args else kwargs["item"]
        return seconds(element)

    return duration


async def test_results_come_in_input_order_whatever_order_the_elements_finish_in(
    autojump_clock,
):
    manual = ManualExecutor(duration=by_element(lambda x: 10 - x))

    assert await run_map(manual, mapped(), list(range(10))) == [x * x for x in range(10)]


async def test_batch_size_bounds_the_elements_in_flight_on_the_executor(autojump_clock):
    manual = ManualExecutor(duration=1.0)
    read = []

    def source():
        for x in range(20):
            read.append((x, manual.running))
            yield x

    assert await run_map(manual, mapped(batch_size=4), source()) == [x * x for x in range(20)]
    assert manual.peak == 4
    assert max(running for _, running in read) <= 4  # read lazily: never ahead of the window
    assert trio.current_time() == 5.0


async def test_the_first_batch_goes_out_in_one_submission_and_refills_follow_the_window(
    autojump_clock,
):
    manual = ManualExecutor(duration=1.0)

    await run_map(manual, mapped(batch_size=8), list(range(20)))

    assert manual.batches[0] == 8
    assert sum(manual.batches) == 20
    assert len(manual.batches) < 20


async def test_refills_wait_for_a_quarter_of_the_window_not_one_slot(autojump_clock):
    manual = ManualExecutor(duration=by_element(lambda x: 1.0 + x / 100))  # one by one

    await run_map(manual, mapped(batch_size=8), list(range(30)))

    first, *refills, _ = manual.batches
    assert first == 8
    assert refills
    assert min(refills) >= 2
    assert sum(manual.batches) == 30


async def test_chunk_size_is_given_to_the_executor_and_each_batch_fills_a_chunk(autojump_clock):
    manual = ManualExecutor(duration=by_element(lambda x: 1.0 + x / 100))

    await run_map(manual, mapped(batch_size=6, chunk_size=3), list(range(14)))

    assert set(manual.chunk_sizes) == {3}
    assert all(size >= 3 for size in manual.batches[:-1])
    assert sum(manual.batches) == 14


async def test_the_element_travels_positionally_and_the_other_arguments_by_name(autojump_clock):
    wf = Workflow("mapped", inputs=["records", "scale"])
    wf.map(lambda item, scale: item * scale, name="each", over="records", executor="manual")
    wf.returns("each")
    manual = ManualExecutor()

    async with Runtime(executors={"manual": manual}) as rt:
        assert await rt.run(wf, records=[1, 2, 3], scale=10) == [10, 20, 30]

    assert [args for _, args, _ in manual.submitted] == [(1,), (2,), (3,)]
    assert [kwargs for _, _, kwargs in manual.submitted] == [{"scale": 10}] * 3


async def test_an_async_iterator_source_is_read_into_batches_too(autojump_clock):
    async def source():
        for x in range(5):
            await trio.lowlevel.checkpoint()
            yield x

    assert await run_map(ManualExecutor(), mapped(batch_size=2), source()) == [0, 1, 4, 9, 16]


async def test_a_failed_element_is_retried_alone_with_the_maps_retry(autojump_clock):
    tries: dict[int, int] = {}

    def flaky(item):
        tries[item] = tries.get(item, 0) + 1
        if item == 2 and tries[item] < 3:
            raise Bad("later")
        return item

    manual = ManualExecutor()
    wf = mapped(flaky, retry=Retry(attempts=3, delay=1.0))

    assert await run_map(manual, wf, [0, 1, 2, 3]) == [0, 1, 2, 3]
    assert tries == {0: 1, 1: 1, 2: 3, 3: 1}
    assert manual.batches == [4]  # the retries were submitted one by one
    assert len(manual.submitted) == 6


async def test_each_element_attempt_receives_its_info(autojump_clock):
    infos = []

    def tagged(item, info: RemoteStepInfo):
        infos.append(info)
        return item

    events = []
    await run_map(ManualExecutor(), mapped(tagged), ["a", "b"], events=events)
    run_id = next(e.run_id for e in events if isinstance(e, RunStarted))

    assert sorted((i.element, i.attempt, i.idempotency_key) for i in infos) == [
        (0, 1, f"mapped/{run_id}/each[0]"),
        (1, 1, f"mapped/{run_id}/each[1]"),
    ]


async def test_a_local_map_element_receives_its_info_as_well(autojump_clock):
    wf = Workflow("mapped", inputs=["records"])

    @wf.map(over="records", name="each")
    async def tagged(item, info: RemoteStepInfo):
        return (item, info.element)

    wf.returns("each")

    async with Runtime() as rt:
        assert await rt.run(wf, records=["a", "b"]) == [("a", 0), ("b", 1)]


async def test_a_failed_element_fails_the_map_naming_it_and_cancels_the_others(autojump_clock):
    def fails_on_three(item):
        if item == 3:
            raise Bad("three")
        return item

    manual = ManualExecutor(duration=by_element(lambda x: 1.0 if x == 3 else 5.0))
    events = []

    with pytest.raises(WorkflowFailedError) as caught:
        await run_map(manual, mapped(fails_on_three, batch_size=4), range(10), events=events)

    error = caught.value.__cause__
    assert isinstance(error, MapElementError)
    assert (error.index, error.element) == (3, 3)
    assert isinstance(error.__cause__, Bad)
    cancels = [e for e in events if isinstance(e, RemoteCallCancelled)]
    assert sorted(e.element for e in cancels) == [0, 1, 2]  # 4 was never read
    assert {(e.cancel, e.gone) for e in cancels} == {(CancelResult.ABANDONED, True)}


async def test_with_outcomes_a_failed_element_is_an_error_in_its_place(autojump_clock):
    def fails_on_one(item):
        if item == 1:
            raise Bad("one")
        return item

    got = await run_map(ManualExecutor(), mapped(fails_on_one, outcomes=True), [0, 1, 2])

    assert got[0] == Value(0)
    assert isinstance(got[1], Error)
    assert isinstance(got[1].error, Bad)
    assert got[2] == Value(2)


async def test_an_element_timeout_abandons_it_and_its_slot_is_held_until_it_is_gone(
    autojump_clock,
):
    manual = ManualExecutor(duration=by_element(lambda x: 6.0 if x == 0 else 1.0))
    wf = mapped(batch_size=2, timeout=2.0, outcomes=True)
    events = []

    got = await run_map(manual, wf, range(4), events=events)

    assert isinstance(got[0], Error)
    assert got[1:] == [Value(1), Value(4), Value(9)]
    assert manual.peak == 2  # the abandoned element kept its place in the window
    (cancelled,) = [e for e in events if isinstance(e, RemoteCallCancelled)]
    assert (cancelled.element, cancelled.gone, cancelled.waited) == (0, True, 4.0)


async def test_a_map_with_a_pool_submits_each_element_once_it_holds_a_slot(autojump_clock):
    manual = ManualExecutor(duration=1.0)

    async with Runtime(executors={"manual": manual}) as rt:
        rt.pool("cluster", limit=2)
        await rt.run(mapped(batch_size=10, pool="cluster"), records=list(range(6)))

    assert manual.batches == []
    assert manual.peak == 2
    assert trio.current_time() == 3.0


async def test_an_element_that_is_a_trio_object_fails_the_map_naming_the_element(autojump_clock):
    manual = ManualExecutor()

    with pytest.raises(WorkflowFailedError) as caught:
        await run_map(manual, mapped(lambda item: None), [1, trio.Event(), 3])

    error = caught.value.__cause__
    assert isinstance(error, MapElementError)
    assert error.index == 1
    assert isinstance(error.__cause__, NotSendableError)
    assert "element 1" in str(error.__cause__)
    assert manual.submitted == []

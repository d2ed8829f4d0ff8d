"""Map steps: one element step per element of a list, an iterator or an async iterator, at
most ``batch_size`` materialised at once, read lazily, results ordered or not, folded or not."""

import pytest
import trio
import trio.lowlevel
from outcome import Error, Value

from arborist.runtime import (
    MapElementError,
    Retry,
    Runtime,
    StepTimeoutError,
    Workflow,
    WorkflowDefinitionError,
    WorkflowFailedError,
)


class Boom(Exception):
    pass


def map_workflow(body, **options):
    """``records`` input -> map step ``each`` running ``body`` per element; returns ``each``."""
    wf = Workflow("mapped", inputs=["records"])
    wf.map(over="records", name="each", **options)(body)
    wf.returns("each")
    return wf


class Reads:
    """Instruments a source: at each read, how far reading is ahead of finished elements."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.read = 0
        self.finished = 0
        self.ahead: list[int] = []

    def note_read(self) -> None:
        self.read += 1
        self.ahead.append(self.read - self.finished)

    def sync_source(self):
        for i in range(self.n):
            self.note_read()
            yield i

    async def async_source(self):
        for i in range(self.n):
            await trio.lowlevel.checkpoint()
            self.note_read()
            yield i


async def test_ordered_results_come_in_input_order_whatever_order_elements_finish_in(
    autojump_clock,
):
    async def slow_first(x):
        await trio.sleep(5 - x)
        return x * 10

    async with Runtime(seed=0) as rt:
        result = await rt.run(map_workflow(slow_first, batch_size=5), records=[0, 1, 2, 3, 4])
        assert trio.current_time() == 5.0
    assert result == [0, 10, 20, 30, 40]


async def test_unordered_results_come_in_completion_order(autojump_clock):
    async def slow_first(x):
        await trio.sleep(5 - x)
        return x * 10

    wf = map_workflow(slow_first, batch_size=5, ordered=False)
    async with Runtime(seed=0) as rt:
        assert await rt.run(wf, records=[0, 1, 2, 3, 4]) == [40, 30, 20, 10, 0]


async def test_batch_size_bounds_the_elements_running_at_once(autojump_clock):
    running = []
    peak = []

    async def work(x):
        running.append(x)
        peak.append(len(running))
        await trio.sleep(1.0)
        running.remove(x)
        return x

    wf = map_workflow(work, batch_size=3)
    async with Runtime(seed=0) as rt:
        await rt.run(wf, records=list(range(10)))
        assert trio.current_time() == 4.0  # ceil(10 / 3) waves of 1 s
    assert max(peak) == 3
    assert wf.steps["each"].map_statistics.peak_materialised == 3


@pytest.mark.parametrize("kind", ["iterator", "async iterator"])
@pytest.mark.parametrize("ordered", [True, False])
async def test_a_lazy_source_is_never_read_more_than_batch_size_ahead_of_finished_elements(
    autojump_clock, kind, ordered
):
    reads = Reads(50)

    async def work(x):
        await trio.sleep(1.0 + (x % 7) / 10)
        reads.finished += 1
        return x

    wf = Workflow("lazy")

    @wf.step
    async def source():
        return reads.sync_source() if kind == "iterator" else reads.async_source()

    @wf.map(over="source", batch_size=4, ordered=ordered)
    async def each(x):
        return await work(x)

    wf.returns("each")
    async with Runtime(seed=0) as rt:
        result = await rt.run(wf)
    assert sorted(result) == list(range(50))
    assert reads.read == 50
    assert max(reads.ahead) == 4
    assert wf.steps["each"].map_statistics.peak_materialised == 4


async def test_an_ordered_map_holds_its_window_while_waiting_for_an_earlier_element(
    autojump_clock,
):
    reads = Reads(10)

    async def work(x):
        await trio.sleep(10.0 if x == 0 else 1.0)
        reads.finished += 1
        return x

    wf = Workflow("held")

    @wf.step
    async def source():
        return reads.sync_source()

    @wf.map(over="source", batch_size=3)
    async def each(x):
        return await work(x)

    async with Runtime(seed=0) as rt:
        handle = await rt.start(wf)
        await trio.sleep(5.0)
        assert reads.read == 3  # 1 and 2 are done but wait for 0: nothing more is read
        await handle.result()
        assert trio.current_time() == 13.0  # 10 s for element 0, then ceil(7 / 3) waves


async def test_the_element_goes_to_the_first_parameter_and_the_others_are_wired_by_name(
    autojump_clock,
):
    wf = Workflow("wired", inputs=["records", "rate"])

    @wf.map(over="records")
    async def convert(amount, rate):
        return amount * rate

    wf.returns("convert")
    async with Runtime(seed=0) as rt:
        assert await rt.run(wf, records=[1, 2, 3], rate=2) == [2, 4, 6]


async def test_item_names_the_parameter_that_receives_the_element(autojump_clock):
    wf = Workflow("item", inputs=["records", "prefix"])

    @wf.map(over="records", item="name")
    def label(prefix, name):
        return f"{prefix}{name}"

    wf.returns("label")
    async with Runtime(seed=0) as rt:
        assert await rt.run(wf, records=["a", "b"], prefix="#") == ["#a", "#b"]


async def test_reduce_folds_the_results_from_initial_in_input_order(autojump_clock):
    async def square(x):
        await trio.sleep(3 - x)
        return x * x

    wf = map_workflow(square, reduce=lambda acc, r: [*acc, r], initial=[])
    async with Runtime(seed=0) as rt:
        assert await rt.run(wf, records=[0, 1, 2]) == [0, 1, 4]


async def test_reduce_without_initial_starts_from_none_and_initial_alone_is_refused():
    with pytest.raises(WorkflowDefinitionError, match="initial= goes with reduce="):
        map_workflow(lambda x: x, initial=0)


async def test_a_reduce_that_raises_fails_the_step_with_its_own_error(autojump_clock):
    def add(acc, result):
        if result == 2:
            raise Boom("cannot add 2")
        return acc + result

    async def same(x):
        return x

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(map_workflow(same, reduce=add, initial=0), records=[1, 2, 3])
    assert info.value.step == "each"
    assert isinstance(info.value.cause, Boom)
    assert str(info.value.cause) == "cannot add 2"


async def test_a_source_iterator_that_raises_fails_the_step_with_its_error(autojump_clock):
    def records():
        yield 1
        raise Boom("file truncated")

    async def same(x):
        return x

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(map_workflow(same), records=records())
    assert isinstance(info.value.cause, Boom)


async def test_a_failing_element_is_retried_with_the_maps_retry_policy(autojump_clock):
    attempts = []

    async def flaky(x, ctx):
        attempts.append((x, ctx.attempt, trio.current_time()))
        if x == 1 and ctx.attempt < 3:
            raise Boom("flaky")
        return x

    wf = map_workflow(flaky, retry=Retry(attempts=3, delay=0.5))
    async with Runtime(seed=0) as rt:
        assert await rt.run(wf, records=[0, 1, 2]) == [0, 1, 2]
    assert [a for a in attempts if a[0] == 1] == [(1, 1, 0.0), (1, 2, 0.5), (1, 3, 1.0)]
    assert len(attempts) == 5


async def test_a_timeout_applies_to_each_element_attempt(autojump_clock):
    async def slow_on_two(x):
        await trio.sleep(5.0 if x == 2 else 0.5)
        return x

    wf = map_workflow(slow_on_two, timeout=1.0, outcomes=True)
    async with Runtime(seed=0) as rt:
        result = await rt.run(wf, records=[1, 2, 3])
        assert trio.current_time() == 1.0
    assert result[0] == Value(1)
    assert isinstance(result[1], Error)
    assert isinstance(result[1].error, StepTimeoutError)
    assert result[2] == Value(3)


async def test_with_outcomes_failed_elements_become_errors_and_do_not_fail_the_step(
    autojump_clock,
):
    async def odd_fails(x):
        if x % 2:
            raise Boom(f"odd {x}")
        return x

    wf = map_workflow(odd_fails, outcomes=True)
    async with Runtime(seed=0) as rt:
        result = await rt.run(wf, records=[0, 1, 2, 3])
    assert [type(r).__name__ for r in result] == ["Value", "Error", "Value", "Error"]
    assert [str(r.error) for r in result if isinstance(r, Error)] == ["odd 1", "odd 3"]
    stats = wf.steps["each"].map_statistics
    assert (stats.elements, stats.failed) == (2, 2)


async def test_a_failed_element_fails_the_map_with_an_error_naming_the_element(autojump_clock):
    cancelled = []

    async def work(record):
        if record["id"] == "r2":
            await trio.sleep(1.0)
            raise Boom("bad record")
        try:
            await trio.sleep(10.0)
        except trio.Cancelled:
            cancelled.append(record["id"])
            raise
        return record

    wf = map_workflow(work, batch_size=2)
    records = [{"id": "r1"}, {"id": "r2"}, {"id": "r3"}]
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf, records=records)
        assert trio.current_time() == 1.0
    error = info.value.cause
    assert info.value.step == "each"
    assert isinstance(error, MapElementError)
    assert (error.step, error.index, error.element) == ("each", 1, {"id": "r2"})
    assert isinstance(error.__cause__, Boom)
    assert str(error) == "map step 'each' failed on element 1 ({'id': 'r2'}): Boom: bad record"
    assert cancelled == ["r1"]


async def test_a_long_element_is_shortened_in_the_error_message(autojump_clock):
    async def fail(x):
        raise Boom("no")

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(map_workflow(fail), records=["x" * 100])
    assert str(info.value.cause) == (
        f"map step 'each' failed on element 0 ('{'x' * 56}...): Boom: no"
    )


async def test_a_source_that_is_not_iterable_fails_the_step_saying_what_to_pass(autojump_clock):
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(map_workflow(lambda x: x), records=42)
    assert isinstance(info.value.cause, TypeError)
    assert str(info.value.cause) == (
        "map step 'each': over='records' gave 42, which is not iterable; pass a list, an "
        "iterator or an async iterator"
    )


async def test_a_map_over_a_sub_workflow_runs_one_child_run_per_element(autojump_clock):
    child = Workflow("enrich", inputs=["user_id"])

    @child.step
    async def profile(user_id):
        await trio.sleep(1.0)
        return {"id": user_id}

    @child.step
    async def score(profile):
        return profile["id"] * 10

    child.returns("score")
    parent = Workflow("users", inputs=["ids"])
    parent.map(over="ids", workflow=child, name="scores", batch_size=2)
    parent.returns("scores")
    async with Runtime(seed=0) as rt:
        assert await rt.run(parent, ids=[1, 2, 3]) == [10, 20, 30]
        assert trio.current_time() == 2.0


async def test_elements_of_a_sub_workflow_map_are_undone_when_the_parent_fails_later(
    autojump_clock,
):
    log = []
    child = Workflow("create_account", inputs=["name"])

    @child.step
    async def create(name):
        await trio.sleep({"a": 1.0, "b": 3.0, "c": 2.0}[name])
        log.append(("create", name))
        return name

    @create.undo
    async def delete(name, arguments):
        log.append(("delete", name))

    child.returns("create")
    parent = Workflow("accounts", inputs=["names"])
    parent.map(over="names", workflow=child, name="accounts")

    @parent.step
    async def announce(accounts):
        raise Boom("mail down")

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(parent, names=["a", "b", "c"])
    assert info.value.undone == ("accounts/create", "accounts/create", "accounts/create")
    assert log == [
        ("create", "a"),
        ("create", "c"),
        ("create", "b"),
        ("delete", "b"),
        ("delete", "c"),
        ("delete", "a"),
    ]


async def test_a_map_over_a_million_elements_keeps_at_most_batch_size_materialised():
    # 200,000 keeps the suite fast; benchmarks/w9_map.py runs 1,000,000 (same code path).
    n = 200_000
    wf = Workflow("big", inputs=["n"])

    @wf.step
    async def source(n):
        return iter(range(n))

    @wf.map(over="source", batch_size=100, reduce=lambda acc, _: acc + 1, initial=0)
    async def each(x):
        return None

    wf.returns("each")
    async with Runtime(seed=0) as rt:
        assert await rt.run(wf, n=n) == n
    stats = wf.steps["each"].map_statistics
    assert stats.elements == n
    assert 1 <= stats.peak_materialised <= 100


def test_map_options_are_checked_at_definition():
    wf = Workflow("bad", inputs=["records"])
    with pytest.raises(WorkflowDefinitionError, match="batch_size must be a positive int; got 0"):
        wf.map(over="records", batch_size=0)(lambda x: x)
    with pytest.raises(WorkflowDefinitionError, match="has no parameter 'nope' for the element"):
        wf.map(over="records", item="nope")(lambda x: x)


async def test_a_map_steps_pool_bounds_its_elements_one_slot_each(autojump_clock):
    running, peak = [0], [0]
    wf = Workflow("pooled", inputs=["items"])

    @wf.map(over="items", batch_size=50, pool="api")
    async def call(item):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await trio.sleep(1.0)
        running[0] -= 1
        return item

    wf.returns("call")
    async with Runtime(seed=0) as rt:
        rt.pool("api", limit=3)
        assert await rt.run(wf, items=list(range(9))) == list(range(9))
        assert trio.current_time() == 3.0
    assert peak == [3]


async def test_concurrent_runs_of_one_map_step_count_separately(autojump_clock):
    wf = Workflow("twice", inputs=["items", "pause"])

    @wf.map(over="items", batch_size=10)
    async def touch(item, pause):
        await trio.sleep(pause)
        return item

    async with Runtime(seed=0) as rt:
        first = await rt.start(wf, items=list(range(3)), pause=1.0)
        second = await rt.start(wf, items=list(range(5)), pause=2.0)
        await first.result()
        assert touch.map_statistics.elements == 3  # not 3 + whatever the other run did
        await second.result()
        assert touch.map_statistics.elements == 5

"""Runtime(executors=...): checked when made, opened before anything runs, closed after the
runs; rt.start checks each remote step's executor, options and what it would send."""

from __future__ import annotations

import threading

import pytest
import trio
from remote_fakes import ManualExecutor

from arborist.runtime import Runtime, Workflow, WorkflowDefinitionError, value
from arborist.runtime._executors import RuntimeExecutors
from arborist.runtime.executors import NotSendableError, ThreadExecutor


def remote_workflow(executor="manual", **options):
    wf = Workflow("remote", inputs=["x"])

    @wf.step(executor=executor, **options)
    def double(x):
        return 2 * x

    wf.returns("double")
    return wf


# -- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize("executors", [["dask"], "dask", 3])
def test_executors_that_are_not_a_mapping_are_refused_at_construction(executors):
    with pytest.raises(TypeError, match="executors takes a mapping of names to executors"):
        Runtime(executors=executors)


def test_an_executor_name_that_is_not_a_string_is_refused():
    with pytest.raises(TypeError, match="names are strings"):
        Runtime(executors={1: ManualExecutor()})


def test_an_empty_executor_name_is_refused():
    with pytest.raises(ValueError, match="non-empty string"):
        Runtime(executors={"": ManualExecutor()})


def test_a_value_that_is_not_an_executor_is_refused_naming_its_key():
    with pytest.raises(TypeError, match=r"executors\['dask'\] is 'tcp://x:8786', which is not"):
        Runtime(executors={"dask": "tcp://x:8786"})


def test_one_executor_under_two_names_is_refused():
    shared = ManualExecutor()

    same = r"executors\['b'\] is the same executor as executors\['a'\]"
    with pytest.raises(ValueError, match=same):
        Runtime(executors={"a": shared, "b": shared})


# -- lifecycle ---------------------------------------------------------------------------------


async def test_executors_are_open_before_the_block_runs_and_closed_after_it():
    first, second = ManualExecutor(name="first"), ManualExecutor(name="second")

    async with Runtime(executors={"a": first, "b": second}):
        states = (first.state, second.state)

    assert states == ("open", "open")
    assert (first.state, second.state) == ("closed", "closed")
    assert first.log == ["open first", "close first"]


async def test_executors_close_in_reverse_order_of_opening():
    log: list[str] = []
    first, second = ManualExecutor(name="first"), ManualExecutor(name="second")
    first.log = second.log = log

    async with Runtime(executors={"a": first, "b": second}):
        pass

    assert log == ["open first", "open second", "close second", "close first"]


async def test_an_executor_that_fails_to_open_closes_those_opened_and_its_error_is_raised():
    log: list[str] = []
    first, second = ManualExecutor(name="first"), ManualExecutor(name="second")
    first.log = second.log = log
    second.open_error = OSError("no scheduler at tcp://nowhere:8786")

    with pytest.raises(OSError, match="no scheduler") as caught:
        async with Runtime(executors={"a": first, "b": second}):
            pytest.fail("the block must not run")

    assert log == ["open first", "open second", "close first"]
    assert "while opening executor 'b'" in "".join(caught.value.__notes__)


async def test_a_run_in_flight_at_shutdown_ends_before_its_executor_closes(autojump_clock):
    manual = ManualExecutor(duration=2.0)
    seen: list[str] = []

    async with Runtime(executors={"manual": manual}) as rt:
        handle = await rt.start(remote_workflow(), x=1)
        handle_done = handle._done
        rt.subscribe(lambda event: seen.append(f"{type(event).__name__} {manual.state}"))

    assert handle_done.is_set()
    assert await handle.result() == 2
    assert "RunFinished open" in seen
    assert manual.state == "closed"


async def test_closing_the_runtime_twice_closes_its_executors_once():
    manual = ManualExecutor()

    async with Runtime(executors={"manual": manual}) as rt:
        await rt.aclose()

    assert manual.log == ["open manual", "close manual"]


# -- rt.start checks ---------------------------------------------------------------------------


async def test_a_step_naming_an_unknown_executor_fails_at_start_naming_the_known_ones():
    async with Runtime(executors={"procs": ManualExecutor()}) as rt:
        with pytest.raises(WorkflowDefinitionError) as caught:
            await rt.start(remote_workflow("dask"), x=1)

    message = str(caught.value)
    assert "step 'double' runs on executor 'dask'" in message
    assert "known: 'procs'" in message
    assert "Runtime(executors={'dask':" in message


async def test_a_runtime_without_executors_says_it_has_none():
    async with Runtime() as rt:
        with pytest.raises(WorkflowDefinitionError, match=r"known: none"):
            await rt.start(remote_workflow("dask"), x=1)


async def test_executor_options_the_executor_refuses_fail_at_start_naming_the_step_and_key():
    async with Runtime(executors={"manual": ManualExecutor()}) as rt:
        with pytest.raises(WorkflowDefinitionError, match=r"step 'double'.*'retries'") as caught:
            await rt.start(remote_workflow(executor_options={"retries": 3}), x=1)

    assert type(caught.value.__cause__).__name__ == "ExecutorOptionError"


async def test_a_function_that_cannot_be_pickled_fails_before_anything_runs():
    manual = ManualExecutor()
    wf = Workflow("remote", inputs=["x"])
    lock = threading.Lock()

    def uses_lock(x):
        with lock:  # a closure over a lock: cloudpickle tries to send the lock
            return x

    wf.step(uses_lock, executor="manual")

    async with Runtime(executors={"manual": manual}) as rt:
        with pytest.raises(NotSendableError, match=r"step 'uses_lock'.*the function"):
            await rt.start(wf, x=1)

    assert manual.submitted == []


async def test_a_constant_argument_that_cannot_be_pickled_fails_before_anything_runs():
    wf = Workflow("remote", inputs=[])
    lock = value(threading.Lock())
    wf.step(lambda handle: None, name="write", args={"handle": lock}, executor="m")

    async with Runtime(executors={"m": ManualExecutor()}) as rt:
        with pytest.raises(NotSendableError, match=r"step 'write'.*argument 'handle'"):
            await rt.start(wf)


async def test_a_trio_object_as_a_constant_is_refused_though_it_pickles():
    wf = Workflow("remote", inputs=[])
    wf.step(lambda done: None, name="signal", args={"done": value(trio.Event())}, executor="m")

    async with Runtime(executors={"m": ManualExecutor()}) as rt:
        with pytest.raises(NotSendableError, match="trio objects belong to the local trio loop"):
            await rt.start(wf)


async def test_a_remote_map_is_checked_at_start_too():
    wf = Workflow("remote", inputs=["xs"])
    wf.map(lambda item: item, name="each", over="xs", executor="ray")

    async with Runtime(executors={"m": ManualExecutor()}) as rt:
        with pytest.raises(WorkflowDefinitionError, match="map step 'each' runs on executor 'ray'"):
            await rt.start(wf, xs=[1])


async def test_a_thread_executor_runs_a_step_on_its_own_threads():
    main = threading.get_ident()
    wf = Workflow("remote", inputs=[])
    def where():
        return threading.get_ident()

    wf.step(where, executor="threads")
    wf.returns("where")

    async with Runtime(executors={"threads": ThreadExecutor(1)}) as rt:
        where = await rt.run(wf)

    assert where != main


async def test_the_runtime_executors_show_their_names_and_state():
    executors = RuntimeExecutors({"dask": ManualExecutor(), "procs": ManualExecutor()})

    assert repr(executors) == "<RuntimeExecutors dask, procs closed>"
    await executors.open()
    assert repr(executors) == "<RuntimeExecutors dask, procs open>"

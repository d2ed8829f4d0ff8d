"""ThreadExecutor and ProcessExecutor: results, the user's exceptions, honest cancels."""

import os
import threading

import pytest
import trio

from arborist.runtime.executors import (
    CancelResult,
    ExecutorClosedError,
    ExecutorOptionError,
    ProcessExecutor,
    RemoteCallPendingError,
    RemoteCancelledError,
    ThreadExecutor,
    wait_gone,
    wait_remote,
)


class Refused(Exception):
    pass


def add(a, b=0):
    return a + b


def refuse(reason):
    raise Refused(reason)


@pytest.fixture
async def threads():
    executor = ThreadExecutor(max_workers=1)
    await executor.open()
    yield executor
    await executor.aclose()


def blocker(started: threading.Event, release: threading.Event):
    def run():
        started.set()
        release.wait()
        return "finished"

    return run


async def test_a_thread_call_returns_the_functions_value(threads):
    assert await wait_remote(threads.submit(add, (1,), {"b": 2})) == 3


async def test_a_thread_call_raises_the_users_exception_with_its_type(threads):
    with pytest.raises(Refused, match="no"):
        await wait_remote(threads.submit(refuse, ("no",)))


async def test_cancelling_a_queued_call_drops_it_before_it_starts(threads):
    started, release = threading.Event(), threading.Event()
    running = threads.submit(blocker(started, release))
    queued = threads.submit(add, (1,))

    result = queued.cancel()

    assert result is CancelResult.NOT_STARTED
    assert queued.cancel_result is CancelResult.NOT_STARTED
    with pytest.raises(RemoteCancelledError):
        queued.result()
    release.set()
    assert await wait_remote(running) == "finished"


async def test_cancelling_a_running_call_abandons_it_and_gone_comes_when_it_returns(threads):
    started, release = threading.Event(), threading.Event()
    call = threads.submit(blocker(started, release))
    await trio.to_thread.run_sync(started.wait)

    assert call.cancel() is CancelResult.ABANDONED
    assert call.done()
    gone = []
    assert call.add_gone_callback(lambda: gone.append(True))
    assert gone == []
    release.set()
    assert await wait_gone(call)
    assert gone == [True]


async def test_cancel_is_idempotent_and_reports_its_first_result(threads):
    started, release = threading.Event(), threading.Event()
    call = threads.submit(blocker(started, release))
    await trio.to_thread.run_sync(started.wait)

    first = call.cancel()
    release.set()
    await wait_gone(call)

    assert call.cancel() is first is CancelResult.ABANDONED


async def test_cancelling_a_finished_call_keeps_its_result(threads):
    call = threads.submit(add, (2,))
    await wait_remote(call)

    assert call.cancel() is CancelResult.ALREADY_DONE
    assert call.result() == 2


async def test_result_of_a_pending_call_raises_instead_of_blocking(threads):
    started, release = threading.Event(), threading.Event()
    call = threads.submit(blocker(started, release))

    with pytest.raises(RemoteCallPendingError, match="not done yet"):
        call.result()
    release.set()
    await wait_remote(call)


async def test_an_async_function_is_refused_with_a_hint(threads):
    async def fetch():
        return 1

    with pytest.raises(TypeError, match="async function; make it a plain def"):
        threads.submit(fetch)


async def test_options_are_refused_naming_the_key(threads):
    with pytest.raises(ExecutorOptionError, match="'num_cpus' is not an option"):
        threads.submit(add, (1,), options={"num_cpus": 2})


async def test_submitting_before_open_or_after_close_names_the_state():
    executor = ThreadExecutor()
    with pytest.raises(ExecutorClosedError, match="not open yet"):
        executor.submit(add, (1,))
    await executor.open()
    await executor.aclose()
    with pytest.raises(ExecutorClosedError, match="closed"):
        executor.submit(add, (1,))


async def test_closing_cancels_the_queued_calls(threads):
    started, release = threading.Event(), threading.Event()
    threads.submit(blocker(started, release))
    queued = threads.submit(add, (1,))
    await trio.to_thread.run_sync(started.wait)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(threads.aclose)
        with pytest.raises(RemoteCancelledError):
            await wait_remote(queued)
        release.set()


def test_the_repr_shows_name_and_state():
    assert repr(ThreadExecutor(name="io")) == "<ThreadExecutor 'io' not open yet>"


async def test_a_call_repr_shows_its_label_and_state(threads):
    call = threads.submit(add, (1,), label="step")
    await wait_remote(call)

    assert repr(call).startswith("<FutureCall step-")
    assert repr(call).endswith(" done>")


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_max_workers_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match=f"max_workers must be None or an int >= 1; got {bad!r}"):
        ThreadExecutor(max_workers=bad)


async def test_a_process_call_runs_in_another_process_and_keeps_the_error_type():
    executor = ProcessExecutor(max_workers=1)
    await executor.open()
    try:
        pid = await wait_remote(executor.submit(os.getpid))
        offset = 5
        value = await wait_remote(executor.submit(lambda x: x + offset, (1,)))
        with pytest.raises(ValueError, match="invalid literal"):
            await wait_remote(executor.submit(int, ("x",)))
    finally:
        await executor.aclose()

    assert pid != os.getpid()
    assert value == 6


def test_an_unknown_start_method_is_refused():
    with pytest.raises(ValueError, match="start_method must be one of"):
        ProcessExecutor(start_method="teleport")

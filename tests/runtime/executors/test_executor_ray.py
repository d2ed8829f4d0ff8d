"""RayExecutor on a real local Ray: the user's exception unwrapped, no Ray retries, cancel
kills. Marked ``ray``; skipped unless the ray extra is installed (``pip install
'arborist[ray]'``, about 700 MiB of RAM for the session's local cluster).

Ray workers are other processes that cannot import this test module, so the functions sent
are defined inside the tests (cloudpickle sends them by value).
"""

import os
import time

import pytest
import trio

from arborist.runtime.executors import (
    CancelResult,
    ExecutorOptionError,
    RayExecutor,
    RemoteCancelledError,
    _ray,
    wait_gone,
    wait_remote,
)

pytestmark = pytest.mark.ray


@pytest.fixture
async def ray_executor(ray_session):
    executor = RayExecutor()  # uses the session's Ray and leaves it running
    await executor.open()
    yield executor
    await executor.aclose()


async def test_a_ray_call_returns_the_value(ray_executor):
    assert await wait_remote(ray_executor.submit(lambda a, b=0: a + b, (1,), {"b": 2})) == 3


async def test_a_ray_task_error_is_unwrapped_to_the_users_exception(ray_executor):
    def lookup():
        return {}["missing"]

    with pytest.raises(KeyError) as info:
        await wait_remote(ray_executor.submit(lookup))

    assert type(info.value) is KeyError


async def test_a_ray_task_returning_an_exception_object_gives_it_as_its_value(ray_executor):
    def make():
        return ValueError("a value, not an error")

    value = await wait_remote(ray_executor.submit(make))

    assert type(value) is ValueError
    assert str(value) == "a value, not an error"


async def test_many_ray_calls_ending_together_each_get_their_own_outcome(ray_executor):
    def check(x):
        if x % 5 == 0:
            raise ValueError(x)
        return x

    calls = ray_executor.submit_many(check, [((i,), {}) for i in range(40)])

    for i, call in enumerate(calls):
        if i % 5 == 0:
            with pytest.raises(ValueError, match=str(i)):
                await wait_remote(call)
        else:
            assert await wait_remote(call) == i


async def test_closing_a_ray_executor_kills_its_pending_calls(ray_session, tmp_path):
    executor = RayExecutor()
    await executor.open()
    call = executor.submit(time.sleep, (30,))

    await executor.aclose()

    assert call.cancel_result is CancelResult.KILLED
    with pytest.raises(RemoteCancelledError):
        call.result()
    with trio.fail_after(5):
        assert await wait_gone(call)


async def test_ray_does_not_retry_a_failing_task_by_itself(ray_executor, tmp_path):
    marks = tmp_path / "attempts"

    def fail(path):
        with open(path, "a") as f:
            f.write("x")
        raise KeyError("no")

    with pytest.raises(KeyError):
        await wait_remote(ray_executor.submit(fail, (str(marks),)))

    assert marks.read_text() == "x"


async def test_cancelling_a_running_ray_task_kills_it(ray_executor, tmp_path):
    started = tmp_path / "started"
    os.mkfifo(started)

    def sleeper(path):
        with open(path, "w") as fifo:
            fifo.write("!")
        time.sleep(30)

    call = ray_executor.submit(sleeper, (str(started),))
    with trio.fail_after(30):  # the task writes to the FIFO once it runs
        await trio.to_thread.run_sync(started.read_text, abandon_on_cancel=True)

    assert call.cancel() is CancelResult.KILLED
    with trio.fail_after(15):
        assert await wait_gone(call)
    with pytest.raises(RemoteCancelledError):
        call.result()


async def test_a_bad_ray_option_is_refused_by_ray_before_submission(ray_executor):
    with pytest.raises(ExecutorOptionError, match="'bogus' is refused by Ray"):
        ray_executor.validate_options({"bogus": 1})


async def test_ray_options_pass_through_and_arborist_defaults_stay_unless_set(ray_executor):
    options = ray_executor.validate_options({"num_cpus": 1, "max_retries": 2})

    assert options == {"num_cpus": 1, "max_retries": 2, "retry_exceptions": False}
    assert await wait_remote(ray_executor.submit(os.getpid, options={"num_cpus": 1})) > 0


async def test_ray_submit_many_in_chunks_keeps_order(ray_executor):
    calls = ray_executor.submit_many(lambda x: x * x, [((i,), {}) for i in range(7)], chunk_size=3)

    assert [await wait_remote(c) for c in calls] == [i * i for i in range(7)]


async def test_an_async_function_is_refused_for_ray(ray_executor):
    async def fetch():
        return 1

    with pytest.raises(TypeError, match="async function"):
        ray_executor.submit(fetch)


def test_the_process_cache_of_ray_wrappers_forgets_the_least_recent_beyond_its_size():
    class FakeRay:  # ray.remote(fn) -> a wrapper naming fn
        @staticmethod
        def remote(fn):
            return f"wrapper {fn.__name__}"

    fake = FakeRay()
    functions = [_named(f"f{i}") for i in range(_ray._CACHE_SIZE + 1)]
    first = _ray._remote_of(fake, functions[0])
    for fn in functions[1:-1]:
        _ray._remote_of(fake, fn)
    assert _ray._remote_of(fake, functions[0]) is first  # now the most recent

    _ray._remote_of(fake, functions[-1])  # one more: the least recent (f1) goes

    assert _ray._remote_of.cache_info().currsize <= _ray._CACHE_SIZE
    hits = _ray._remote_of.cache_info().hits
    assert _ray._remote_of(fake, functions[0]) is first
    assert _ray._remote_of.cache_info().hits == hits + 1
    misses = _ray._remote_of.cache_info().misses
    _ray._remote_of(fake, functions[1])
    assert _ray._remote_of.cache_info().misses == misses + 1


def _named(name):
    def fn():
        return name

    fn.__name__ = name
    return fn


async def test_two_ray_executors_share_a_steps_prepared_ray_wrapper(ray_session):
    first, second = RayExecutor(), RayExecutor()
    await first.open()
    await second.open()
    try:
        options = first.validate_options(None)

        wrapper = first._with_options(os.getpid, "step", options)

        assert second._with_options(os.getpid, "step", options) is wrapper
        assert await wait_remote(second.submit(os.getpid, label="step")) > 0
    finally:
        await first.aclose()
        await second.aclose()

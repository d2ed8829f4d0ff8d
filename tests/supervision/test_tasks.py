"""TaskSupervisor: fire-and-forget children, awaitable tasks, timeouts, cancel and shutdown."""

import gc
import logging
import math
import threading
import weakref

import pytest
import trio
import trio.testing

from arborist.actors import ActorSystem
from arborist.supervision import (
    Job,
    JobState,
    MaxChildrenError,
    ShutdownReport,
    TaskCancelled,
    TaskCancelledError,
    TaskFailed,
    TaskFinished,
    TaskHandle,
    TaskStarted,
    TaskSupervisor,
    TaskSupervisorClosedError,
    TaskSupervisorStatistics,
    TaskTimeoutError,
    open_task_supervisor,
)


async def sleep_then(seconds, value):
    await trio.sleep(seconds)
    return value


async def sleep_then_raise(seconds, exc):
    await trio.sleep(seconds)
    raise exc


# -- fire and forget ---------------------------------------------------------------------------


async def test_start_child_returns_at_once_while_the_job_runs_on(autojump_clock):
    finished = trio.Event()

    async def slow():
        await trio.sleep(10)
        finished.set()

    async with open_task_supervisor() as tasks:
        start = trio.current_time()
        job = tasks.start_child(slow)
        assert trio.current_time() == start
        assert job.state is JobState.RUNNING
        assert not job.done
        await finished.wait()
        assert trio.current_time() - start == 10


async def test_a_failing_child_is_reported_as_a_task_failed_event_and_never_raised_to_the_caller():
    error = ValueError("slack is down")
    events = []
    async with open_task_supervisor() as tasks:
        tasks.subscribe(events.append)
        job = tasks.start_child(sleep_then_raise, 0, error)
        await trio.testing.wait_all_tasks_blocked()
        assert job.state is JobState.FAILED
    failures = [e for e in events if isinstance(e, TaskFailed)]
    assert [(e.job, e.exc) for e in failures] == [(job, error)]


async def test_a_failing_child_is_logged_with_its_traceback_on_the_supervision_logger(caplog):
    async with open_task_supervisor() as tasks:
        job = tasks.start_child(sleep_then_raise, 0, ValueError("slack is down"), name="notify")
        await trio.testing.wait_all_tasks_blocked()
    [record] = [r for r in caplog.records if r.name == "arborist.supervision"]
    assert record.levelno == logging.ERROR
    assert repr(job) in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


async def test_each_job_reports_started_then_exactly_one_end_event_with_its_duration(
    autojump_clock,
):
    events = []
    async with open_task_supervisor() as tasks:
        tasks.subscribe(events.append)
        tasks.start_child(sleep_then, 3, None)
        await trio.sleep(5)
    started, finished, report = events
    assert isinstance(started, TaskStarted)
    assert isinstance(finished, TaskFinished)
    assert finished.time - started.time == finished.duration == 3
    assert isinstance(report, ShutdownReport)


async def test_a_sync_callable_runs_on_a_worker_thread():
    trio_thread = threading.get_ident()
    async with open_task_supervisor() as tasks:
        handle = tasks.start_task(threading.get_ident)
        assert await handle != trio_thread


async def test_a_sync_callable_that_returns_a_coroutine_fails_with_a_clear_type_error():
    async with open_task_supervisor() as tasks:
        handle = tasks.start_task(lambda: sleep_then(0, 1))
        with pytest.raises(TypeError, match="appears to be asynchronous"):
            await handle


async def test_an_object_with_an_async_call_method_runs_as_a_trio_task():
    class Notifier:
        async def __call__(self, text):
            await trio.lowlevel.checkpoint()
            return threading.get_ident(), text

    async with open_task_supervisor() as tasks:
        assert await tasks.start_task(Notifier(), "hey") == (threading.get_ident(), "hey")


async def test_start_child_refuses_a_value_that_is_not_callable():
    async with open_task_supervisor() as tasks:
        with pytest.raises(TypeError, match=r"start_child takes a callable .* got 42"):
            tasks.start_child(42)  # type: ignore[arg-type]


async def test_start_task_refuses_a_coroutine_object_with_a_hint():
    async with open_task_supervisor() as tasks:
        coro = sleep_then(0, 1)
        with pytest.raises(TypeError, match="takes the async function and its arguments"):
            tasks.start_task(coro)  # type: ignore[arg-type]
        coro.close()


async def test_a_function_that_passed_is_checked_again_when_its_argument_count_changes():
    async with open_task_supervisor() as tasks:
        tasks.start_child(sleep_then, 0, "ok")
        with pytest.raises(TypeError, match="start_child"):
            tasks.start_child(sleep_then, 0)  # one argument short


async def test_a_function_that_passed_still_has_its_name_checked():
    async with open_task_supervisor() as tasks:
        tasks.start_child(sleep_then, 0, "ok")
        with pytest.raises(TypeError, match="start_child name"):
            tasks.start_child(sleep_then, 0, "ok", name=7)  # type: ignore[arg-type]


async def test_the_supervisor_keeps_no_function_alive_beyond_the_last_one_started():
    async def first() -> None:
        pass

    async def second() -> None:
        pass

    alive = weakref.ref(first)
    async with open_task_supervisor() as tasks:
        tasks.start_child(first)
        tasks.start_child(second)
        await tasks.aclose()
        del first
        gc.collect()
        assert alive() is None


# -- tasks: fan-out / fan-in -------------------------------------------------------------------


async def test_awaiting_task_handles_returns_their_values_after_the_longest_one(autojump_clock):
    async with open_task_supervisor() as tasks:
        start = trio.current_time()
        handles = [tasks.start_task(sleep_then, s, s * 10) for s in (2, 3, 1)]
        assert [await h for h in handles] == [20, 30, 10]
        assert trio.current_time() - start == 3


async def test_awaiting_a_failed_task_raises_its_own_exception_with_its_cause_kept():
    cause = KeyError("user")
    error = ValueError("lookup failed")
    error.__cause__ = cause
    async with open_task_supervisor() as tasks:
        handle = tasks.start_task(sleep_then_raise, 0, error)
        with pytest.raises(ValueError, match="lookup failed") as info:
            await handle.result()
    assert info.value is error
    assert info.value.__cause__ is cause


async def test_every_awaiter_of_a_failed_task_gets_its_exception():
    async with open_task_supervisor() as tasks:
        handle = tasks.start_task(sleep_then_raise, 0, ValueError("x"))
        for _ in range(2):
            with pytest.raises(ValueError, match="x"):
                await handle


async def test_a_failed_task_is_reported_as_task_failed_even_when_awaited():
    events = []
    async with open_task_supervisor() as tasks:
        tasks.subscribe(events.append)
        handle = tasks.start_task(sleep_then_raise, 0, ValueError("x"))
        with pytest.raises(ValueError, match="x"):
            await handle
    assert [e.job for e in events if isinstance(e, TaskFailed)] == [handle]


async def test_a_task_running_past_its_timeout_fails_with_task_timeout_error_exactly_then(
    autojump_clock,
):
    async with open_task_supervisor() as tasks:
        start = trio.current_time()
        handle = tasks.start_task(sleep_then, 2.001, "late", timeout=2, name="fetch")
        with pytest.raises(TaskTimeoutError, match=r"task 'fetch' \(#1\) did not finish within"):
            await handle
        assert trio.current_time() - start == 2
    assert handle.state is JobState.FAILED
    assert tasks.statistics().failed == 1


async def test_a_task_finishing_just_before_its_timeout_returns_its_value(autojump_clock):
    async with open_task_supervisor() as tasks:
        handle = tasks.start_task(sleep_then, 1.999, "in time", timeout=2)
        assert await handle == "in time"


async def test_start_task_refuses_a_negative_timeout_naming_it():
    async with open_task_supervisor() as tasks:
        with pytest.raises(ValueError, match=r"timeout must be a number of seconds >= 0.*got -1"):
            tasks.start_task(sleep_then, 0, 1, timeout=-1)
        assert tasks.statistics().started == 0


async def test_cancelling_a_task_makes_its_awaiters_raise_task_cancelled_error(autojump_clock):
    events = []
    async with open_task_supervisor() as tasks:
        tasks.subscribe(events.append)
        handle = tasks.start_task(sleep_then, 10, None, name="upload")
        await trio.sleep(1)
        handle.cancel()
        with pytest.raises(TaskCancelledError, match=r"'upload' .* cancelled by handle.cancel\(\)"):
            await handle
        assert trio.current_time() == 1
    assert handle.cancelled
    [cancelled] = [e for e in events if isinstance(e, TaskCancelled)]
    assert (cancelled.job, cancelled.by, cancelled.duration) == (handle, "handle.cancel()", 1)


async def test_a_task_cancelled_before_it_begins_never_runs():
    ran = []

    async def record():
        ran.append(True)

    async with open_task_supervisor() as tasks:
        handle = tasks.start_task(record)
        handle.cancel()
        with pytest.raises(TaskCancelledError):
            await handle
    assert ran == []


async def test_cancelling_a_finished_task_changes_nothing():
    async with open_task_supervisor() as tasks:
        handle = tasks.start_task(sleep_then, 0, 7)
        assert await handle == 7
        handle.cancel()
        assert await handle == 7


async def test_cancelling_an_awaiter_does_not_cancel_the_task(autojump_clock):
    async with open_task_supervisor() as tasks:
        handle = tasks.start_task(sleep_then, 5, "done")
        with trio.move_on_after(1):
            await handle
        assert await handle == "done"


async def test_a_failed_task_nobody_awaited_is_logged_when_the_supervisor_stops(caplog):
    async with open_task_supervisor() as tasks:
        forgotten = tasks.start_task(sleep_then_raise, 0, ValueError("unseen"))
        awaited = tasks.start_task(sleep_then_raise, 0, ValueError("seen"))
        await trio.testing.wait_all_tasks_blocked()
        assert not caplog.records
        with pytest.raises(ValueError, match="seen"):
            await awaited
    [record] = [r for r in caplog.records if r.name == "arborist.supervision"]
    assert repr(forgotten) in record.getMessage()
    assert "never awaited" in record.getMessage()
    assert str(record.exc_info[1]) == "unseen"


# -- shutdown ----------------------------------------------------------------------------------


async def test_shutdown_waits_exactly_the_shutdown_time_then_cancels_the_rest_and_reports(
    autojump_clock,
):
    async with open_task_supervisor(shutdown=3) as tasks:
        tasks.start_child(sleep_then, 1, None, name="quick")
        tasks.start_child(sleep_then_raise, 2, ValueError("late failure"), name="failing")
        hanging = tasks.start_child(trio.sleep_forever, name="hanging")
        slow = tasks.start_task(sleep_then, 10, None, name="slow")
        start = trio.current_time()
        report = await tasks.aclose()
    assert trio.current_time() - start == 3
    assert (report.completed, report.failed, report.cancelled) == (1, 1, 2)
    assert report.cut == (hanging, slow)
    assert tasks.report is report
    with pytest.raises(TaskCancelledError, match="cancelled by supervisor shutdown"):
        await slow


async def test_shutdown_returns_as_soon_as_the_last_job_finishes(autojump_clock):
    async with open_task_supervisor(shutdown=30) as tasks:
        tasks.start_child(sleep_then, 4, None)
        start = trio.current_time()
    assert trio.current_time() - start == 4
    assert tasks.report == ShutdownReport(
        completed=1, cancelled=0, failed=0, cut=(), time=start + 4
    )


async def test_a_job_is_not_cut_when_it_ends_just_inside_the_shutdown_time(autojump_clock):
    async with open_task_supervisor(shutdown=3) as tasks:
        tasks.start_child(sleep_then, 2.999, None)
    assert tasks.report is not None
    assert (tasks.report.completed, tasks.report.cut) == (1, ())


async def test_cut_jobs_are_logged_as_a_warning_naming_them(autojump_clock, caplog):
    async with open_task_supervisor(shutdown=1) as tasks:
        job = tasks.start_child(trio.sleep_forever, name="stuck")
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "cut 1 jobs" in record.getMessage()
    assert repr(job) in record.getMessage()


async def test_leaving_the_block_with_an_error_cancels_running_jobs_at_once(autojump_clock):
    async def body():
        async with open_task_supervisor(shutdown=30) as tasks:
            jobs.append(tasks.start_child(trio.sleep_forever))
            raise KeyError("boom")

    jobs = []
    start = trio.current_time()
    with pytest.raises(KeyError):
        await body()
    [job] = jobs
    assert trio.current_time() == start
    assert job.state is JobState.CANCELLED


async def test_the_shutdown_report_is_the_last_event():
    events = []
    async with open_task_supervisor(shutdown=0) as tasks:
        tasks.subscribe(events.append)
        tasks.start_child(trio.sleep_forever)
    assert isinstance(events[-1], ShutdownReport)
    assert isinstance(events[-2], TaskCancelled)
    assert events[-2].by == "supervisor shutdown"


async def test_a_stopping_supervisor_refuses_new_jobs_with_a_clear_error(autojump_clock):
    async with open_task_supervisor(shutdown=5) as tasks:
        tasks.start_child(sleep_then, 1, None)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tasks.aclose)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(TaskSupervisorClosedError, match=r"is stopping and accepts no new"):
                tasks.start_child(sleep_then, 0, None)
    with pytest.raises(TaskSupervisorClosedError, match=r"is stopped and accepts no new jobs"):
        tasks.start_task(sleep_then, 0, None)


async def test_aclose_twice_returns_the_same_report():
    async with open_task_supervisor() as tasks:
        first = await tasks.aclose()
        assert await tasks.aclose() is first


async def test_killing_the_supervisor_actor_cancels_its_jobs_and_still_reports_them(
    system: ActorSystem,
):
    ref = await system.spawn(TaskSupervisor)
    tasks = TaskSupervisor.from_ref(ref)
    job = tasks.start_child(trio.sleep_forever)
    await trio.testing.wait_all_tasks_blocked()
    ref.kill()
    await ref.wait_exit()
    assert job.state is JobState.CANCELLED
    assert tasks.report is not None
    assert tasks.report.cut == (job,)


# -- as an actor -------------------------------------------------------------------------------


async def test_spawned_as_an_actor_it_runs_jobs_and_drains_them_on_ref_shutdown(
    system: ActorSystem, autojump_clock
):
    ref = await system.spawn(TaskSupervisor, name="jobs", shutdown=2.0)
    tasks = TaskSupervisor.from_ref(ref)
    tasks.start_child(sleep_then, 1, None)
    tasks.start_child(trio.sleep_forever)
    start = trio.current_time()
    await ref.shutdown(timeout=None)
    assert trio.current_time() - start == 2
    assert tasks.report is not None
    assert (tasks.report.completed, tasks.report.cancelled) == (1, 1)


async def test_from_ref_refuses_the_ref_of_another_actor(system: ActorSystem):
    from arborist.actors import Actor

    class Other(Actor):
        pass

    ref = await system.spawn(Other)
    with pytest.raises(TypeError, match="from_ref takes the ref of a TaskSupervisor"):
        TaskSupervisor.from_ref(ref)


async def test_a_message_told_to_it_is_logged_and_ignored(system: ActorSystem, caplog):
    ref = await system.spawn(TaskSupervisor, name="jobs")
    ref.tell("hello")
    await trio.testing.wait_all_tasks_blocked()
    assert ref.is_alive
    assert "ignores the message 'hello'" in caplog.text


async def test_jobs_can_be_started_through_the_proxy(system: ActorSystem):
    ref = await system.spawn(TaskSupervisor)
    job = await ref.proxy().start_child(sleep_then, 0, None)
    assert isinstance(job, Job)


# -- limits and options ------------------------------------------------------------------------


async def test_past_max_children_start_child_refuses_with_the_limit_and_the_fix():
    async with open_task_supervisor(max_children=2, name="jobs", shutdown=0) as tasks:
        tasks.start_child(trio.sleep_forever)
        tasks.start_task(trio.sleep_forever)
        with pytest.raises(MaxChildrenError) as info:
            tasks.start_child(trio.sleep_forever)
    assert str(info.value) == (
        "task supervisor 'jobs' already runs 2 jobs (max_children=2); the job was not started: "
        "wait for running jobs to finish, or raise max_children"
    )
    assert info.value.max_children == 2
    assert tasks.statistics().started == 2


async def test_a_finished_job_frees_its_place_under_max_children():
    async with open_task_supervisor(max_children=1) as tasks:
        await tasks.start_task(sleep_then, 0, None)
        assert await tasks.start_task(sleep_then, 0, "again") == "again"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shutdown": -1}, r"shutdown must be a number of seconds >= 0; got -1; the seconds"),
        ({"shutdown": math.nan}, r"shutdown must be .*got nan"),
        ({"max_children": 0}, r"max_children must be a positive int, or None.*got 0"),
        ({"max_children": 1.5}, r"max_children must be a positive int.*got 1.5"),
    ],
)
async def test_bad_options_are_refused_naming_the_value(options, message):
    with pytest.raises((TypeError, ValueError), match=message):
        async with open_task_supervisor(**options):
            pass


async def test_calling_start_child_from_another_thread_points_to_the_threadsafe_api():
    async with open_task_supervisor() as tasks:
        with pytest.raises(RuntimeError, match="use start_child_threadsafe"):
            await trio.to_thread.run_sync(tasks.start_child, trio.sleep_forever)


async def test_statistics_count_every_outcome():
    async with open_task_supervisor(shutdown=0) as tasks:
        tasks.start_child(sleep_then, 0, None)
        tasks.start_child(sleep_then_raise, 0, ValueError())
        tasks.start_task(sleep_then, 0, None).cancel()
        tasks.start_child(trio.sleep_forever)
        await trio.testing.wait_all_tasks_blocked()
        assert tasks.statistics() == TaskSupervisorStatistics(
            running=1, started=4, finished=1, failed=1, cancelled=1
        )
        assert [job.name for job in tasks.running_jobs()] == ["sleep_forever"]


async def test_reprs_show_id_name_and_state(system: ActorSystem):
    ref = await system.spawn(TaskSupervisor, name="jobs", shutdown=0)
    tasks = TaskSupervisor.from_ref(ref)
    job = tasks.start_child(trio.sleep_forever)
    handle = tasks.start_task(sleep_then, 0, None, name="fetch")
    assert repr(tasks) == "<TaskSupervisor 'jobs' running, 2 jobs running>"
    assert repr(job) == "<Job #1 'sleep_forever' running>"
    await handle
    assert repr(handle) == "<TaskHandle #2 'fetch' finished>"
    await tasks.aclose()
    assert repr(tasks) == "<TaskSupervisor 'jobs' stopped, 0 jobs running>"


async def test_jobs_and_handles_have_no_public_constructor():
    with pytest.raises(TypeError, match=r"created by TaskSupervisor\.start_child"):
        Job()
    with pytest.raises(TypeError, match=r"created by TaskSupervisor\.start_child"):
        TaskHandle()


# -- from other threads ------------------------------------------------------------------------


async def test_start_task_threadsafe_from_a_real_thread_gives_a_future_of_the_value():
    async with open_task_supervisor() as tasks:
        value = await trio.to_thread.run_sync(
            lambda: tasks.start_task_threadsafe(sleep_then, 0, "from a thread").result(timeout=10)
        )
    assert value == "from a thread"


async def test_start_task_threadsafe_future_raises_the_tasks_exception():
    async with open_task_supervisor() as tasks:
        future = await trio.to_thread.run_sync(
            tasks.start_task_threadsafe, sleep_then_raise, 0, ValueError("thread sees this")
        )
        with pytest.raises(ValueError, match="thread sees this"):
            await trio.to_thread.run_sync(future.result, 10)


async def test_start_child_threadsafe_from_a_real_thread_runs_the_job():
    ran = trio.Event()

    async def job():
        ran.set()

    async with open_task_supervisor() as tasks:
        started = await trio.to_thread.run_sync(
            lambda: tasks.start_child_threadsafe(job, name="from thread").result(timeout=10)
        )
        await ran.wait()
    assert started.name == "from thread"
    assert started.state is JobState.FINISHED


async def test_a_threadsafe_refusal_is_raised_from_the_future():
    async with open_task_supervisor(max_children=1, shutdown=0) as tasks:
        tasks.start_child(trio.sleep_forever)
        future = await trio.to_thread.run_sync(tasks.start_child_threadsafe, trio.sleep_forever)
        with pytest.raises(MaxChildrenError):
            await trio.to_thread.run_sync(future.result, 10)


async def test_cancelling_the_threadsafe_future_cancels_the_task():
    async with open_task_supervisor() as tasks:
        future = tasks.start_task_threadsafe(trio.sleep_forever)
        await trio.testing.wait_all_tasks_blocked()
        [handle] = tasks.running_jobs()
        assert future.cancel()
        await trio.testing.wait_all_tasks_blocked()
        assert isinstance(handle, TaskHandle)
        assert handle.cancelled


async def test_a_task_cut_at_shutdown_cancels_its_threadsafe_future():
    async with open_task_supervisor(shutdown=0) as tasks:
        future = tasks.start_task_threadsafe(trio.sleep_forever)
        await trio.testing.wait_all_tasks_blocked()
    assert future.cancelled()


def test_a_threadsafe_start_after_the_trio_run_ended_fails_its_future_with_closed_error():
    async def keep():
        async with open_task_supervisor() as tasks:
            return tasks

    tasks = trio.run(keep)
    future = tasks.start_child_threadsafe(trio.sleep_forever)
    with pytest.raises(TaskSupervisorClosedError, match="is stopped"):
        future.result(timeout=10)

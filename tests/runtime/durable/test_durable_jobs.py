"""Durable fire-and-forget jobs in one process, on SQLite and PostgreSQL: what the call
refuses, what the store records for a job that finishes, fails or is cut by a shutdown, and
what recovery does with the jobs a runtime left unfinished.

A process "dies" here by its runtime shutting down with the job in flight: the job is put
back to ``pending`` with its owner closed, as a SIGKILL would leave it claimable (the kill
suite, ``test_durable_job_kills.py``, does it with real processes).
"""

from __future__ import annotations

import threading

import durable_jobs_fns as fns
import pytest
import trio
from durable_stores import make_store, sql

from arborist.runtime import MAX_JOB_ATTEMPTS, DurableJob, Runtime, current_job
from arborist.runtime.store import JobStatus, open_store
from arborist.supervision import TaskCancelled, TaskFailed, TaskFinished


@pytest.fixture(autouse=True)
def _fresh_calls(tmp_path, monkeypatch):
    fns.RAN.clear()
    monkeypatch.setattr(fns, "STARTED", trio.Event())
    monkeypatch.setattr(fns, "RELEASE", trio.Event())
    monkeypatch.setenv("MARKERS", str(tmp_path / "markers.txt"))


class Ended:
    """The jobs that ended (``TaskFinished`` / ``TaskFailed``); ``await ended.count(n)``."""

    def __init__(self, rt: Runtime) -> None:
        self.events: list[object] = []
        self._changed = trio.Event()
        rt.subscribe(self._on, only=(TaskFinished, TaskFailed, TaskCancelled))

    def _on(self, event: object) -> None:
        self.events.append(event)
        self._changed.set()

    async def count(self, n: int) -> list[object]:
        with trio.fail_after(30):
            while len(self.events) < n:
                self._changed = trio.Event()
                await self._changed.wait()
        return self.events


# -- refused at the call --------------------------------------------------------------------


async def test_a_durable_job_without_a_store_is_refused_at_the_call_naming_the_store_option():
    async with Runtime() as rt:
        with pytest.raises(RuntimeError, match=r"needs a store: pass Runtime\(store="):
            rt.fire_and_forget(fns.record, 1, durable=True)
        with pytest.raises(RuntimeError, match=r"rt.enqueue\(\) needs a store"):
            await rt.enqueue(fns.record, 1)


async def test_a_lambda_is_refused_at_the_call_naming_it_and_why(store_url):
    async with Runtime(store=store_url) as rt:
        with pytest.raises(ValueError, match=r"<lambda>.*cannot be found by name.*it is a lambda"):
            rt.fire_and_forget(lambda: None, durable=True)
        assert await rt.jobs() == []


async def test_a_local_function_is_refused_at_the_call_as_defined_inside_a_function(store_url):
    async def local() -> None:
        pass

    async with Runtime(store=store_url) as rt:
        with pytest.raises(ValueError, match=r"local.*defined inside a function"):
            rt.fire_and_forget(local, durable=True)


async def test_an_argument_that_does_not_pickle_is_refused_naming_its_position_and_type(
    store_url,
):
    async with Runtime(store=store_url) as rt:
        with pytest.raises(TypeError, match=r"argument 1 of .*:record_pair \(a lock\)"):
            rt.fire_and_forget(fns.record_pair, "fine", threading.Lock(), durable=True)
        assert await rt.jobs() == []


async def test_arguments_that_do_not_fit_the_function_are_refused_at_the_call(store_url):
    async with Runtime(store=store_url) as rt:
        with pytest.raises(TypeError):
            rt.fire_and_forget(fns.record, 1, 2, durable=True)
        assert await rt.jobs() == []


async def test_durable_takes_a_bool(store_url):
    async with Runtime(store=store_url) as rt:
        with pytest.raises(TypeError, match="durable= takes True or False"):
            rt.fire_and_forget(fns.record, 1, durable="yes")


async def test_current_job_outside_a_durable_job_says_where_it_works():
    with pytest.raises(RuntimeError, match=r"only available inside a durable job"):
        current_job()


# -- running ------------------------------------------------------------------------------


async def test_a_durable_job_runs_once_and_is_recorded_done(store_url):
    async with Runtime(store=store_url) as rt:
        ended = Ended(rt)
        job = rt.fire_and_forget(fns.record, {"order": 7}, durable=True)
        assert isinstance(job, DurableJob)
        assert job.fn == "durable_jobs_fns:record"
        await ended.count(1)
        row = await rt.store.get_job(job.job_id)
    assert fns.RAN == [("record", {"order": 7})]
    assert (row.status, row.attempts, row.error) == (JobStatus.DONE, 1, None)
    assert row.finished_at is not None


async def test_a_job_run_at_once_costs_two_writes_its_running_row_and_its_end(store_url):
    async with Runtime(store=store_url) as rt:
        ended = Ended(rt)
        before = rt.store.statistics()
        job = rt.fire_and_forget(fns.held, 1, durable=True)
        with trio.fail_after(30):
            await fns.STARTED.wait()
        inserted = await rt.store.get_job(job.job_id)
        fns.RELEASE.set()
        await ended.count(1)
        await rt.store.flush()
        after = rt.store.statistics()
        row = await rt.store.get_job(job.job_id)
    assert (inserted.status, inserted.attempts, inserted.owner_id, inserted.fence) == (
        JobStatus.RUNNING,
        1,
        rt.store.owner_id,
        0,
    )
    assert (row.status, row.attempts) == (JobStatus.DONE, 1)
    assert after.posted - before.posted == 2


async def test_a_job_is_listed_with_its_name_or_else_its_function(store_url):
    async with Runtime(store=store_url) as rt:
        ended = Ended(rt)
        named = await rt.enqueue(fns.record, 1, name="audit")
        plain = await rt.enqueue(fns.record, 2)
        await ended.count(2)
        listed = {row.job_id: row.name for row in await rt.jobs()}
    assert listed == {named.job_id: "audit", plain.job_id: "durable_jobs_fns:record"}


async def test_a_failing_job_is_recorded_failed_with_its_error_and_reported_as_task_failed(
    store_url,
):
    async with Runtime(store=store_url) as rt:
        ended = Ended(rt)
        job = rt.fire_and_forget(fns.fail, "card declined", durable=True)
        [event] = await ended.count(1)
        row = await rt.store.get_job(job.job_id)
    assert isinstance(event, TaskFailed)
    assert (event.job, str(event.exc)) == (job.job, "card declined")
    assert (row.status, row.attempts) == (JobStatus.FAILED, 1)
    assert row.error.startswith("ValueError")
    assert "card declined" in row.error


async def test_a_def_job_runs_on_a_worker_thread_and_sees_its_own_job_id(store_url):
    async with Runtime(store=store_url) as rt:
        ended = Ended(rt)
        job = rt.fire_and_forget(fns.record_on_thread, "x", durable=True)
        await ended.count(1)
    assert [("record_on_thread", ("x", False, job.job_id))] == fns.RAN


async def test_enqueue_returns_once_the_job_is_committed(store_url):
    async with Runtime(store=store_url) as rt:
        ended = Ended(rt)
        job = await rt.enqueue(fns.record, 3, name="audit")
        assert job.committed
        assert job.job.name == "audit"
        await ended.count(1)
        assert [row.job_id for row in await rt.jobs(status="done")] == [job.job_id]


async def test_rt_jobs_lists_the_stored_jobs_oldest_first_by_status_and_limit(store_url):
    async with Runtime(store=store_url) as rt:
        ended = Ended(rt)
        first = rt.fire_and_forget(fns.record, 1, durable=True)
        second = rt.fire_and_forget(fns.fail, "no", durable=True)
        await ended.count(2)
        assert [r.job_id for r in await rt.jobs()] == [first.job_id, second.job_id]
        assert [r.job_id for r in await rt.jobs(status="failed")] == [second.job_id]
        assert len(await rt.jobs(limit=1)) == 1
        with pytest.raises(ValueError, match="status must be one of pending, running"):
            await rt.jobs(status="finished")
        with pytest.raises(ValueError, match="limit must be a positive int"):
            await rt.jobs(limit=0)


# -- shutdown and recovery ----------------------------------------------------------------


async def cut_at_shutdown(store_url: str) -> str:
    """Start ``wait_forever`` as a durable job and shut the runtime down under it."""
    async with Runtime(store=store_url) as rt:
        ended = Ended(rt)
        job = rt.fire_and_forget(fns.wait_forever, "w", durable=True)
        with trio.fail_after(30):
            await fns.STARTED.wait()
        await rt.aclose(timeout=0)
        await ended.count(1)
    return job.job_id


async def test_a_job_cut_by_a_shutdown_is_left_pending_for_the_next_runtime(store_url):
    job_id = await cut_at_shutdown(store_url)
    async with Runtime(store=store_url, recover="manual") as rt:
        row = await rt.store.get_job(job_id)
    assert (row.status, row.attempts) == (JobStatus.PENDING, 1)


async def test_a_job_left_unfinished_runs_again_on_the_next_start_with_the_next_attempt(
    store_url, monkeypatch
):
    job_id = await cut_at_shutdown(store_url)
    seen: list[tuple[str, int, str]] = []

    async def wait_forever(value: object) -> None:  # the same name, now finishing
        job = current_job()
        seen.append((job.job_id, job.attempt, job.idempotency_key))

    monkeypatch.setattr(fns, "wait_forever", wait_forever)
    async with Runtime(store=store_url) as rt:
        ended = Ended(rt)
        await ended.count(1)
        row = await rt.store.get_job(job_id)
    assert seen == [(job_id, 2, f"job/{job_id}")]
    assert (row.status, row.attempts) == (JobStatus.DONE, 2)


async def test_with_manual_recovery_unfinished_jobs_wait_for_recover_jobs(store_url, monkeypatch):
    job_id = await cut_at_shutdown(store_url)
    monkeypatch.setattr(fns, "wait_forever", fns.record)
    async with Runtime(store=store_url, recover="manual") as rt:
        ended = Ended(rt)
        await trio.sleep(0.1)
        assert ended.events == []
        report = await rt.recover_jobs()
        await ended.count(1)
    assert report.recovered == (job_id,)
    assert fns.RAN == [("wait_forever", "w"), ("record", "w")]


async def test_a_job_whose_function_no_longer_imports_is_recorded_failed_on_recovery(store_url):
    job_id = await cut_at_shutdown(store_url)
    sql(store_url, "UPDATE jobs SET fn = ? WHERE job_id = ?", ("durable_jobs_fns:gone", job_id))
    async with Runtime(store=store_url) as rt:
        [event] = await Ended(rt).count(1)
        row = await rt.store.get_job(job_id)
    assert isinstance(event, TaskFailed)
    assert row.status == JobStatus.FAILED
    assert "function reference 'durable_jobs_fns:gone' does not resolve" in row.error


async def test_a_job_started_too_often_without_finishing_is_recorded_failed_not_run(store_url):
    job_id = await cut_at_shutdown(store_url)
    sql(store_url, "UPDATE jobs SET attempts = ? WHERE job_id = ?", (MAX_JOB_ATTEMPTS, job_id))
    async with Runtime(store=store_url) as rt:
        await Ended(rt).count(1)
        row = await rt.store.get_job(job_id)
    assert fns.RAN == [("wait_forever", "w")]
    assert row.status == JobStatus.FAILED
    assert f"started {MAX_JOB_ATTEMPTS} times and never finished" in row.error


async def test_a_live_runtime_takes_over_the_jobs_of_an_owner_that_ends_later(store_url):
    async with Runtime(store=make_store(store_url, lease=0.3)) as rt:
        ended = Ended(rt)
        async with open_store(store_url) as other:  # another process on the same store
            row = await other.enqueue_job(fns.record, ("theirs",))
        # its owner is closed now with the job pending: the next sweep (every lease) claims it
        await ended.count(1)
        done = await rt.store.get_job(row.job_id)
    assert fns.RAN == [("record", "theirs")]
    assert (done.status, done.owner_id) == (JobStatus.DONE, rt.store.owner_id)

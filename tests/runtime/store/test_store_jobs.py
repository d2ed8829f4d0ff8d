"""Durable fire-and-forget jobs: found by name, pickled at the call, taken over when orphaned."""

from __future__ import annotations

import threading

import pytest

from arborist.runtime.store import (
    EncodeError,
    FencedOutError,
    JobStatus,
    callable_ref,
    open_store,
    resolve_callable,
)


def notify(channel, text="hi"):
    return f"{channel}: {text}"


async def test_a_job_goes_from_pending_to_running_to_done(store):
    job = await store.enqueue_job(notify, ("#ops",), {"text": "deployed"})

    started = await store.start_job(job)
    await store.finish_job(started)
    call = await store.job_call(job)
    done = await store.get_job(job.job_id)

    assert (job.status, started.status, started.attempts) == (JobStatus.PENDING,
                                                              JobStatus.RUNNING, 1)  # fmt: skip
    assert done.status is JobStatus.DONE
    assert resolve_callable(call.fn)(*call.args, **call.kwargs) == "#ops: deployed"


async def test_a_failed_job_keeps_the_text_of_its_error(store):
    job = await store.start_job(await store.enqueue_job(notify))

    await store.finish_job(job, error=TimeoutError("slack is down"))
    (failed,) = await store.list_jobs(status=JobStatus.FAILED)

    assert failed.error == "TimeoutError: slack is down"


async def test_unfinished_jobs_of_a_closed_owner_are_claimed_back_to_pending(backend):
    async with open_store(backend.make()) as gone:
        running = await gone.start_job(await gone.enqueue_job(notify, ("a",)))
        finished = await gone.enqueue_job(notify, ("b",))
        await gone.finish_job(finished)
    async with open_store(backend.make()) as store:
        (claimed,) = await store.claim_orphaned_jobs()

        with pytest.raises(FencedOutError):
            await store.finish_job(running)
        await store.finish_job(claimed)

    assert claimed.job_id == running.job_id
    assert (claimed.status, claimed.fence, claimed.owner_id) == (JobStatus.PENDING, 1,
                                                                 store.owner_id)  # fmt: skip


async def test_arguments_that_do_not_pickle_are_refused_at_the_call(store):
    with pytest.raises(EncodeError, match=r"arguments of job .* could not be encoded"):
        await store.enqueue_job(notify, (threading.Lock(),))
    assert await store.list_jobs() == []


def test_a_function_reference_is_module_and_qualname_and_imports_back():
    assert callable_ref(notify) == f"{__name__}:notify"
    assert resolve_callable(f"{__name__}:notify") is notify


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda: None, "cannot be found by name"),
        ("no_colon", r"must be 'module:qualname'"),
        ("os:no_such_function", r"does not resolve"),
        ("os:sep", "which is not callable"),
    ],
)
def test_a_function_that_cannot_be_found_by_name_is_refused(fn, message):
    with pytest.raises(ValueError, match=message):
        callable_ref(fn)


async def test_a_posted_job_row_is_known_at_once_and_durable_once_its_receipt_settles(store):
    row, receipt = store.post_job(notify, ("#ops",))

    assert (row.status, row.attempts, row.fn) == (JobStatus.PENDING, 0, f"{__name__}:notify")
    assert await receipt is None  # a new id: nothing was there before
    assert await store.get_job(row.job_id) == row


async def test_a_released_job_is_pending_again_with_its_attempts_kept(store):
    running = await store.start_job(await store.enqueue_job(notify))

    await store.release_job(running)
    released = await store.get_job(running.job_id)

    assert (released.status, released.attempts) == (JobStatus.PENDING, 1)


async def test_releasing_a_job_claimed_by_another_owner_is_fenced_out(backend):
    async with open_store(backend.make()) as gone:
        running = await gone.start_job(await gone.enqueue_job(notify))
    async with open_store(backend.make()) as store:
        await store.claim_orphaned_jobs()
        with pytest.raises(FencedOutError):
            await store.release_job(running)

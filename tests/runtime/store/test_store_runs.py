"""Runs and their journals: idempotent creation, the journal sequence, listing, pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arborist.runtime.store import (
    AttemptStatus,
    DecodeError,
    Encoded,
    RecordedError,
    RunStatus,
    UndoStatus,
    open_store,
)


async def new_run(store, **options):
    created = await store.create_run(
        options.pop("workflow", "checkout"), plan_hash="p1", inputs={"order": 42}, **options
    )
    return created.run, store.recorder(created.run)


async def test_a_new_run_is_running_owned_by_the_store_with_fence_zero(store):
    created = await store.create_run("checkout", plan_hash="p1", inputs={"order": 42})

    assert created.created
    assert created.run.status is RunStatus.RUNNING
    assert created.run.owner_id == store.owner_id
    assert created.run.fence == 0
    assert await store.get_run(created.run.run_id) == created.run


async def test_creating_a_run_with_a_used_start_key_returns_the_existing_run(store):
    first = await store.create_run("checkout", plan_hash="p1", inputs=1, start_key="order-42")

    again = await store.create_run("checkout", plan_hash="p1", inputs=2, start_key="order-42")

    assert not again.created
    assert again.run.run_id == first.run.run_id
    assert len(await store.list_runs()) == 1


async def test_two_stores_creating_one_start_key_get_one_run(backend):
    async with open_store(backend.make()) as a, open_store(backend.make()) as b:
        made = [
            await a.create_run("w", plan_hash="p", inputs=0, start_key="k"),
            await b.create_run("w", plan_hash="p", inputs=0, start_key="k"),
        ]

    assert [m.created for m in made] == [True, False]
    assert made[1].run.owner_id == a.owner_id


async def test_a_step_journal_sequence_loads_back_in_order(store):
    run, rec = await new_run(store)

    rec.step_started("charge", 1)
    await rec.step_ok("charge", 1, {"receipt": "r-1"})
    await rec.set_status(RunStatus.SUCCEEDED, result="done")
    journal = await store.load_journal(run.run_id)

    assert journal.inputs == {"order": 42}
    assert journal.result == "done"
    assert journal.run.status is RunStatus.SUCCEEDED
    assert journal.run.finished_at is not None
    assert journal.results() == {"charge": {"receipt": "r-1"}}
    (attempt,) = journal.attempts
    assert (attempt.status, attempt.started_at is not None) == (AttemptStatus.OK, True)


async def test_an_attempt_started_and_never_finished_is_reported_interrupted(store):
    run, rec = await new_run(store)

    rec.step_started("charge", 1)
    await rec.step_ok("reserve", 1, "r")
    journal = await store.load_journal(run.run_id)

    assert [(a.step, a.attempt) for a in journal.interrupted()] == [("charge", 1)]
    assert journal.next_attempt("charge") == 2
    assert journal.next_attempt("ship") == 1


async def test_an_ok_row_over_its_started_row_keeps_the_start_and_the_arguments(store):
    run, rec = await new_run(store)

    rec.step_started("charge", 1, arguments={"amount": 5})
    await rec.step_ok("charge", 1, "paid", started_at=1.0)
    row = (await store.load_journal(run.run_id)).latest()["charge", -1]

    assert (row.status, row.result, row.arguments) == (AttemptStatus.OK, "paid", {"amount": 5})
    assert row.started_at is not None
    assert row.started_at.timestamp() != 1.0  # the started row's time, not the ok row's
    assert row.finished_at is not None
    assert (row.error, row.reason, row.wait_until) == (None, None, None)


async def test_an_ok_row_without_a_started_row_records_when_the_attempt_began(store):
    run, rec = await new_run(store)

    await rec.step_ok("charge", 1, "paid", started_at=1_700_000_000.0)
    row = (await store.load_journal(run.run_id)).latest()["charge", -1]

    assert row.started_at == datetime.fromtimestamp(1_700_000_000.0, UTC)
    assert row.arguments is None


async def test_each_attempt_outcome_is_stored_with_its_details(store):
    run, rec = await new_run(store)
    later = datetime(2030, 1, 1, tzinfo=UTC)

    rec.step_failed("a", 1, KeyError("gone"), retry_at=later)
    rec.step_again("b", 1, later)
    rec.step_halted("c", 1, "operator")
    rec.step_skipped("d", "guard was false")
    rec.step_cancelled("e", 1, reason="fail fast")
    rec.step_started("f", 1, arguments={"x": 1})
    await rec.step_interrupted("f", 1)
    latest = (await store.load_journal(run.run_id)).latest()

    assert isinstance(latest["a", -1].error, KeyError)
    assert latest["a", -1].wait_until == later
    assert (latest["b", -1].status, latest["b", -1].wait_until) == (AttemptStatus.AGAIN, later)
    assert (latest["c", -1].status, latest["c", -1].reason) == (AttemptStatus.HALTED, "operator")
    assert (latest["d", -1].attempt, latest["d", -1].reason) == (0, "guard was false")
    assert latest["e", -1].status is AttemptStatus.CANCELLED
    assert latest["f", -1].status is AttemptStatus.INTERRUPTED
    assert latest["f", -1].arguments == {"x": 1}


async def test_an_error_that_does_not_pickle_comes_back_as_a_recorded_error(store):
    run, rec = await new_run(store)

    class Local(Exception):
        pass

    await rec.step_failed("a", 1, Local("bad"))
    (attempt,) = (await store.load_journal(run.run_id)).attempts

    assert isinstance(attempt.error, RecordedError)
    assert attempt.error.text == "bad"
    assert attempt.error.type_name.endswith("Local")


async def test_map_element_results_are_kept_per_index(store):
    run, rec = await new_run(store)

    for index in (2, 0):
        rec.element_ok("parse", index, f"e{index}")
    await rec.step_started("parse", 1, element=1)
    journal = await store.load_journal(run.run_id)

    assert journal.element_results() == {"parse": {0: "e0", 2: "e2"}}
    assert journal.results() == {}


async def test_the_undo_log_goes_from_pending_to_undone_and_rolls_back_newest_first(store):
    run, rec = await new_run(store)

    rec.undo_pending(0, "reserve")
    rec.undo_pending(1, "charge", child_run_id="child-1")
    await rec.undo_finished(1, "charge", UndoStatus.FAILED, attempts=3, error="refund refused")
    journal = await store.load_journal(run.run_id)

    assert [(u.seq, u.status) for u in journal.undo] == [
        (0, UndoStatus.PENDING),
        (1, UndoStatus.FAILED),
    ]
    assert journal.undo[1].attempts == 3
    assert journal.undo[1].child_run_id == "child-1"
    assert str(journal.undo[1].error) == "refund refused"
    assert [u.step for u in journal.pending_undo()] == ["reserve"]


async def test_a_read_sees_the_writes_posted_before_it_without_awaiting_them(store):
    run, rec = await new_run(store)

    rec.set_status(RunStatus.HALTED, message="waiting for approval")
    info = await store.get_run(run.run_id)

    assert (info.status, info.message) == (RunStatus.HALTED, "waiting for approval")


async def test_listing_filters_by_status_workflow_and_time_newest_first(store):
    old, _ = await new_run(store, workflow="etl")
    _, halted = await new_run(store, workflow="etl")
    newest, _ = await new_run(store, workflow="checkout")
    await halted.set_status(RunStatus.HALTED)

    everything = await store.list_runs()
    running = await store.list_runs(status=RunStatus.RUNNING)
    etl = await store.list_runs(workflow="etl", status=[RunStatus.RUNNING, RunStatus.HALTED])
    future = await store.list_runs(since=datetime.now(UTC) + timedelta(days=1))

    assert everything[0].run_id == newest.run_id
    assert {r.run_id for r in running} == {old.run_id, newest.run_id}
    assert len(etl) == 2
    assert future == []


async def test_listing_with_an_unknown_status_names_the_allowed_ones(store):
    with pytest.raises(ValueError, match=r"status must be RunStatus values .*running"):
        await store.list_runs(status="sleeping")


async def test_pruning_deletes_old_finished_runs_with_their_journal_and_keeps_others(store):
    done, rec = await new_run(store)
    kept, _ = await new_run(store)
    await rec.step_ok("a", 1, 1)
    await rec.set_status(RunStatus.SUCCEEDED)

    deleted = await store.prune_runs(older_than=datetime.now(UTC) + timedelta(seconds=1))

    assert deleted == 1
    assert await store.get_run(done.run_id) is None
    assert await store.load_journal(done.run_id) is None
    assert await store.get_run(kept.run_id) is not None


async def test_a_journal_can_be_loaded_without_decoding_its_values(store):
    run, rec = await new_run(store)
    await rec.step_ok("a", 1, [1, 2], codec="json")

    journal = await store.load_journal(run.run_id, decode=False)

    assert journal.attempts[0].result == Encoded("json", b"[1,2]")
    assert isinstance(journal.inputs, Encoded)


async def test_a_result_that_no_longer_decodes_raises_a_decode_error_naming_it(store, backend):
    run, rec = await new_run(store)
    await rec.step_ok("charge", 1, "fine")
    backend.sql("UPDATE step_attempts SET result = ?", (b"not a pickle",))

    with pytest.raises(DecodeError, match=r"result of step 'charge' \(attempt 1\).*'pickle'"):
        await store.load_journal(run.run_id)


async def test_bad_journal_arguments_raise_at_the_call_naming_the_parameter(store):
    _, rec = await new_run(store)

    with pytest.raises(ValueError, match="attempt must be an int >= 1; got 0"):
        rec.step_ok("a", 0, None)
    with pytest.raises(ValueError, match="step must be a non-empty str"):
        rec.step_started("", 1)
    with pytest.raises(ValueError, match="must be timezone-aware"):
        rec.step_again("a", 1, datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="workflow must be a non-empty str"):
        await store.create_run("", plan_hash="p", inputs=None)
    with pytest.raises(ValueError, match="options must be JSON data"):
        await store.create_run("w", plan_hash="p", inputs=None, options={"x": object()})


def test_a_recorder_shows_its_run_fence_and_state():
    from arborist.runtime.store._recorder import RunRecorder

    recorder = RunRecorder(None, "run-1", 3)  # type: ignore[arg-type]

    assert repr(recorder) == "<RunRecorder run run-1 fence 3 active>"

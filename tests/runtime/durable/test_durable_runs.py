"""Durable runs in one process, on SQLite and PostgreSQL: what the journal records, keys,
results the store refuses, recovery's gates (needs_attention), halted and parked runs by id,
cancel from the journal, and lookups.

A process "dies" here by its runtime shutting down with the run still in flight: a durable
run is then suspended (not rolled back, nothing more journaled), which leaves the store as a
SIGKILL would (the kill suite, ``test_durable_kills.py``, does it with real processes).
"""

from __future__ import annotations

import durable_flows as flows
import pytest
import trio
import trio.testing
from durable_stores import make_store, sql

from arborist.runtime import (
    Again,
    AgainLimitError,
    Halt,
    Retry,
    RunNeedsAttention,
    RunNeedsAttentionError,
    RunNotFoundError,
    RunSuspendedError,
    Runtime,
    Workflow,
    WorkflowFailedError,
    WorkflowHaltedError,
    outcome,
    result,
)
from arborist.runtime.store import (
    AttemptStatus,
    EncodeError,
    ResultTooLargeError,
    RunStatus,
    UndoStatus,
)


class Calls(list[str]):
    """The step calls so far; ``await calls.reached(name)`` waits for a call of ``name``."""

    def __init__(self) -> None:
        super().__init__()
        self._events: dict[str, trio.Event] = {}

    def append(self, name: str) -> None:
        super().append(name)
        self._events.setdefault(name, trio.Event()).set()

    async def reached(self, name: str) -> None:
        await self._events.setdefault(name, trio.Event()).wait()


def counting(name: str, calls: list[str], *, block: trio.Event | None = None, value=None):
    async def body():
        calls.append(name)
        if block is not None and not block.is_set():
            await trio.sleep_forever()
        return name if value is None else value

    body.__name__ = name
    return body


def three_steps(calls: list[str], block: trio.Event | None = None, name: str = "three") -> Workflow:
    wf = Workflow(name)
    wf.step(counting("a", calls), name="a")
    wf.step(counting("b", calls, block=block), name="b", wait_for=["a"])
    wf.step(counting("c", calls), name="c", wait_for=["b"])
    wf.returns("c")
    return wf


async def suspended_at_b(store_url: str, calls: Calls) -> str:
    """Start ``three_steps``, let it reach ``b`` (which blocks), shut the runtime down."""
    wf = three_steps(calls, trio.Event())
    async with Runtime(store=store_url, workflows=[wf]) as rt:
        handle = await rt.start(wf)
        await calls.reached("b")
        report = await rt.aclose(timeout=0)
        with pytest.raises(RunSuspendedError):
            await handle.result()
    assert report.runs_suspended == (handle.run_id,)
    return handle.run_id


async def test_a_durable_run_journals_each_step_result_and_its_own_result(store_url):
    calls = Calls()
    wf = three_steps(calls)
    async with Runtime(store=store_url) as rt:
        handle = await rt.start(wf)
        assert await handle.result() == "c"
        journal = await rt.store.load_journal(handle.run_id)
    assert [(r.step, r.attempt, r.status) for r in journal.attempts] == [
        ("a", 1, AttemptStatus.OK),
        ("b", 1, AttemptStatus.OK),
        ("c", 1, AttemptStatus.OK),
    ]
    assert journal.results() == {"a": "a", "b": "b", "c": "c"}
    assert (journal.run.status, journal.result) == (RunStatus.SUCCEEDED, "c")


async def test_a_suspended_run_is_recovered_on_the_next_open_without_rerunning_completed_steps(
    store_url,
):
    calls = Calls()
    run_id = await suspended_at_b(store_url, calls)
    released = trio.Event()
    released.set()
    async with Runtime(store=store_url, workflows=[three_steps(calls, released)]) as rt:
        assert rt.recovery_report.recovered == (run_id,)
        handle = await rt.get_run(run_id)
        assert await handle.result() == "c"
    assert calls == ["a", "b", "b", "c"]


async def test_a_step_result_is_one_write_that_records_when_its_attempt_started(store_url):
    wf = Workflow("one")
    wf.step(counting("a", []), name="a")
    async with Runtime(store=store_url) as rt:
        before = rt.store.statistics()
        handle = await rt.start(wf)
        await handle.result()
        journal = await rt.store.load_journal(handle.run_id)
        after = rt.store.statistics()
    (row,) = journal.attempts
    assert row.status is AttemptStatus.OK
    assert row.started_at is not None
    assert row.started_at <= row.finished_at
    assert after.posted - before.posted == 3  # the run, the step's result, the run's end


async def test_a_key_starts_one_run_across_restarts_and_gives_its_result_back(store_url):
    calls = Calls()
    wf = three_steps(calls)
    async with Runtime(store=store_url) as rt:
        first = await rt.start(wf, key="order-42")
        again = await rt.start(wf, key="order-42")
        assert again is first
        await first.result()
    async with Runtime(store=store_url) as rt:
        later = await rt.start(wf, key="order-42")
        assert (later.run_id, await later.result()) == (first.run_id, "c")
    assert calls == ["a", "b", "c"]


async def test_a_key_of_a_run_of_another_workflow_is_refused(store_url):
    async with Runtime(store=store_url) as rt:
        await (await rt.start(three_steps([]), key="k")).result()
        with pytest.raises(ValueError, match="key 'k' already names a run of workflow 'three'"):
            await rt.start(three_steps([], name="other"), key="k")


@pytest.mark.parametrize(
    ("value", "error"),
    [(b"x" * 2048, ResultTooLargeError), (lambda: None, EncodeError)],
    ids=["too large", "not picklable"],
)
async def test_a_result_the_store_refuses_fails_its_step_at_once_without_retries(
    store_url, value, error
):
    calls = Calls()
    wf = Workflow("refused")
    wf.step(counting("make", calls, value=value), name="make", retry=Retry(attempts=3))
    store = make_store(store_url, max_result_bytes=1024, warn_result_bytes=512)
    async with Runtime(store=store) as rt:
        with pytest.raises(WorkflowFailedError) as failed:
            await rt.run(wf)
    assert isinstance(failed.value.cause, error)
    assert "make" in str(failed.value.cause)
    assert calls == ["make"]


async def test_a_run_of_an_unregistered_workflow_needs_attention_and_resumes_once_given(store_url):
    calls = Calls()
    run_id = await suspended_at_b(store_url, calls)
    events = []
    async with Runtime(store=store_url) as rt:
        rt.subscribe(events.append, only=RunNeedsAttention)
        (parked,) = rt.recovery_report.needs_attention
        info = await rt.store.get_run(run_id)
        released = trio.Event()
        released.set()
        assert await rt.resume(run_id, workflow=three_steps(calls, released)) == "c"
    assert parked == (run_id, info.message)
    assert info.status is RunStatus.NEEDS_ATTENTION
    assert "workflow 'three' is not registered in this process" in info.message
    assert calls == ["a", "b", "b", "c"]


async def test_a_run_whose_workflow_changed_needs_attention_naming_what_changed(store_url):
    calls = Calls()
    run_id = await suspended_at_b(store_url, calls)
    changed = three_steps(calls)
    changed.step(counting("d", calls), name="d", wait_for=["c"])
    async with Runtime(store=store_url, workflows=[changed]) as rt:
        handle = await rt.get_run(run_id)
        with pytest.raises(RunNeedsAttentionError) as parked:
            await handle.result()
        with pytest.raises(RunNeedsAttentionError, match="steps added: d"):
            await rt.resume(run_id)
    assert "workflow 'three' changed since the run started (steps added: d)" in str(parked.value)
    assert calls == ["a", "b"]


async def test_a_halted_run_is_resumed_by_id_after_a_restart(store_url, monkeypatch):
    marks = []
    monkeypatch.setenv("MARKERS", "/dev/null")
    async with Runtime(store=store_url, workflows=[flows.HALTING]) as rt:
        with pytest.raises(WorkflowHaltedError) as halted:
            await rt.run(flows.HALTING)
        (listed,) = await rt.runs(status="halted", workflow=flows.HALTING)
    monkeypatch.setenv("APPROVED", "yes")
    async with Runtime(store=store_url, workflows=[flows.HALTING]) as rt:
        marks.append(await rt.resume(halted.value.state.run_id))
        info = await rt.store.get_run(listed.run_id)
    assert listed.run_id == halted.value.state.run_id
    assert (marks, info.status) == (["approved"], RunStatus.SUCCEEDED)


async def test_cancelling_a_halted_run_not_in_memory_rolls_back_its_completed_steps(store_url):
    undone = []
    wf = Workflow("hold")

    @wf.step
    async def reserve():
        return "seat 12"

    @reserve.undo
    async def release(result, arguments):
        undone.append(result)

    @wf.step(wait_for=["reserve"])
    async def approve():
        return Halt("needs a human")

    async with Runtime(store=store_url) as rt:
        handle = await rt.start(wf)
        with pytest.raises(WorkflowHaltedError):
            await handle.result()
    async with Runtime(store=store_url, workflows=[wf]) as rt:
        await rt.cancel_run(handle.run_id)
        journal = await rt.store.load_journal(handle.run_id)
    assert undone == ["seat 12"]
    assert journal.run.status is RunStatus.CANCELLED
    assert [(u.step, u.status) for u in journal.undo] == [("reserve", UndoStatus.UNDONE)]


async def test_get_run_gives_a_finished_run_its_result_or_its_rebuilt_error(store_url):
    wf = Workflow("broken")

    @wf.step
    async def load():
        return 1

    @wf.step
    async def charge(load):
        raise ValueError("card declined")

    async with Runtime(store=store_url) as rt:
        ok = await rt.start(three_steps([]))
        await ok.result()
        bad = await rt.start(wf)
        with pytest.raises(WorkflowFailedError):
            await bad.result()
    async with Runtime(store=store_url, workflows=[wf]) as rt:
        assert await (await rt.get_run(ok.run_id)).result() == "c"
        with pytest.raises(WorkflowFailedError) as failed:
            await (await rt.get_run(bad.run_id)).result()
        with pytest.raises(RunNotFoundError):
            await rt.get_run("01a00000-0000-7000-8000-000000000000")
    assert (failed.value.step, failed.value.completed) == ("charge", ("load",))
    assert isinstance(failed.value.cause, ValueError)


async def test_a_guard_decision_is_journaled_and_not_evaluated_again_on_recovery(store_url):
    calls = Calls()
    guards = []
    block = trio.Event()

    def build() -> Workflow:
        wf = Workflow("guarded")

        def never(**_):
            guards.append("asked")
            return False

        wf.step(counting("maybe", calls), name="maybe", when=never)
        wf.step(counting("slow", calls, block=block), name="slow")
        return wf

    run_id = None
    async with Runtime(store=store_url) as rt:
        handle = await rt.start(build())
        run_id = handle.run_id
        await calls.reached("slow")
        await rt.aclose(timeout=0)
    block.set()
    async with Runtime(store=store_url, workflows=[build()]) as rt:
        await (await rt.get_run(run_id)).result()
        journal = await rt.store.load_journal(run_id)
    assert guards == ["asked"]
    assert journal.latest()[("maybe", -1)].status is AttemptStatus.SKIPPED


async def test_a_failure_taken_as_an_outcome_is_journaled_and_not_run_again(store_url):
    calls = Calls()
    block = trio.Event()

    def build() -> Workflow:
        wf = Workflow("tolerant")

        @wf.step
        async def flaky():
            calls.append("flaky")
            raise ConnectionError("down")

        @wf.step(args={"got": outcome("flaky")})
        async def report(got):
            calls.append("report")
            if not block.is_set():
                await trio.sleep_forever()
            return type(got.error).__name__

        wf.returns("report")
        return wf

    async with Runtime(store=store_url) as rt:
        handle = await rt.start(build())
        await calls.reached("report")
        await rt.aclose(timeout=0)
    block.set()
    async with Runtime(store=store_url, workflows=[build()]) as rt:
        assert await (await rt.get_run(handle.run_id)).result() == "ConnectionError"
    assert calls == ["flaky", "report", "report"]


async def test_the_start_of_an_on_resume_fail_step_is_durable_before_it_is_called(store_url):
    seen = []
    wf = Workflow("careful")

    @wf.step(on_resume="fail")
    async def pay(ctx):
        journal = await ctx.runtime.store.load_journal(ctx.run_id)
        seen.append(journal.latest()[("pay", -1)].status)

    async with Runtime(store=store_url) as rt:
        await rt.run(wf)
    assert seen == [AttemptStatus.STARTED]


async def test_a_wide_fan_out_commits_its_results_in_few_transactions(store_url):
    wf = Workflow("wide")
    for i in range(200):
        wf.step(counting(f"s{i}", []), name=f"s{i}")
    async with Runtime(store=store_url) as rt:
        before = rt.store.statistics()
        await rt.run(wf)
        after = rt.store.statistics()
    assert after.committed - before.committed >= 200  # one row per step: its result's
    assert after.batches - before.batches < 40  # group commit: many rows per transaction


async def test_a_fan_out_whose_results_share_a_write_releases_each_dependent_after_it(store_url):
    seen: dict[str, AttemptStatus] = {}
    wf = Workflow("released")
    for i in range(120):
        root = wf.step(counting(f"r{i}", []), name=f"r{i}")

        async def check(ctx, value, root=root.name):
            journal = await ctx.runtime.store.load_journal(ctx.run_id)
            seen[root] = journal.latest()[(root, -1)].status
            return value

        wf.step(
            check,
            name=f"d{i}",
            args={"value": result(root)},
            when=(lambda value: False) if i % 3 == 0 else None,
        )
    async with Runtime(store=store_url) as rt:
        handle = await rt.start(wf)
        await handle.result()
        journal = await rt.store.load_journal(handle.run_id)
    released = {f"r{i}" for i in range(120) if i % 3}
    assert seen == dict.fromkeys(released, AttemptStatus.OK)  # committed before it ran
    statuses = {(r.step, r.status) for r in journal.attempts}
    assert {(f"d{i}", AttemptStatus.SKIPPED) for i in range(0, 120, 3)} <= statuses
    assert {(f"d{i}", AttemptStatus.OK) for i in range(120) if i % 3} <= statuses


async def test_a_map_journaling_its_elements_refuses_an_iterator_input_at_the_call(store_url):
    async with Runtime(store=store_url) as rt:
        with pytest.raises(TypeError, match="input 'items' must be a list or another sequence"):
            await rt.start(flows.ELEMENTS, items=iter([1, 2]))


async def test_listing_runs_needs_a_store():
    async with Runtime() as rt:
        with pytest.raises(RuntimeError, match=r"rt.runs\(\) needs a store"):
            await rt.runs()


async def test_a_recovered_parent_that_fails_undoes_its_childs_steps_from_the_childs_journal(
    store_url,
):
    undone: list[str] = []
    gate = trio.Event()
    calls = Calls()

    def build() -> Workflow:
        kid = Workflow("kid_with_undo")

        @kid.step
        async def book():
            return "room 7"

        @book.undo
        async def unbook(result, arguments):
            undone.append(result)

        parent = Workflow("trip")

        @parent.step
        async def plan(ctx):
            return await ctx.run(kid)

        @parent.step(wait_for=["plan"])
        async def pay():
            calls.append("pay")
            if not gate.is_set():
                await trio.sleep_forever()
            raise ValueError("card declined")

        return parent, kid

    parent, kid = build()
    async with Runtime(store=store_url) as rt:
        handle = await rt.start(parent)
        await calls.reached("pay")
        await rt.aclose(timeout=0)
    gate.set()
    parent, kid = build()
    async with Runtime(store=store_url, workflows=[parent, kid]) as rt:
        with pytest.raises(WorkflowFailedError) as failed:
            await (await rt.get_run(handle.run_id)).result()
        journal = await rt.store.load_journal(handle.run_id)
    assert undone == ["room 7"]
    assert failed.value.undone == ("plan/book",)
    (row,) = journal.undo
    assert (row.step, row.status, row.child_run_id is not None) == (
        "plan/book",
        UndoStatus.UNDONE,
        True,
    )


async def test_again_counts_and_waits_continue_across_a_restart(store_url):
    calls = Calls()

    def build() -> Workflow:
        wf = Workflow("polling")

        @wf.step(max_again=1)
        async def poll():
            calls.append("poll")
            return Again(after=0.2)

        return wf

    async with Runtime(store=store_url) as rt:
        handle = await rt.start(build())
        await calls.reached("poll")
        await trio.testing.wait_all_tasks_blocked()
        await rt.store.flush()
        await rt.aclose(timeout=0)
    async with Runtime(store=store_url, workflows=[build()]) as rt:
        with pytest.raises(WorkflowFailedError) as failed:
            await (await rt.get_run(handle.run_id)).result()
    assert isinstance(failed.value.cause, AgainLimitError)  # one Again before, one after
    assert calls == ["poll", "poll"]


async def test_a_run_recovered_over_and_over_is_parked_as_a_crash_loop(store_url):
    calls = Calls()
    run_id = await suspended_at_b(store_url, calls)
    sql(store_url, "UPDATE runs SET recovery_attempts = 10 WHERE run_id = ?", (run_id,))
    async with Runtime(store=store_url, workflows=[three_steps(calls)]) as rt:
        (parked,) = rt.recovery_report.needs_attention
    assert parked[0] == run_id
    assert "recovered 11 times: the process running it keeps dying" in parked[1]


async def test_a_map_journaling_its_elements_fails_at_dispatch_on_a_generator_from_a_step():
    # With a store the producer already fails (a generator is not journaled); without one the
    # map itself refuses a source it could not read again, so code behaves alike either way.
    wf = Workflow("generated")

    @wf.step
    async def rows():
        return (i for i in range(3))

    @wf.map(over="rows", journal="elements")
    async def each(row):
        return row

    async with Runtime() as rt:
        with pytest.raises(WorkflowFailedError) as failed:
            await rt.run(wf)
    assert isinstance(failed.value.cause, TypeError)
    assert "its source must be a list or another sequence" in str(failed.value.cause)


async def test_short_durable_runs_end_without_leaving_messages_unhandled(store_url, caplog):
    wf = three_steps(Calls())
    async with Runtime(store=store_url) as rt:
        for _ in range(5):
            await rt.run(wf)
    assert [r for r in caplog.records if "unhandled messages" in r.getMessage()] == []

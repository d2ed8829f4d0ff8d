"""DashboardState: runs, attempts, schedule ticks and pools as the page receives them."""

import pytest
import trio

pytest.importorskip("starlette", reason="the dashboard extra is in the test extra")

from arborist.runtime import Retry, Runtime, Workflow, every
from arborist.runtime.dashboard import DashboardState


def _flaky():
    wf = Workflow("orders")
    tries = []

    @wf.step(retry=Retry(attempts=2, backoff="constant", delay=1.0))
    async def charge():
        tries.append(1)
        await trio.sleep(2)
        if len(tries) == 1:
            raise ConnectionError("down")

    return wf


async def test_a_run_in_flight_shows_its_attempts_so_far_and_a_running_one(autojump_clock):
    async with Runtime() as rt:
        state = DashboardState(rt)
        handle = await rt.start(_flaky())
        await trio.sleep(4)
        snapshot = await state.snapshot()
        await handle.result()

    (run,) = snapshot["active"]
    assert (run["run_id"], run["status"], run["duration"]) == (handle.run_id, "running", 4.0)
    assert [(a["start"], a["end"], a["status"], a["running"]) for a in run["attempts"]] == [
        (0.0, 2.0, "failed", False),
        (3.0, 4.0, "running", True),
    ]


async def test_a_finished_run_moves_to_the_recent_runs_newest_first(autojump_clock):
    async with Runtime() as rt:
        state = DashboardState(rt, recent=2)
        handles = []
        for _ in range(3):
            handles.append(await rt.start(_flaky()))
            await handles[-1].result()
        snapshot = await state.snapshot()

    assert snapshot["active"] == []
    assert [r["run_id"] for r in snapshot["recent"]] == [h.run_id for h in handles[:0:-1]]
    assert {r["status"] for r in snapshot["recent"]} == {"ok"}


async def test_schedules_show_their_next_fire_and_recent_ticks(autojump_clock):
    async def job():
        await trio.sleep(15)

    async with Runtime() as rt:
        state = DashboardState(rt)
        rt.schedule("every10", every(seconds=10), job)
        await trio.sleep(21)
        snapshot = await state.snapshot()

    (schedule,) = snapshot["schedules"]
    assert schedule["name"] == "every10"
    assert schedule["next_in"] == 9.0
    assert [(t["kind"], t["reason"]) for t in schedule["recent"]] == [
        ("skipped", "overlap"),
        ("tick", None),
    ]


async def test_the_version_grows_with_each_event_and_wakes_a_waiter(autojump_clock):
    async with Runtime() as rt:
        state = DashboardState(rt)
        before = state.version
        woken = []

        async def waiter():
            await state.wait_changed(before)
            woken.append(state.version)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            await rt.run(_flaky())

    assert woken
    assert woken[0] > before


async def test_without_a_store_there_is_no_history(autojump_clock):
    async with Runtime() as rt:
        snapshot = await DashboardState(rt).snapshot()

    assert snapshot["history"] is None


async def test_with_a_store_the_history_comes_from_the_journal(tmp_path):
    async with Runtime(store=f"sqlite:///{tmp_path / 'runs.db'}") as rt:
        await rt.store.create_run("billing", plan_hash="h", inputs={}, run_id="billing-7")
        snapshot = await DashboardState(rt).snapshot()

    assert [(r["run_id"], r["workflow"], r["status"]) for r in snapshot["history"]] == [
        ("billing-7", "billing", "running")
    ]


async def test_a_run_of_many_steps_keeps_only_its_latest_attempts_and_counts_the_rest(
    autojump_clock,
):
    from arborist.runtime.dashboard._state import MAX_ATTEMPTS

    wf = Workflow("wide")
    for i in range(MAX_ATTEMPTS + 20):

        async def noop():
            return None

        wf.step(noop, name=f"s{i}")

    async with Runtime() as rt:
        state = DashboardState(rt)
        await rt.run(wf)
        snapshot = await state.snapshot()

    (run,) = snapshot["recent"]
    assert len(run["attempts"]) == MAX_ATTEMPTS
    assert run["hidden"] == 20


async def test_the_state_shows_the_runs_in_flight_and_its_version_in_its_repr(autojump_clock):
    async with Runtime() as rt:
        state = DashboardState(rt)
        assert repr(state) == "<DashboardState 0 runs in flight, version 0>"

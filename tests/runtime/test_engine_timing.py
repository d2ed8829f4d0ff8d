"""A run takes its critical path: each step starts as soon as its arguments exist."""

import pytest
import trio

from arborist.runtime import Runtime, Workflow


def _user_data(log):
    """Seed 000: three fetches of 0.2, 0.15 and 0.3 s, then an aggregate."""
    wf = Workflow("user_data", inputs=["user_id"])

    async def fetch(name, seconds, payload):
        log.append((name, "start", trio.current_time()))
        await trio.sleep(seconds)
        log.append((name, "end", trio.current_time()))
        return payload

    @wf.step
    async def fetch_profile(user_id):
        return await fetch("fetch_profile", 0.2, {"id": user_id})

    @wf.step
    async def fetch_preferences(user_id):
        return await fetch("fetch_preferences", 0.15, {"theme": "light"})

    @wf.step
    async def fetch_activity(user_id):
        return await fetch("fetch_activity", 0.3, {"login_count": 42})

    @wf.step
    def aggregate(fetch_profile, fetch_preferences, fetch_activity):
        log.append(("aggregate", "start", None))
        return f"User {fetch_profile['id']} has {fetch_activity['login_count']} logins"

    wf.returns("aggregate")
    return wf


async def test_independent_fetches_run_concurrently_so_the_run_takes_its_slowest_path(
    autojump_clock,
):
    log = []
    async with Runtime() as rt:
        start = trio.current_time()
        summary = await rt.run(_user_data(log), user_id=123)
        elapsed = trio.current_time() - start
    assert summary == "User 123 has 42 logins"
    assert elapsed == 0.3
    assert sorted((n, t) for n, kind, t in log if kind == "start" and t is not None) == [
        ("fetch_activity", 0.0),
        ("fetch_preferences", 0.0),
        ("fetch_profile", 0.0),
    ]


async def test_concurrent_false_runs_one_step_at_a_time_so_the_run_takes_the_sum(
    autojump_clock,
):
    log = []
    async with Runtime() as rt:
        start = trio.current_time()
        summary = await rt.run(_user_data(log), user_id=123, concurrent=False)
        elapsed = trio.current_time() - start
    assert summary == "User 123 has 42 logins"
    assert elapsed == pytest.approx(0.65, abs=1e-9)
    starts = [(n, t) for n, kind, t in log if kind == "start" and t is not None]
    assert [n for n, _ in starts] == ["fetch_profile", "fetch_preferences", "fetch_activity"]
    assert [t for _, t in starts] == pytest.approx([0.0, 0.2, 0.35], abs=1e-9)


async def test_concurrent_false_runs_the_steps_in_the_plans_topological_order(autojump_clock):
    order = []
    wf = Workflow("shuffled")

    async def record(name):
        order.append(name)
        await trio.sleep(0.1)

    # Declared out of data-flow order, so the plan's order differs from declaration order.
    @wf.step
    async def report(summarise):
        await record("report")

    @wf.step
    async def load():
        await record("load")

    @wf.step
    async def summarise(load, index):
        await record("summarise")

    @wf.step
    async def index():
        await record("index")

    @wf.step
    async def audit(load):
        await record("audit")

    planned = [step.name for step in wf.plan().steps]
    async with Runtime() as rt:
        await rt.run(wf, concurrent=False)
    assert planned == ["load", "index", "summarise", "report", "audit"]
    assert order == planned


async def test_a_step_starts_as_soon_as_its_own_dependencies_finish_not_when_others_do(
    autojump_clock,
):
    started = {}
    wf = Workflow("readiness")

    @wf.step
    async def quick():
        await trio.sleep(0.1)
        return 1

    @wf.step
    async def slow():
        await trio.sleep(1.0)
        return 2

    @wf.step
    async def after_quick(quick):
        started["after_quick"] = trio.current_time()
        await trio.sleep(0.2)

    @wf.step
    async def after_both(after_quick, slow):
        started["after_both"] = trio.current_time()

    async with Runtime() as rt:
        handle = await rt.start(wf)
        await handle.result()
    assert started == {"after_quick": 0.1, "after_both": 1.0}
    assert handle.finished_at == 1.0


async def test_the_handle_records_each_attempt_with_its_start_end_and_status(autojump_clock):
    log = []
    async with Runtime() as rt:
        handle = await rt.start(_user_data(log), user_id=1)
        await handle.result()
    records = {r.step: (r.attempt, r.start, r.end, r.status) for r in handle.records}
    assert records == {
        "fetch_preferences": (1, 0.0, 0.15, "ok"),
        "fetch_profile": (1, 0.0, 0.2, "ok"),
        "fetch_activity": (1, 0.0, 0.3, "ok"),
        "aggregate": (1, 0.3, 0.3, "ok"),
    }
    assert [r.step for r in handle.records][:3] == [
        "fetch_preferences",
        "fetch_profile",
        "fetch_activity",
    ]
    assert handle.records[0].duration == 0.15

"""The Runtime's own tree: jobs, actors under the runtime, the tree snapshot, graceful shutdown."""

import pytest
import trio
import trio.testing

from arborist.actors import Actor, Crashed
from arborist.runtime import RunEvent, Runtime, RuntimeClosedError, Workflow
from arborist.supervision import ChildExited, ChildRestarted, SupervisorGaveUp, TaskFailed


class Counter(Actor):
    def __init__(self) -> None:
        self.count = 0

    def on_receive(self, message: object) -> int:
        if message == "boom":
            raise ValueError("boom")
        self.count += 1
        return self.count


async def test_the_runtime_tree_has_jobs_actors_schedules_and_runs(autojump_clock):
    async with Runtime() as rt:
        tree = await rt.tree()
    assert [child.id for child in tree.root.children] == ["jobs", "actors", "schedules", "runs"]
    text = str(tree)
    for name in ("jobs", "actors", "schedules", "runs"):
        assert name in text


async def test_fire_and_forget_runs_the_job_without_blocking_the_caller(autojump_clock):
    done = []

    async def job(x):
        await trio.sleep(1.0)
        done.append((x, trio.current_time()))

    async with Runtime() as rt:
        rt.fire_and_forget(job, 7)
        assert trio.current_time() == 0.0
    assert done == [(7, 1.0)]


async def test_a_failing_job_is_an_event_and_never_raises_into_the_caller(autojump_clock):
    failures = []

    async def job():
        raise ValueError("nope")

    async with Runtime() as rt:
        rt.subscribe(failures.append, only=TaskFailed)
        rt.fire_and_forget(job)
        await trio.testing.wait_all_tasks_blocked()
    assert len(failures) == 1
    assert isinstance(failures[0].exc, ValueError)


async def test_an_actor_spawned_on_the_runtime_is_restarted_under_its_name(autojump_clock):
    restarts = []
    async with Runtime() as rt:
        rt.subscribe(restarts.append, only=ChildRestarted)
        first = await rt.spawn(Counter, name="counter")
        assert await first.ask(1) == 1
        with pytest.raises(Exception, match="boom"):
            await first.ask("boom")
        await trio.testing.wait_all_tasks_blocked()
        second = rt.system.whereis("counter")
        assert second is not None
        assert second is not first
        assert await rt.system.ask("counter", 1) == 1  # fresh state, as in OTP
    assert [event.id for event in restarts] == ["counter"]


async def test_shutdown_restarts_nothing_and_reports_what_it_cut(autojump_clock):
    events = []

    async def slow_job():
        await trio.sleep(100.0)

    wf = Workflow("slow")

    @wf.step
    async def forever():
        await trio.sleep(100.0)

    async with Runtime(shutdown_timeout=2.0) as rt:
        rt.subscribe(events.append)
        rt.fire_and_forget(slow_job)
        handle = await rt.start(wf)
        await trio.sleep(1.0)
    assert not [e for e in events if isinstance(e, ChildRestarted)]
    report = rt.shutdown_report
    assert report is not None
    assert report.runs_cancelled == (handle.run_id,)
    assert report.jobs is not None
    assert len(report.jobs.cut) == 1
    crashed = [e for e in events if isinstance(e, ChildExited) and isinstance(e.reason, Crashed)]
    assert crashed == []


async def test_work_is_refused_once_the_runtime_is_closing(autojump_clock):
    wf = Workflow("w")

    @wf.step
    async def step():
        return 1

    async with Runtime() as rt:
        await rt.aclose()
        with pytest.raises(RuntimeClosedError, match="accepts no new work"):
            await rt.run(wf)
        with pytest.raises(RuntimeClosedError):
            rt.fire_and_forget(trio.sleep, 1)


async def test_subscribe_only_filters_events_by_type(autojump_clock):
    run_events, all_events = [], []
    wf = Workflow("w")

    @wf.step
    async def step():
        return 1

    async with Runtime() as rt:
        rt.subscribe(run_events.append, only=RunEvent)
        rt.subscribe(all_events.append)
        await rt.run(wf)
    assert run_events
    assert all(isinstance(event, RunEvent) for event in run_events)
    assert len(all_events) > len(run_events)


async def test_a_step_fires_and_forgets_a_job_that_outlives_it_and_whose_failure_is_an_event(
    autojump_clock,
):
    done, failures = [], []

    async def notify(x):
        await trio.sleep(5.0)
        done.append((x, trio.current_time()))

    async def broken():
        raise RuntimeError("slack is down")

    wf = Workflow("signup", inputs=["user"])

    @wf.step
    async def create(user, ctx):
        ctx.fire_and_forget(notify, user)
        ctx.fire_and_forget(broken)
        return user

    wf.returns("create")
    async with Runtime(shutdown_timeout=10.0) as rt:
        rt.subscribe(failures.append, only=TaskFailed)
        assert await rt.run(wf, user="ann") == "ann"
        assert trio.current_time() == 0.0  # the run did not wait for its jobs
    assert done == [("ann", 5.0)]
    assert [type(event.exc) for event in failures] == [RuntimeError]


async def test_a_restarted_schedules_supervisor_takes_the_live_schedules_back_without_a_shift(
    autojump_clock,
):
    from arborist.runtime import every
    from arborist.runtime._runtime import SCHEDULES

    ticks = []

    async def job():
        ticks.append(trio.current_time())

    async with Runtime() as rt:
        rt.schedule("beat", every(seconds=1), job)
        await trio.sleep(2.5)
        supervisor = rt.system.whereis(SCHEDULES)
        assert supervisor is not None
        supervisor.kill()  # the whole schedules subtree dies; the root restarts it empty
        await trio.sleep(3.0)
        assert rt.system.whereis(SCHEDULES) is not supervisor
    assert ticks == [1.0, 2.0, 3.0, 4.0, 5.0]


async def test_an_actor_that_crash_loops_ends_alone_and_the_other_actors_live_on(autojump_clock):
    gave_up = []
    async with Runtime() as rt:
        rt.subscribe(gave_up.append, only=SupervisorGaveUp)
        steady = await rt.spawn(Counter, name="steady")
        other = await rt.spawn(Counter)
        await rt.spawn(Counter, name="flaky")
        for _ in range(5):
            flaky = rt.system.whereis("flaky")
            if flaky is None:
                break
            with pytest.raises(Exception, match="boom"):
                await flaky.ask("boom")
            await trio.testing.wait_all_tasks_blocked()
        assert rt.system.whereis("flaky") is None
        assert steady.is_alive
        assert other.is_alive
        assert await steady.ask(1) == 1
        actors = next(c for c in (await rt.tree()).root.children if c.id == "actors")
        assert sorted(str(child.id) for child in actors.children) == ["Counter-1", "steady"]
    assert len(gave_up) == 1
    assert "flaky" in str(gave_up[0])

"""Prometheus: events are counted and the runtime's state sampled, read from the registry's text."""

import urllib.request

import pytest
import trio

pytest.importorskip("prometheus_client", reason="prometheus_client is in the test extra")

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from arborist.actors import Actor
from arborist.runtime import Adaptive, Retry, Runtime, Workflow, every
from arborist.runtime.telemetry import Metrics, open_metrics_server


def samples(metrics):
    """{(sample name, sorted labels): value} from the registry's exposition text."""
    text = generate_latest(metrics.registry).decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _orders():
    wf = Workflow("orders")
    tries = []

    @wf.step(retry=Retry(attempts=3, backoff="constant", delay=0.1))
    async def charge():
        tries.append(1)
        await trio.sleep(0.2)
        if len(tries) < 3:
            raise ConnectionError("down")

    @wf.step
    async def ship(charge):
        await trio.sleep(1.5)

    return wf


async def test_runs_and_steps_are_counted_by_workflow_and_outcome(autojump_clock):
    async with Runtime() as rt:
        metrics = Metrics(rt)
        await rt.run(_orders())
        found = samples(metrics)

    assert found[("arborist_runs_total", (("outcome", "ok"), ("workflow", "orders")))] == 1
    assert found[("arborist_runs_started_total", (("workflow", "orders"),))] == 1
    assert found[("arborist_runs_in_flight", (("workflow", "orders"),))] == 0
    step = (("outcome", "failed"), ("step", "charge"), ("workflow", "orders"))
    assert found[("arborist_steps_total", step)] == 2
    step = (("outcome", "ok"), ("step", "charge"), ("workflow", "orders"))
    assert found[("arborist_steps_total", step)] == 1
    assert found[("arborist_step_retries_total", (("step", "charge"), ("workflow", "orders")))] == 2


async def test_step_and_run_durations_are_histograms(autojump_clock):
    async with Runtime() as rt:
        metrics = Metrics(rt)
        await rt.run(_orders())
        found = samples(metrics)

    ship = (("step", "ship"), ("workflow", "orders"))
    assert found[("arborist_step_duration_seconds_sum", ship)] == pytest.approx(1.5)
    assert found[("arborist_step_duration_seconds_bucket", (("le", "1.0"), *ship))] == 0
    assert found[("arborist_step_duration_seconds_bucket", (("le", "2.5"), *ship))] == 1
    run = (("workflow", "orders"),)
    # three charges of 0.2 s, two backoffs of 0.1 s, ship 1.5 s
    assert found[("arborist_run_duration_seconds_sum", run)] == pytest.approx(2.3)


async def test_a_failed_run_and_a_failed_undo_are_counted(autojump_clock):
    wf = Workflow("saga")

    @wf.step
    async def reserve():
        return 1

    @reserve.undo
    async def release(result, arguments):
        raise OSError("cannot release")

    @wf.step
    async def charge(reserve):
        raise RuntimeError("declined")

    async with Runtime() as rt:
        metrics = Metrics(rt)
        with pytest.raises(Exception, match="charge"):
            await rt.run(wf)
        found = samples(metrics)

    assert found[("arborist_runs_total", (("outcome", "failed"), ("workflow", "saga")))] == 1
    undo = (("outcome", "failed"), ("step", "reserve"), ("workflow", "saga"))
    assert found[("arborist_undos_total", undo)] == 1


class Fragile(Actor):
    async def on_receive(self, message):
        raise RuntimeError("crash")


async def test_supervisor_restarts_and_give_ups_are_counted(autojump_clock):
    async with Runtime() as rt:
        metrics = Metrics(rt)
        await rt.spawn(Fragile, name="fragile")
        for _ in range(4):
            ref = rt.system.whereis("fragile")
            if ref is not None:
                ref.tell("boom")
            await trio.testing.wait_all_tasks_blocked()
        found = samples(metrics)

    restarts = {k: v for k, v in found.items() if k[0] == "arborist_supervisor_restarts_total"}
    give_ups = {k: v for k, v in found.items() if k[0] == "arborist_supervisor_give_ups_total"}
    assert sum(restarts.values()) == 3
    assert sum(give_ups.values()) == 1
    assert {dict(k[1])["child"] for k in give_ups} == {"fragile"}


async def test_pools_mailboxes_and_schedules_are_sampled_on_refresh(autojump_clock):
    wf = Workflow("pooled")

    @wf.step(pool="db")
    async def hold():
        await trio.sleep(10)

    async with Runtime() as rt:
        rt.pool("db", limit=1)
        rt.pool("api", limit=Adaptive(min=2, max=8, initial=3))
        metrics = Metrics(rt)
        rt.schedule("nightly", every(seconds=60), hold)
        first = await rt.start(wf)
        second = await rt.start(wf)
        await trio.sleep(1)
        await metrics.refresh()
        found = samples(metrics)
        first.cancel()
        second.cancel()

    assert found[("arborist_pool_limit", (("pool", "db"),))] == 1
    assert found[("arborist_pool_in_use", (("pool", "db"),))] == 1
    assert found[("arborist_pool_waiting", (("pool", "db"),))] == 1
    assert found[("arborist_pool_limit", (("pool", "api"),))] == 3
    assert found[("arborist_schedule_next_fire_seconds", (("schedule", "nightly"),))] == 59
    assert found[("arborist_mailbox_depth_max", ())] == 0
    assert found[("arborist_actors", ())] > 4
    actors = {dict(k[1])["actor"] for k in found if k[0] == "arborist_mailbox_depth"}
    assert {"arborist.runtime/jobs", "arborist.runtime/runs"} <= actors
    assert not any("pooled-" in actor for actor in actors)  # runs churn: not one series each


async def test_jobs_in_flight_and_jobs_ended_are_counted(autojump_clock):
    async def short():
        await trio.sleep(1)

    async def long():
        await trio.sleep(100)

    async with Runtime() as rt:
        metrics = Metrics(rt)
        rt.fire_and_forget(short)
        rt.fire_and_forget(long)
        await trio.sleep(2)
        found = samples(metrics)

    assert found[("arborist_jobs_in_flight", ())] == 1
    assert found[("arborist_jobs_total", (("outcome", "ok"),))] == 1


async def test_schedule_ticks_their_lateness_and_skips_are_counted(autojump_clock):
    async def job():
        await trio.sleep(15)

    async with Runtime() as rt:
        metrics = Metrics(rt)
        rt.schedule("every10", every(seconds=10), job)  # overlap="skip": the tick at 20 skips
        await trio.sleep(31)
        found = samples(metrics)

    assert found[("arborist_schedule_ticks_total", (("schedule", "every10"),))] == 2
    lateness = (("schedule", "every10"),)
    assert found[("arborist_schedule_tick_lateness_seconds_count", lateness)] == 2
    assert found[("arborist_schedule_tick_lateness_seconds_sum", lateness)] == 0
    skipped = (("reason", "overlap"), ("schedule", "every10"))
    assert found[("arborist_schedule_skipped_total", skipped)] == 1
    runs = (("outcome", "ok"), ("schedule", "every10"))
    assert found[("arborist_schedule_runs_total", runs)] == 1


async def test_the_metrics_server_serves_the_registry_over_http():
    async with Runtime() as rt:
        metrics = Metrics(rt)
        await rt.run(_quick())
        async with open_metrics_server(metrics, "127.0.0.1", 0, interval=60) as (host, port):
            body = await trio.to_thread.run_sync(_get, f"http://{host}:{port}/metrics")

    assert 'arborist_runs_total{outcome="ok",workflow="quick"} 1.0' in body
    assert "arborist_actors " in body  # the sample taken when the server started


def _quick():
    wf = Workflow("quick")

    @wf.step
    async def one():
        return 1

    return wf


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


async def test_without_step_labels_steps_are_aggregated_per_workflow(autojump_clock):
    async with Runtime() as rt:
        metrics = Metrics(rt, step_labels=False)
        await rt.run(_orders())
        found = samples(metrics)

    failed = (("outcome", "failed"), ("step", "*"), ("workflow", "orders"))
    ok = (("outcome", "ok"), ("step", "*"), ("workflow", "orders"))
    assert (found[("arborist_steps_total", failed)], found[("arborist_steps_total", ok)]) == (2, 2)
    assert not any(dict(k[1]).get("step") == "charge" for k in found)


async def test_compensations_and_map_elements_are_counted(autojump_clock):
    from arborist.runtime import ContinueWith

    wf = Workflow("mixed", inputs=["items"])

    @wf.step
    async def charge():
        raise ConnectionError("declined")

    @charge.compensate
    async def on_error(error):
        return ContinueWith(0)

    @wf.map(over="items", batch_size=2, outcomes=True)
    async def each(item):
        if item == 2:
            raise ValueError(item)
        return item

    async with Runtime() as rt:
        metrics = Metrics(rt)
        await rt.run(wf, items=[1, 2, 3])
        found = samples(metrics)

    decision = (("decision", "continue"), ("step", "charge"), ("workflow", "mixed"))
    assert found[("arborist_compensations_total", decision)] == 1
    ok = (("outcome", "ok"), ("step", "each"), ("workflow", "mixed"))
    failed = (("outcome", "failed"), ("step", "each"), ("workflow", "mixed"))
    assert found[("arborist_map_elements_total", ok)] == 2
    assert found[("arborist_map_elements_total", failed)] == 1


async def test_metrics_show_their_runtime_in_their_repr_and_stop_counting_when_closed():
    async with Runtime() as rt:
        metrics = Metrics(rt)
        metrics.close()
        await rt.run(_quick())
        found = samples(metrics)

    assert repr(metrics).startswith("<Metrics of ")
    assert not any(name == "arborist_runs_total" for name, _ in found)


def test_metrics_refuse_something_that_is_not_a_runtime():
    with pytest.raises(TypeError, match="takes an open Runtime"):
        Metrics("rt")

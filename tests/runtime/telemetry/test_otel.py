"""OpenTelemetry: runs, attempts, undos, jobs and schedule runs become a tree of spans."""

import pytest
import trio

pytest.importorskip("opentelemetry.sdk", reason="the OpenTelemetry SDK is in the test extra")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from arborist.runtime import Retry, Runtime, Workflow, every
from arborist.runtime.telemetry import instrument


@pytest.fixture
def exporter():
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _by_name(exporter):
    spans = {}
    for span in exporter.get_finished_spans():
        spans.setdefault(span.name, []).append(span)
    return spans


def _flaky():
    wf = Workflow("orders", inputs=["n"])
    tries = []

    @wf.step(retry=Retry(attempts=2, backoff="constant", delay=0.5))
    async def charge(n):
        tries.append(n)
        await trio.sleep(0.25)
        if len(tries) == 1:
            raise ConnectionError("card service down")
        return n * 2

    @wf.step
    async def ship(charge):
        await trio.sleep(1.0)
        return charge

    wf.returns("ship")
    return wf


async def test_a_run_is_a_span_with_one_child_span_per_step_attempt(
    autojump_clock, exporter, provider
):
    async with Runtime() as rt:
        instrument(rt, tracer_provider=provider)
        handle = await rt.start(_flaky(), n=3)
        await handle.result()
    spans = _by_name(exporter)

    (run,) = spans["run orders"]
    charges = sorted(spans["step charge"], key=lambda s: s.attributes["arborist.attempt"])
    (ship,) = spans["step ship"]
    assert [s.parent.span_id for s in [*charges, ship]] == [run.context.span_id] * 3
    assert {s.context.trace_id for s in [*charges, ship]} == {run.context.trace_id}
    assert run.attributes["arborist.run_id"] == handle.run_id
    assert run.attributes["arborist.workflow"] == "orders"
    assert run.attributes["arborist.outcome"] == "ok"
    assert [c.attributes["arborist.outcome"] for c in charges] == ["failed", "ok"]
    assert charges[0].attributes["arborist.final"] is False
    assert ship.attributes["arborist.step"] == "ship"


async def test_span_times_are_trios_durations(autojump_clock, exporter, provider):
    async with Runtime() as rt:
        instrument(rt, tracer_provider=provider)
        await rt.run(_flaky(), n=3)
    spans = _by_name(exporter)

    (run,) = spans["run orders"]
    (ship,) = spans["step ship"]
    assert (ship.end_time - ship.start_time) == 1_000_000_000
    # charge 0.25 + backoff 0.5 + charge 0.25 + ship 1.0
    assert (run.end_time - run.start_time) == 2_000_000_000


async def test_a_failed_attempt_records_its_exception_and_an_error_status(
    autojump_clock, exporter, provider
):
    async with Runtime() as rt:
        instrument(rt, tracer_provider=provider)
        await rt.run(_flaky(), n=3)
    first = min(_by_name(exporter)["step charge"], key=lambda s: s.attributes["arborist.attempt"])

    assert first.status.status_code is StatusCode.ERROR
    (exception,) = [e for e in first.events if e.name == "exception"]
    assert exception.attributes["exception.type"] == "ConnectionError"
    assert exception.attributes["exception.message"] == "card service down"


async def test_a_failed_run_span_records_the_workflow_error(autojump_clock, exporter, provider):
    wf = Workflow("broken")

    @wf.step
    async def boom():
        raise ValueError("no")

    async with Runtime() as rt:
        instrument(rt, tracer_provider=provider)
        with pytest.raises(Exception, match="boom"):
            await rt.run(wf)
    (run,) = _by_name(exporter)["run broken"]

    assert run.attributes["arborist.outcome"] == "failed"
    assert run.status.status_code is StatusCode.ERROR
    (exception,) = [e for e in run.events if e.name == "exception"]
    assert exception.attributes["exception.type"].endswith(".WorkflowFailedError")


async def test_a_run_started_inside_a_callers_span_is_its_child(
    autojump_clock, exporter, provider
):
    tracer = provider.get_tracer("web")
    async with Runtime() as rt:
        instrument(rt, tracer_provider=provider)
        with tracer.start_as_current_span("POST /orders") as request:
            handle = await rt.start(_flaky(), n=1)
        await handle.result()
    (run,) = _by_name(exporter)["run orders"]

    assert run.parent.span_id == request.get_span_context().span_id
    assert run.context.trace_id == request.get_span_context().trace_id


async def test_a_run_started_outside_any_span_is_a_root_span(autojump_clock, exporter, provider):
    async with Runtime() as rt:
        instrument(rt, tracer_provider=provider)
        await rt.run(_flaky(), n=1)
    (run,) = _by_name(exporter)["run orders"]

    assert run.parent is None


async def test_a_child_run_nests_under_the_attempt_of_the_step_that_started_it(
    autojump_clock, exporter, provider
):
    child = Workflow("payment", inputs=["amount"])

    @child.step
    async def authorise(amount):
        await trio.sleep(0.1)
        return amount

    child.returns("authorise")
    parent = Workflow("checkout")

    @parent.step
    async def pay(ctx):
        return await ctx.run(child, amount=5)

    async with Runtime() as rt:
        instrument(rt, tracer_provider=provider)
        handle = await rt.start(parent)
        await handle.result()
    spans = _by_name(exporter)
    (pay_span,) = spans["step pay"]
    (child_run,) = spans["run payment"]
    (inner,) = spans["step authorise"]

    assert child_run.parent.span_id == pay_span.context.span_id
    assert inner.parent.span_id == child_run.context.span_id
    assert child_run.attributes["arborist.parent_run_id"] == handle.run_id
    assert len({s.context.trace_id for s in (pay_span, child_run, inner)}) == 1


async def test_an_undo_is_a_span_of_its_run(autojump_clock, exporter, provider):
    wf = Workflow("saga")

    @wf.step
    async def reserve():
        return "r1"

    @reserve.undo
    async def release(result, arguments):
        await trio.sleep(0.2)

    @wf.step
    async def charge(reserve):
        raise RuntimeError("declined")

    async with Runtime() as rt:
        instrument(rt, tracer_provider=provider)
        with pytest.raises(Exception, match="charge"):
            await rt.run(wf)
    spans = _by_name(exporter)
    (run,) = spans["run saga"]
    (undo,) = spans["undo reserve"]

    assert undo.parent.span_id == run.context.span_id
    assert undo.attributes["arborist.outcome"] == "ok"
    assert undo.end_time - undo.start_time == 200_000_000


async def test_a_pooled_attempt_carries_its_pool_and_its_wait_time(
    autojump_clock, exporter, provider
):
    wf = Workflow("db_work")

    @wf.step(pool="db")
    async def first():
        await trio.sleep(1.0)

    @wf.step(pool="db")
    async def second():
        await trio.sleep(1.0)

    async with Runtime() as rt:
        rt.pool("db", limit=1)
        instrument(rt, tracer_provider=provider)
        await rt.run(wf)
    spans = [s for s in exporter.get_finished_spans() if s.name.startswith("step ")]

    assert {s.attributes["arborist.pool"] for s in spans} == {"db"}
    assert sorted(s.attributes["arborist.wait_time"] for s in spans) == [0.0, 1.0]


async def test_jobs_and_schedule_runs_are_spans(autojump_clock, exporter, provider):
    async def job():
        await trio.sleep(0.5)

    async with Runtime() as rt:
        instrument(rt, tracer_provider=provider)
        rt.fire_and_forget(job, name="email")
        rt.schedule("report", every(seconds=10), job, max_runs=2)
        await trio.sleep(30)
    spans = _by_name(exporter)

    (email,) = spans["job email"]
    assert email.attributes["arborist.outcome"] == "ok"
    ticks = spans["schedule report"]
    assert [s.attributes["arborist.schedule_run"] for s in ticks] == [1, 2]
    assert {s.end_time - s.start_time for s in ticks} == {500_000_000}


async def test_closing_the_tracing_ends_open_spans_and_stops_tracing(
    autojump_clock, exporter, provider
):
    wf = Workflow("slow")

    @wf.step
    async def wait():
        await trio.sleep(10)

    async with Runtime() as rt:
        tracing = instrument(rt, tracer_provider=provider)
        handle = await rt.start(wf)
        await trio.sleep(1)
        tracing.close()
        await handle.result()
    spans = _by_name(exporter)

    assert [s.attributes["arborist.outcome"] for s in spans["run slow"]] == ["unfinished"]
    assert [s.attributes["arborist.outcome"] for s in spans["step wait"]] == ["unfinished"]



async def test_a_compensation_and_map_batches_are_spans_inside_their_attempt(
    autojump_clock, exporter, provider
):
    from arborist.runtime import ContinueWith

    wf = Workflow("mixed", inputs=["items"])

    @wf.step
    async def charge():
        raise ConnectionError("declined")

    @charge.compensate
    async def on_error(error):
        return ContinueWith(0)

    @wf.map(over="items", batch_size=2)
    async def each(item):
        await trio.sleep(1)
        return item

    async with Runtime() as rt:
        instrument(rt, tracer_provider=provider)
        await rt.run(wf, items=[1, 2, 3])
    spans = _by_name(exporter)
    (charge_span,) = spans["step charge"]
    (compensate,) = spans["compensate charge"]
    (each_span,) = spans["step each"]
    batches = spans["map batch each"]

    assert compensate.parent.span_id == charge_span.context.span_id
    assert compensate.attributes["arborist.decision"] == "continue"
    assert [e.attributes["exception.message"] for e in compensate.events] == ["declined"]
    assert {b.parent.span_id for b in batches} == {each_span.context.span_id}
    ranges = sorted(
        (b.attributes["arborist.first"], b.attributes["arborist.count"])
        for b in batches
    )
    assert ranges == [(0, 2), (2, 1)]


async def test_a_run_a_schedule_started_nests_under_that_schedule_runs_span(
    autojump_clock, exporter, provider
):
    async with Runtime() as rt:
        instrument(rt, tracer_provider=provider)
        rt.schedule("hourly", every(seconds=3600), _flaky(), inputs={"n": 1}, max_runs=1)
        await trio.sleep(3700)
    spans = _by_name(exporter)
    (tick,) = spans["schedule hourly"]
    (run,) = spans["run orders"]

    assert run.parent.span_id == tick.context.span_id


async def test_a_tracing_says_how_many_runs_it_has_open_and_when_it_is_closed(provider):
    async with Runtime() as rt:
        tracing = instrument(rt, tracer_provider=provider)
        opened = repr(tracing)
        tracing.close()

    assert opened == "<Tracing 0 runs open>"
    assert repr(tracing) == "<Tracing closed>"


async def test_the_event_clock_maps_trio_time_to_epoch_time_keeping_durations():
    from arborist.runtime.telemetry import EventClock

    clock = EventClock()
    now = trio.current_time()

    assert clock.ns(now + 1.5) - clock.ns(now) == 1_500_000_000
    assert clock.seconds(now + 2) - clock.seconds(now) == pytest.approx(2.0)
    assert repr(clock).startswith("<EventClock trio ")


def test_instrument_refuses_something_that_is_not_a_runtime():
    with pytest.raises(TypeError, match="takes an open Runtime"):
        instrument(object())


def _double(x):
    return x * 2


async def test_an_attempt_on_an_executor_names_it(exporter, provider):
    from arborist.runtime.executors import ThreadExecutor

    wf = Workflow("remote", inputs=["x"])
    wf.step(_double, name="double", executor="threads")
    wf.returns("double")

    async with Runtime(executors={"threads": ThreadExecutor(1)}) as rt:
        instrument(rt, tracer_provider=provider)
        assert await rt.run(wf, x=4) == 8
    (span,) = _by_name(exporter)["step double"]

    assert span.attributes["arborist.executor"] == "threads"

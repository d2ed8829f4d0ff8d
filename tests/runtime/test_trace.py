"""handle.trace(): a run's timeline in the Chrome trace-event format (Perfetto, chrome://tracing)."""

import json

import trio

from arborist.runtime import Retry, Runtime, Workflow
from arborist.runtime.engine import StepRecord, chrome_trace


def _flaky():
    wf = Workflow("orders")
    tries = []

    @wf.step(retry=Retry(attempts=3, backoff="constant", delay=0.5))
    async def charge():
        tries.append(1)
        await trio.sleep(0.25)
        if len(tries) < 3:
            raise ConnectionError("down")

    @wf.step
    async def ship(charge):
        await trio.sleep(1.0)

    @wf.step(when=lambda: False)
    async def gift():
        pass

    return wf


async def test_a_trace_has_one_complete_event_per_attempt_with_its_times(autojump_clock):
    async with Runtime() as rt:
        handle = await rt.start(_flaky())
        await handle.result()
    trace = handle.trace()

    complete = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert [(e["name"], e["ts"], e["dur"], e["cat"]) for e in complete] == [
        ("charge", 0.0, 250_000.0, "failed"),
        ("charge", 750_000.0, 250_000.0, "failed"),
        ("charge", 1_500_000.0, 250_000.0, "ok"),
        ("ship", 1_750_000.0, 1_000_000.0, "ok"),
    ]
    assert [e["args"]["attempt"] for e in complete] == [1, 2, 3, 1]
    assert {(e["pid"], e["tid"]) for e in complete if e["name"] == "charge"} == {(1, 2)}


def test_every_event_has_the_fields_the_trace_viewers_need():
    records = [StepRecord("a", 1, 10.0, 10.5, "ok"), StepRecord("b", 0, 10.5, 10.5, "skipped")]
    trace = chrome_trace(records, 10.0, run_id="wf-1", workflow="wf", end=11.0)

    for event in trace["traceEvents"]:
        assert {"name", "ph", "pid", "tid"} <= event.keys()
        if event["ph"] == "X":
            assert {"ts", "dur"} <= event.keys()
    assert json.loads(json.dumps(trace)) == trace
    assert trace["displayTimeUnit"] == "ms"
    assert trace["otherData"] == {"run_id": "wf-1", "workflow": "wf", "duration_ms": 1000.0}


def test_each_step_is_a_named_thread_row_and_the_run_the_named_process():
    records = [StepRecord("load", 1, 0.0, 1.0, "ok"), StepRecord("save", 1, 1.0, 2.0, "ok")]
    trace = chrome_trace(records, 0.0, run_id="wf-7", workflow="wf")

    meta = [e for e in trace["traceEvents"] if e["ph"] == "M"]
    names = {(e["name"], e["tid"]): e["args"]["name"] for e in meta}
    assert names == {
        ("process_name", 0): "wf-7",
        ("thread_name", 1): "load",
        ("thread_name", 2): "save",
    }


def test_a_skipped_step_is_an_instant_event():
    skipped = StepRecord("gift", 0, 2.0, 2.0, "skipped")
    trace = chrome_trace([skipped], 0.0, run_id="r", workflow="w")

    (instant,) = [e for e in trace["traceEvents"] if e["ph"] == "i"]
    assert (instant["name"], instant["ts"], instant["cat"]) == ("gift", 2_000_000.0, "skipped")

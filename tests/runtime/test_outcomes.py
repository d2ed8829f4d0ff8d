"""Outcomes (Durable's complete_all): a step taking another as ``outcome()`` receives
``outcome.Value``/``outcome.Error``, and that step's failure does not fail the run."""

import pytest
import trio
from outcome import Error, Value

from arborist.runtime import (
    Runtime,
    StepFailed,
    StepSkipped,
    StepSkippedError,
    Workflow,
    WorkflowFailedError,
    outcome,
)


class Unavailable(Exception):
    pass


def dashboard(*, orders_fail=False, metrics_fail=False):
    """Durable's dashboard: three fetches in parallel, then a step that takes all three."""
    wf = Workflow("dashboard", inputs=["user_id"])

    @wf.step
    async def fetch_orders(user_id):
        await trio.sleep(0.2)
        if orders_fail:
            raise Unavailable("orders service down")
        return ["o1", "o2"]

    @wf.step
    async def fetch_metrics(user_id):
        await trio.sleep(0.3)
        if metrics_fail:
            raise Unavailable("metrics service down")
        return {"visits": 3}

    @wf.step
    async def fetch_notifications(user_id):
        await trio.sleep(0.1)
        return ["hello"]

    @wf.step(
        args={
            "orders": outcome("fetch_orders"),
            "metrics": outcome("fetch_metrics"),
            "notifications": outcome("fetch_notifications"),
        }
    )
    def build_dashboard(orders, metrics, notifications):
        results = {"orders": orders, "metrics": metrics, "notifications": notifications}
        return {
            "orders": orders.value if isinstance(orders, Value) else [],
            "metrics": metrics.value if isinstance(metrics, Value) else {},
            "failed": sorted(name for name, r in results.items() if isinstance(r, Error)),
        }

    wf.returns("build_dashboard")
    return wf


async def test_an_outcome_argument_receives_the_producers_value_wrapped_in_outcome_value(
    autojump_clock,
):
    wf = Workflow("wrapped")

    @wf.step
    async def fetch():
        return 42

    @wf.step(args={"fetched": outcome("fetch")})
    async def report(fetched):
        return fetched

    wf.returns("report")
    async with Runtime(seed=0) as rt:
        assert await rt.run(wf) == Value(42)


async def test_an_outcome_argument_receives_the_producers_exception_as_outcome_error(
    autojump_clock,
):
    wf = Workflow("wrapped_error")
    boom = Unavailable("down")

    @wf.step
    async def fetch():
        raise boom

    @wf.step(args={"fetched": outcome("fetch")})
    async def report(fetched):
        return fetched

    wf.returns("report")
    async with Runtime(seed=0) as rt:
        received = await rt.run(wf)
    assert isinstance(received, Error)
    assert received.error is boom


async def test_a_failure_taken_as_an_outcome_does_not_fail_the_run_and_is_still_reported(
    autojump_clock,
):
    events = []
    async with Runtime(seed=0) as rt:
        rt.subscribe(events.append)
        result = await rt.run(dashboard(orders_fail=True), user_id=1)
        assert trio.current_time() == 0.3
    assert result == {"orders": [], "metrics": {"visits": 3}, "failed": ["orders"]}
    [failed] = [e for e in events if isinstance(e, StepFailed)]
    assert (failed.step, failed.final, str(failed.error)) == (
        "fetch_orders",
        True,
        "orders service down",
    )


async def test_a_step_taking_several_outcomes_runs_once_all_of_them_finished_either_way(
    autojump_clock,
):
    async with Runtime(seed=0) as rt:
        everything = await rt.run(dashboard(), user_id=1)
        both_down = await rt.run(dashboard(orders_fail=True, metrics_fail=True), user_id=1)
    assert everything == {"orders": ["o1", "o2"], "metrics": {"visits": 3}, "failed": []}
    assert both_down == {"orders": [], "metrics": {}, "failed": ["metrics", "orders"]}


async def test_each_outcome_consumer_gets_its_own_outcome_so_both_can_unwrap_it(autojump_clock):
    wf = Workflow("two_consumers")

    @wf.step
    async def fetch():
        return "data"

    @wf.step(args={"fetched": outcome("fetch")})
    async def first(fetched):
        return fetched.unwrap()

    @wf.step(args={"fetched": outcome("fetch")})
    async def second(fetched):
        return fetched.unwrap()

    @wf.step
    async def both(first, second):
        return (first, second)

    wf.returns("both")
    async with Runtime(seed=0) as rt:
        assert await rt.run(wf) == ("data", "data")


async def test_a_step_needing_the_value_of_a_failed_step_is_skipped_because_of_it(
    autojump_clock,
):
    events = []
    ran = []
    wf = Workflow("needs_value")

    @wf.step
    async def fetch():
        raise Unavailable("down")

    @wf.step
    async def use(fetch):
        ran.append("use")

    @wf.step(args={"fetched": outcome("fetch")})
    async def report(fetched):
        return "reported"

    wf.returns("report")
    async with Runtime(seed=0) as rt:
        rt.subscribe(events.append)
        assert await rt.run(wf) == "reported"
    assert ran == []
    [skipped] = [e for e in events if isinstance(e, StepSkipped)]
    assert (skipped.step, skipped.because) == ("use", "fetch")


async def test_skips_cascade_and_each_names_the_step_it_was_waiting_for(autojump_clock):
    events = []
    wf = Workflow("cascade")

    @wf.step
    async def fetch():
        raise Unavailable("down")

    @wf.step
    async def parse(fetch):
        return fetch

    @wf.step
    async def store(parse):
        return parse

    @wf.step(args={"stored": outcome("store"), "fetched": outcome("fetch")})
    async def audit(stored, fetched):
        return (stored.error, fetched.error)

    wf.returns("audit")
    async with Runtime(seed=0) as rt:
        rt.subscribe(events.append)
        stored_error, fetched_error = await rt.run(wf)
    assert [(e.step, e.because) for e in events if isinstance(e, StepSkipped)] == [
        ("parse", "fetch"),
        ("store", "parse"),
    ]
    assert isinstance(stored_error, StepSkippedError)
    assert (stored_error.step, stored_error.because) == ("store", "parse")
    assert isinstance(fetched_error, Unavailable)


async def test_a_run_whose_returned_step_was_skipped_fails_naming_that_step_and_why(
    autojump_clock,
):
    wf = Workflow("returns_skipped")

    @wf.step
    async def fetch():
        raise Unavailable("down")

    @wf.step
    async def parse(fetch):
        return fetch

    @wf.step(args={"fetched": outcome("fetch")})
    async def log_it(fetched):
        return None

    wf.returns("parse")
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    error = info.value
    assert error.step == "parse"
    assert isinstance(error.cause, StepSkippedError)
    assert error.cause.because == "fetch"
    assert error.failed == ("fetch",)
    assert error.skipped == ("parse",)
    assert error.completed == ("log_it",)


async def test_the_returned_step_failing_fails_the_run_even_when_taken_as_an_outcome(
    autojump_clock,
):
    wf = Workflow("returns_failing")

    @wf.step
    async def fetch():
        await trio.sleep(1.0)
        raise Unavailable("down")

    @wf.step(args={"fetched": outcome("fetch")})
    async def log_it(fetched):
        return None

    wf.returns("fetch")
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert info.value.step == "fetch"
    assert isinstance(info.value.cause, Unavailable)


async def test_a_step_returning_an_outcome_object_passes_it_through_as_its_value(autojump_clock):
    wf = Workflow("returns_outcome")

    @wf.step
    async def probe():
        return Error(Unavailable("recorded, not raised"))

    @wf.step
    async def inspect_it(probe):
        return type(probe).__name__

    wf.returns("inspect_it")
    async with Runtime(seed=0) as rt:
        assert await rt.run(wf) == "Error"

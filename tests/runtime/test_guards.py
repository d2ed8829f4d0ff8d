"""Guards: ``when=`` skips a step; skips propagate to value dependents, not to outcome
consumers; ``case()`` routes like a switch; guard-only arguments reach the guard alone."""

import pytest
import trio
from outcome import Error

from arborist.runtime import (
    Runtime,
    StepFailed,
    StepSkipped,
    StepSkippedError,
    StepStarted,
    Workflow,
    WorkflowDefinitionError,
    WorkflowFailedError,
    case,
    outcome,
)


class Boom(Exception):
    pass


async def test_a_false_guard_skips_the_step_without_calling_it(autojump_clock):
    calls = []
    events = []
    wf = Workflow("guarded", inputs=["notify"])

    @wf.step(when=lambda notify: notify)
    async def send_sms(notify):
        calls.append("sms")

    async with Runtime(seed=0) as rt:
        rt.subscribe(events.append)
        skipping = await rt.start(wf, notify=False)
        await skipping.result()
        running = await rt.start(wf, notify=True)
        await running.result()
    assert calls == ["sms"]
    skips = [e for e in events if isinstance(e, StepSkipped)]
    assert [(e.run_id, e.step, e.because) for e in skips] == [(skipping.run_id, "send_sms", None)]
    assert [e.run_id for e in events if isinstance(e, StepStarted)] == [running.run_id]


async def test_a_guard_sees_the_results_of_the_steps_it_names(autojump_clock):
    calls = []
    wf = Workflow("by_result")

    @wf.step
    async def stock():
        await trio.sleep(1.0)
        return 0

    @wf.step(when=lambda stock: stock > 0)
    async def ship(stock):
        calls.append(stock)

    async with Runtime(seed=0) as rt:
        await rt.run(wf)
    assert calls == []


async def test_a_skip_propagates_to_value_dependents_and_names_the_step_they_waited_for(
    autojump_clock,
):
    events = []
    calls = []
    wf = Workflow("propagate")

    @wf.step(when=lambda: False)
    async def optional():
        calls.append("optional")

    @wf.step
    async def uses(optional):
        calls.append("uses")

    @wf.step
    async def uses_that(uses):
        calls.append("uses_that")

    @wf.step
    async def independent():
        calls.append("independent")

    async with Runtime(seed=0) as rt:
        rt.subscribe(events.append)
        await rt.run(wf)
    assert calls == ["independent"]
    assert [(e.step, e.because) for e in events if isinstance(e, StepSkipped)] == [
        ("optional", None),
        ("uses", "optional"),
        ("uses_that", "uses"),
    ]


async def test_a_skip_does_not_propagate_to_an_outcome_consumer_which_gets_a_skip_error(
    autojump_clock,
):
    wf = Workflow("outcome_of_skip")

    @wf.step(when=lambda: False)
    async def optional():
        return "never"

    @wf.step(args={"got": outcome("optional")})
    async def summary(got):
        return got

    wf.returns("summary")
    async with Runtime(seed=0) as rt:
        got = await rt.run(wf)
    assert isinstance(got, Error)
    assert isinstance(got.error, StepSkippedError)
    assert (got.error.step, got.error.because) == ("optional", None)
    assert str(got.error) == "step 'optional' was skipped: its guard returned false"


async def test_wait_for_a_skipped_step_skips_the_waiting_step(autojump_clock):
    calls = []
    wf = Workflow("wait_for_skip")

    @wf.step(when=lambda: False)
    async def migrate():
        calls.append("migrate")

    @wf.step(wait_for=["migrate"])
    async def serve():
        calls.append("serve")

    async with Runtime(seed=0) as rt:
        await rt.run(wf)
    assert calls == []


def order_workflow(calls):
    """Seed 002's order processing: route on the checks, then one branch runs."""
    wf = Workflow("order_processing", inputs=["in_stock", "card_ok"])

    @wf.step
    async def route(in_stock, card_ok):
        if not in_stock:
            return "backorder"
        return "fulfill" if card_ok else "payment_issue"

    @wf.step(when=case(route="fulfill"))
    async def fulfill_order():
        calls.append("fulfill")
        return "fulfilled"

    @wf.step(when=case(route="payment_issue"))
    async def handle_payment_issue():
        calls.append("payment_issue")
        return "needs payment retry"

    @wf.step(when=case(route="backorder"))
    async def handle_backorder():
        calls.append("backorder")
        return "backordered"

    return wf


@pytest.mark.parametrize(
    ("in_stock", "card_ok", "branch"),
    [(True, True, "fulfill"), (True, False, "payment_issue"), (False, True, "backorder")],
)
async def test_case_routes_to_exactly_the_branch_whose_value_matches(
    autojump_clock, in_stock, card_ok, branch
):
    calls = []
    events = []
    async with Runtime(seed=0) as rt:
        rt.subscribe(events.append)
        await rt.run(order_workflow(calls), in_stock=in_stock, card_ok=card_ok)
    assert calls == [branch]
    assert len([e for e in events if isinstance(e, StepSkipped)]) == 2


async def test_case_compares_several_names_and_inputs_at_once(autojump_clock):
    wf = Workflow("two_keys", inputs=["region"])

    @wf.step
    async def tier():
        return "gold"

    @wf.step(when=case(tier="gold", region="eu"))
    async def eu_gold_offer():
        return "offer"

    @wf.step(args={"offer": outcome("eu_gold_offer")})
    async def result(offer):
        return isinstance(offer, Error)

    wf.returns("result")
    async with Runtime(seed=0) as rt:
        assert await rt.run(wf, region="eu") is False
        assert await rt.run(wf, region="us") is True


def test_case_without_names_is_refused_with_an_example():
    with pytest.raises(TypeError, match=r"case\(\) takes at least one name=value pair"):
        case()


async def test_a_guard_only_argument_is_awaited_and_given_to_the_guard_but_not_the_function(
    autojump_clock,
):
    received = []
    wf = Workflow("guard_only", inputs=["user"])

    @wf.step
    async def is_vip(user):
        await trio.sleep(2.0)
        return user == "ann"

    @wf.step(when=lambda is_vip: is_vip)
    async def send_gift(user):
        received.append((user, trio.current_time()))

    async with Runtime(seed=0) as rt:
        await rt.run(wf, user="ann")
        await rt.run(wf, user="bob")
    assert received == [("ann", 2.0)]
    assert wf.steps["send_gift"].guard_only == frozenset({"is_vip"})


def test_an_async_guard_is_refused_at_definition():
    wf = Workflow("async_guard")

    async def guard():
        return True

    with pytest.raises(WorkflowDefinitionError, match="is async; guards run in the coordinator"):

        @wf.step(when=guard)
        async def step():
            pass


async def test_a_guard_that_raises_fails_the_run_at_that_step(autojump_clock):
    events = []
    wf = Workflow("bad_guard")

    def guard():
        raise Boom("guard bug")

    @wf.step(when=guard)
    async def step():
        pass

    async with Runtime(seed=0) as rt:
        rt.subscribe(events.append)
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert info.value.step == "step"
    assert isinstance(info.value.cause, Boom)
    assert [e.step for e in events if isinstance(e, StepStarted)] == []
    assert [(e.step, e.final) for e in events if isinstance(e, StepFailed)] == [("step", True)]


async def test_a_failed_run_lists_the_steps_skipped_before_it_failed(autojump_clock):
    wf = Workflow("skipped_then_failed")

    @wf.step(when=lambda: False)
    async def optional():
        pass

    @wf.step
    async def after_optional(optional):
        pass

    @wf.step
    async def broken():
        await trio.sleep(1.0)
        raise Boom("broken")

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert info.value.skipped == ("optional", "after_optional")
    assert info.value.step == "broken"


async def test_a_returned_step_skipped_by_its_guard_fails_the_run_and_rolls_back(autojump_clock):
    undone = []
    wf = Workflow("returns_guarded")

    @wf.step
    async def reserve():
        return "seat"

    @reserve.undo
    async def release(seat, arguments):
        undone.append(seat)

    @wf.step(when=lambda reserve: reserve == "no seat")
    async def confirm(reserve):
        return "confirmed"

    wf.returns("confirm")
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(wf)
    assert info.value.step == "confirm"
    assert isinstance(info.value.cause, StepSkippedError)
    assert info.value.undone == ("reserve",)
    assert undone == ["seat"]

"""Composition: a workflow as a step of another (``wf.include``) and child runs started from a
step (``ctx.run``): results, rollback with the parent, shared pools, cancellation."""

import pytest
import trio

from arborist.runtime import (
    Runtime,
    Workflow,
    WorkflowCancelledError,
    WorkflowFailedError,
)


class Boom(Exception):
    pass


def payment_workflow(log):
    """Child: reserve -> charge, both undoable; returns the charge id."""
    child = Workflow("payment", inputs=["amount"])

    @child.step
    async def reserve(amount):
        await trio.sleep(1.0)
        log.append(("reserve", amount, trio.current_time()))
        return f"hold-{amount}"

    @reserve.undo
    async def release(hold, arguments):
        log.append(("release", hold, trio.current_time()))

    @child.step
    async def charge(reserve, amount):
        await trio.sleep(1.0)
        log.append(("charge", amount, trio.current_time()))
        return f"ch-{amount}"

    @charge.undo
    async def refund(charge_id, arguments):
        log.append(("refund", charge_id, trio.current_time()))

    child.returns("charge")
    return child


async def test_an_included_workflow_returns_the_childs_result_as_the_steps_value(autojump_clock):
    log = []
    parent = Workflow("checkout", inputs=["total"])
    parent.include(payment_workflow(log), name="payment", args={"amount": _input("total")})

    @parent.step
    async def receipt(payment):
        return f"receipt for {payment}"

    parent.returns("receipt")
    async with Runtime(seed=0) as rt:
        assert await rt.run(parent, total=30) == "receipt for ch-30"
        assert trio.current_time() == 2.0


def _input(name):
    from arborist.runtime import input as input_ref

    return input_ref(name)


async def test_a_parent_failure_after_an_include_undoes_the_childs_steps_after_its_own(
    autojump_clock,
):
    log = []
    parent = Workflow("checkout", inputs=["amount"])

    @parent.step
    async def cart(amount):
        log.append(("cart", amount, trio.current_time()))
        return "cart-1"

    @cart.undo
    async def empty_cart(cart_id, arguments):
        log.append(("empty", cart_id, trio.current_time()))

    parent.include(payment_workflow(log), name="payment", wait_for=["cart"])

    @parent.step
    async def ship(payment):
        await trio.sleep(1.0)
        log.append(("ship", payment, trio.current_time()))
        return "parcel-1"

    @ship.undo
    async def recall(parcel, arguments):
        log.append(("recall", parcel, trio.current_time()))

    @parent.step
    async def notify(ship):
        await trio.sleep(1.0)
        raise Boom("mail down")

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(parent, amount=30)
    error = info.value
    assert error.step == "notify"
    assert error.completed == ("cart", "payment", "ship")
    assert error.undone == ("ship", "payment/charge", "payment/reserve", "cart")
    assert [entry[0] for entry in log] == [
        "cart",
        "reserve",
        "charge",
        "ship",
        "recall",
        "refund",
        "release",
        "empty",
    ]
    assert log[-4:] == [
        ("recall", "parcel-1", 4.0),
        ("refund", "ch-30", 4.0),
        ("release", "hold-30", 4.0),
        ("empty", "cart-1", 4.0),
    ]


async def test_a_child_started_with_ctx_run_is_undone_when_the_parent_fails_later(
    autojump_clock,
):
    log = []
    child = payment_workflow(log)
    parent = Workflow("manual")

    @parent.step
    async def pay(ctx):
        first = await ctx.run(child, amount=10)
        second = await ctx.run(child, amount=20)
        return [first, second]

    @parent.step
    async def fail_later(pay):
        raise Boom("later")

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(parent)
    assert info.value.undone == ("pay/charge", "pay/reserve", "pay/charge", "pay/reserve")
    assert [(kind, what) for kind, what, _ in log if kind in ("refund", "release")] == [
        ("refund", "ch-20"),
        ("release", "hold-20"),
        ("refund", "ch-10"),
        ("release", "hold-10"),
    ]


async def test_a_failing_child_rolls_itself_back_and_fails_the_including_step(autojump_clock):
    log = []
    child = Workflow("child")

    @child.step
    async def create():
        log.append("create")
        return "row"

    @create.undo
    async def delete(row, arguments):
        log.append("delete")

    @child.step
    async def validate(create):
        raise Boom("invalid")

    parent = Workflow("parent")
    parent.include(child, name="nested")
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(parent)
    outer = info.value
    assert outer.step == "nested"
    assert isinstance(outer.cause, WorkflowFailedError)
    assert outer.cause.step == "validate"
    assert outer.cause.undone == ("create",)
    assert outer.undone == ()
    assert log == ["create", "delete"]


async def test_a_child_run_shares_the_runtimes_named_pools(autojump_clock):
    running = []
    peak = []
    child = Workflow("query", inputs=["n"])

    @child.step(pool="db")
    async def select(n):
        running.append(n)
        peak.append(len(running))
        await trio.sleep(1.0)
        running.remove(n)
        return n

    child.returns("select")
    parent = Workflow("fan_out")
    for i in range(4):
        parent.include(child, name=f"q{i}", args={"n": _value(i)})

    @parent.step(pool="db")
    async def direct():
        running.append("direct")
        peak.append(len(running))
        await trio.sleep(1.0)
        running.remove("direct")

    async with Runtime(seed=0) as rt:
        rt.pool("db", limit=2)
        await rt.run(parent)
        assert trio.current_time() == 3.0  # 5 queries of 1 s through 2 slots
    assert max(peak) == 2


def _value(constant):
    from arborist.runtime import value

    return value(constant)


async def test_cancelling_the_parent_run_cancels_the_child_run_and_undoes_both(autojump_clock):
    log = []
    child = Workflow("slow_child")

    @child.step
    async def step_one():
        log.append(("one", trio.current_time()))
        return 1

    @step_one.undo
    async def undo_one(result, arguments):
        log.append(("undo one", trio.current_time()))

    @child.step
    async def step_two(step_one):
        try:
            await trio.sleep(10.0)
        except trio.Cancelled:
            log.append(("two cancelled", trio.current_time()))
            raise

    parent = Workflow("parent")
    parent.include(child, name="nested")
    async with Runtime(seed=0) as rt:
        handle = await rt.start(parent)
        await trio.sleep(2.0)
        handle.cancel()
        with pytest.raises(WorkflowCancelledError) as info:
            await handle.result()
        await trio.sleep(20.0)
    assert info.value.cancelled == ("nested",)
    assert log == [("one", 0.0), ("two cancelled", 2.0), ("undo one", 2.0)]


async def test_a_parent_failure_while_a_child_runs_rolls_the_child_back_before_the_run_ends(
    autojump_clock,
):
    log = []
    child = payment_workflow(log)
    parent = Workflow("racing")
    parent.include(child, name="payment", args={"amount": _value(5)})

    @parent.step
    async def fraud_check():
        await trio.sleep(1.5)  # reserve has completed, charge is in flight
        raise Boom("fraud")

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(parent)
        assert trio.current_time() == 1.5
    assert info.value.cancelled == ("payment",)
    assert log == [("reserve", 5, 1.0), ("release", "hold-5", 1.5)]


def _undoable_child(log):
    child = Workflow("row")

    @child.step
    async def create():
        log.append("create")
        return "row"

    @create.undo
    async def delete(row, arguments):
        log.append("delete")

    return child


async def test_a_child_run_completed_by_a_step_that_then_fails_is_undone(autojump_clock):
    log = []
    child = _undoable_child(log)
    parent = Workflow("parent")

    @parent.step
    async def outer(ctx):
        await ctx.run(child)
        raise Boom("after the child")

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(parent)
    assert info.value.undone == ("outer/create",)
    assert log == ["create", "delete"]


async def test_a_child_run_completed_by_a_step_that_is_then_cancelled_is_undone(autojump_clock):
    log = []
    child = _undoable_child(log)
    parent = Workflow("parent")

    @parent.step
    async def outer(ctx):
        await ctx.run(child)
        await trio.sleep(10.0)

    @parent.step
    async def broken():
        await trio.sleep(1.0)
        raise Boom("broken")

    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(parent)
    assert info.value.cancelled == ("outer",)
    assert info.value.undone == ("outer/create",)
    assert log == ["create", "delete"]


async def test_when_a_sub_workflow_map_fails_the_elements_that_completed_are_undone(
    autojump_clock,
):
    log = []
    child = Workflow("open_account", inputs=["n"])

    @child.step
    async def open_it(n):
        await trio.sleep(n)
        if n == 3:
            raise Boom("rejected")
        log.append(f"open {n}")
        return n

    @open_it.undo
    async def close_it(n, arguments):
        log.append(f"close {n}")

    parent = Workflow("accounts", inputs=["ns"])
    parent.map(over="ns", workflow=child, name="accounts")
    async with Runtime(seed=0) as rt:
        with pytest.raises(WorkflowFailedError) as info:
            await rt.run(parent, ns=[1, 2, 3, 4])
    assert info.value.step == "accounts"
    assert log == ["open 1", "open 2", "close 2", "close 1"]


async def test_a_child_undo_that_hangs_holds_the_parents_cancellation_only_for_the_shutdown_time(
    autojump_clock,
):
    child = Workflow("child")

    @child.step
    async def create():
        return "created"

    @create.undo
    async def never_undone(result, arguments):
        await trio.sleep_forever()

    @child.step
    async def wait(create):
        await trio.sleep_forever()

    parent = Workflow("parent")

    @parent.step
    async def run_child(ctx):
        return await ctx.run(child)

    async with Runtime(seed=0, shutdown_timeout=2.0) as rt:
        handle = await rt.start(parent)
        await trio.sleep(1.0)
        handle.cancel()
        with pytest.raises(WorkflowCancelledError):
            await handle.result()
        assert trio.current_time() == 3.0  # 1.0 + the 2.0 s shutdown time, not forever


async def test_a_child_run_that_completes_the_moment_its_parent_is_cancelled_is_undone(
    autojump_clock,
):
    # The child's last step returns as it cancels the parent: the two coordinators then run
    # in either order (trio picks), and in about half the runs the parent's step is cancelled
    # after the child has already succeeded. Twenty runs make missing that order unlikely.
    logs = []
    async with Runtime(seed=0) as rt:
        for _ in range(20):
            log = []
            handles = []
            child = Workflow("child")

            @child.step
            async def create(log=log, handles=handles):
                log.append("create")
                handles[0].cancel()
                return "thing"

            @create.undo
            async def delete(result, arguments, log=log):
                log.append("delete")

            parent = Workflow("parent")

            @parent.step
            async def outer(ctx, child=child):
                return await ctx.run(child)

            handles.append(await rt.start(parent))
            with pytest.raises(WorkflowCancelledError):
                await handles[0].result()
            logs.append(log)
    assert logs == [["create", "delete"]] * 20

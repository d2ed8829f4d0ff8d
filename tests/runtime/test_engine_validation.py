"""rt.run and rt.start raise every definition and input error before any step runs."""

import pytest
import trio
import trio.testing

from arborist.runtime import (
    Runtime,
    Workflow,
    WorkflowDefinitionError,
    WorkflowInputError,
    result,
)
from arborist.runtime._runtime import RUNS


def _side_effect_workflow(ran, *, inputs=("user_id",)):
    """A workflow whose root step records that it ran (proof that nothing ran)."""
    wf = Workflow("checked", inputs=list(inputs))

    @wf.step
    async def root():
        ran.append("root")
        return 1

    return wf


async def _assert_nothing_ran(rt, ran):
    await trio.testing.wait_all_tasks_blocked()
    assert ran == []
    assert await rt._dynamic(RUNS).which_children() == []


async def test_an_unknown_argument_is_raised_by_start_before_any_step_runs():
    ran = []
    wf = _side_effect_workflow(ran)

    @wf.step
    async def later(root, missing_thing):
        return None

    async with Runtime() as rt:
        with pytest.raises(WorkflowDefinitionError, match="'missing_thing'"):
            await rt.start(wf, user_id=1)
        await _assert_nothing_ran(rt, ran)


async def test_a_cycle_is_raised_by_run_before_any_step_runs_and_the_message_shows_it():
    ran = []
    wf = _side_effect_workflow(ran)

    @wf.step(args={"x": result("pong")})
    async def ping(root, x):
        return None

    @wf.step
    async def pong(ping):
        return None

    async with Runtime() as rt:
        with pytest.raises(WorkflowDefinitionError, match="ping -> pong -> ping"):
            await rt.run(wf, user_id=1)
        await _assert_nothing_ran(rt, ran)


async def test_missing_inputs_are_raised_before_any_step_runs():
    ran = []
    wf = _side_effect_workflow(ran, inputs=("user_id", "org_id"))
    async with Runtime() as rt:
        with pytest.raises(WorkflowInputError, match="missing input 'org_id'") as info:
            await rt.run(wf, user_id=1)
        await _assert_nothing_ran(rt, ran)
    assert info.value.missing == ("org_id",)


async def test_unexpected_inputs_are_raised_before_any_step_runs():
    ran = []
    wf = _side_effect_workflow(ran)
    async with Runtime() as rt:
        with pytest.raises(WorkflowInputError, match="unexpected input 'user'") as info:
            await rt.start(wf, user_id=1, user=2)
        await _assert_nothing_ran(rt, ran)
    assert info.value.unexpected == ("user",)


async def test_a_run_pool_the_runtime_does_not_have_is_raised_before_any_step_runs():
    ran = []
    wf = _side_effect_workflow(ran)
    async with Runtime() as rt:
        rt.pool("db", limit=2)
        with pytest.raises(WorkflowDefinitionError, match=r"pool 'cache'.*known: db.*rt\.pool"):
            await rt.run(wf, user_id=1, pool="cache")
        await _assert_nothing_ran(rt, ran)


async def test_a_step_pool_the_runtime_does_not_have_is_raised_before_any_step_runs():
    ran = []
    wf = _side_effect_workflow(ran)

    @wf.step(pool="db")
    async def query(root):
        return None

    async with Runtime() as rt:
        with pytest.raises(WorkflowDefinitionError, match="step 'query' uses pool 'db'"):
            await rt.run(wf, user_id=1)
        await _assert_nothing_ran(rt, ran)


async def test_an_input_named_like_an_option_and_passed_as_a_keyword_is_taken_as_the_option():
    ran = []
    wf = _side_effect_workflow(ran, inputs=("max_concurrency",))
    async with Runtime() as rt:
        with pytest.raises(WorkflowInputError, match="missing input 'max_concurrency'"):
            await rt.run(wf, max_concurrency=3)
        await _assert_nothing_ran(rt, ran)


async def test_an_input_given_both_in_inputs_and_as_a_keyword_is_refused():
    ran = []
    wf = _side_effect_workflow(ran)
    async with Runtime() as rt:
        with pytest.raises(TypeError, match="'user_id' was given twice"):
            await rt.run(wf, inputs={"user_id": 1}, user_id=2)
        await _assert_nothing_ran(rt, ran)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
async def test_a_max_concurrency_that_is_not_a_positive_int_is_refused(bad):
    ran = []
    wf = _side_effect_workflow(ran)
    async with Runtime() as rt:
        with pytest.raises(
            (TypeError, ValueError), match=rf"max_concurrency must be a positive int.*{bad!r}"
        ):
            await rt.run(wf, user_id=1, max_concurrency=bad)
        await _assert_nothing_ran(rt, ran)


async def test_running_something_that_is_not_a_workflow_is_a_type_error():
    async with Runtime() as rt:
        with pytest.raises(TypeError, match="take a Workflow"):
            await rt.run(lambda: None)


async def test_running_on_a_runtime_that_is_not_open_says_how_to_open_it():
    wf = _side_effect_workflow([])
    with pytest.raises(RuntimeError, match="async with Runtime"):
        await Runtime().run(wf, user_id=1)

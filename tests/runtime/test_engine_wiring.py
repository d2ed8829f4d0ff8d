"""The engine wires each step's arguments at run time: by name, explicitly, and with a context."""

import uuid

import trio

from arborist.runtime import Runtime, StepContext, Workflow, input, result, value


async def test_a_parameter_named_like_an_input_or_a_step_receives_its_value_at_run_time():
    wf = Workflow("by_name", inputs=["user_id"])

    @wf.step
    async def profile(user_id):
        return {"id": user_id, "name": "Ada"}

    @wf.step
    def greeting(profile, user_id):
        return f"hello {profile['name']} ({user_id})"

    wf.returns("greeting")
    async with Runtime() as rt:
        assert await rt.run(wf, user_id=7) == "hello Ada (7)"


async def test_explicit_wiring_passes_an_input_path_a_result_path_and_a_constant():
    wf = Workflow("explicit", inputs=["order"])

    @wf.step
    async def profile():
        return {"user": {"tags": ["gold", "early"]}}

    @wf.step(
        args={
            "order_id": input("order", "id"),
            "tag": result("profile", "user", "tags", 1),
            "factor": value(3),
        }
    )
    async def summary(order_id, tag, factor):
        return (order_id, tag, factor)

    wf.returns(summary)
    async with Runtime() as rt:
        assert await rt.run(wf, order={"id": "o-1"}) == ("o-1", "early", 3)


async def test_explicit_wiring_overrides_the_by_name_wiring_of_a_parameter():
    wf = Workflow("override", inputs=["x"])

    @wf.step
    async def double(x):
        return 2 * x

    @wf.step(args={"x": result("double")})
    async def show(x):
        return x

    wf.returns("show")
    async with Runtime() as rt:
        assert await rt.run(wf, x=5) == 10


async def test_a_constant_is_passed_as_the_same_object_to_every_run():
    shared = {"k": 1}
    seen = []
    wf = Workflow("constant")

    @wf.step(args={"config": value(shared)})
    async def use(config):
        seen.append(config)

    async with Runtime() as rt:
        await rt.run(wf)
        await rt.run(wf)
    assert seen[0] is shared
    assert seen[1] is shared


async def test_wait_for_starts_a_step_after_the_other_succeeded_without_passing_its_value(
    autojump_clock,
):
    started = {}
    wf = Workflow("ordering")

    @wf.step
    async def migrate():
        await trio.sleep(1.5)
        return "migrated"

    @wf.step(wait_for=["migrate"])
    async def serve():
        started["serve"] = trio.current_time()
        return "serving"

    wf.returns("serve")
    async with Runtime() as rt:
        assert await rt.run(wf) == "serving"
    assert started == {"serve": 1.5}


async def test_ctx_receives_the_step_context_with_the_run_id_step_and_attempt():
    contexts = []
    wf = Workflow("contextual", inputs=["x"])

    @wf.step
    async def first(x, ctx):
        contexts.append(ctx)
        return x

    @wf.step
    def second(first, ctx: StepContext):
        contexts.append(ctx)
        return first

    async with Runtime() as rt:
        handle = await rt.start(wf, x=1)
        await handle.result()
    assert [type(ctx) for ctx in contexts] == [StepContext, StepContext]
    assert [(c.run_id, c.workflow, c.step, c.attempt) for c in contexts] == [
        (handle.run_id, "contextual", "first", 1),
        (handle.run_id, "contextual", "second", 1),
    ]
    assert contexts[0].runtime is rt


async def test_a_parameter_with_a_default_and_no_match_keeps_its_default():
    wf = Workflow("defaults")

    @wf.step
    async def greet(greeting="hi"):
        return greeting

    wf.returns("greet")
    async with Runtime() as rt:
        assert await rt.run(wf) == "hi"


async def test_a_workflow_without_returns_runs_every_step_and_returns_none():
    ran = []
    wf = Workflow("no_returns")

    @wf.step
    async def a():
        ran.append("a")
        return 1

    @wf.step
    async def b(a):
        ran.append("b")
        return a + 1

    async with Runtime() as rt:
        assert await rt.run(wf) is None
    assert ran == ["a", "b"]


async def test_an_input_named_like_a_run_option_is_given_through_inputs():
    wf = Workflow("option_named", inputs=["max_concurrency"])

    @wf.step
    async def echo(max_concurrency):
        return max_concurrency

    wf.returns("echo")
    async with Runtime() as rt:
        assert await rt.run(wf, inputs={"max_concurrency": 99}, max_concurrency=1) == 99


async def test_each_run_gets_a_distinct_time_ordered_uuid7_run_id():
    wf = Workflow("ids")

    @wf.step
    async def one():
        return 1

    async with Runtime() as rt:
        first = await rt.start(wf)
        second = await rt.start(wf)
        await first.result()
        await second.result()
    assert first.run_id < second.run_id  # the text of UUIDv7s sorts by creation time
    assert [uuid.UUID(h.run_id).version for h in (first, second)] == [7, 7]

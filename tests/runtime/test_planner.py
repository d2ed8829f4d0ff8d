"""The planner: whole-graph validation, resolved wiring, order, and the Plan's helpers."""

import outcome as outcome_lib
import pytest

from arborist.runtime.workflow import (
    InputRef,
    ResultRef,
    ValueRef,
    Workflow,
    WorkflowDefinitionError,
    WorkflowInputError,
    outcome,
    plan,
    result,
    value,
)
from arborist.runtime.workflow import input as input_


def _user_data() -> Workflow:
    wf = Workflow("user_data", inputs=["user_id"])

    @wf.step
    async def fetch_profile(user_id):
        return {"name": "Ada"}

    @wf.step
    async def fetch_activity(user_id):
        return [1, 2]

    @wf.step
    def aggregate(fetch_profile, fetch_activity):
        return (fetch_profile, fetch_activity)

    @wf.step(
        args={
            "uid": input_("user_id"),
            "name": result("fetch_profile", "name"),
            "n": value(3),
        },
        wait_for=["aggregate"],
    )
    async def notify(uid, name, n, ctx):
        return None

    wf.returns("aggregate")
    return wf


def _chain(*edges: tuple[str, tuple[str, ...]]) -> Workflow:
    """Build a workflow of sync steps: (name, parameter names) in declaration order."""
    wf = Workflow("w")
    for name, params in edges:
        source = f"def {name}({', '.join(params)}):\n    return None\n"
        namespace: dict[str, object] = {}
        exec(source, namespace)
        wf.step(namespace[name])  # type: ignore[call-overload]
    return wf


# --- wiring ------------------------------------------------------------------------------------


def test_a_parameter_named_like_an_input_receives_the_input():
    assert plan(_user_data()).arguments["fetch_profile"] == {"user_id": InputRef("user_id")}


def test_a_parameter_named_like_a_step_receives_its_result():
    assert plan(_user_data()).arguments["aggregate"] == {
        "fetch_profile": ResultRef("fetch_profile"),
        "fetch_activity": ResultRef("fetch_activity"),
    }


def test_a_parameter_may_name_a_step_declared_later():
    wf = Workflow("w")

    @wf.step
    def report(totals):
        return totals

    @wf.step
    def totals():
        return 1

    p = plan(wf)
    assert p.arguments["report"] == {"totals": ResultRef("totals")}
    assert [step.name for step in p.steps] == ["totals", "report"]


def test_explicit_args_override_wiring_by_name():
    wf = Workflow("w", inputs=["user_id"])

    @wf.step
    def other_id():
        return 2

    @wf.step(args={"user_id": result("other_id")})
    def fetch(user_id):
        return user_id

    assert plan(wf).arguments["fetch"] == {"user_id": ResultRef("other_id")}


def test_a_parameter_with_a_default_and_no_match_keeps_its_default():
    wf = Workflow("w", inputs=["x"])

    @wf.step
    def scale(x, factor=2):
        return x * factor

    assert plan(wf).arguments["scale"] == {"x": InputRef("x")}


def test_a_parameter_with_a_default_still_takes_a_matching_step():
    wf = Workflow("w")

    @wf.step
    def factor():
        return 3

    @wf.step
    def scale(factor=2):
        return factor

    assert plan(wf).arguments["scale"] == {"factor": ResultRef("factor")}


def test_the_context_parameter_is_not_wired():
    assert set(plan(_user_data()).arguments["notify"]) == {"uid", "name", "n"}


def test_a_result_path_may_be_applied_to_an_input():
    wf = Workflow("w", inputs=["order"])

    @wf.step(args={"order_id": input_("order", "id")})
    def ship(order_id):
        return order_id

    p = plan(wf)
    assert p.arguments_for("ship", {"order": {"id": 7}}, {}) == {"order_id": 7}


# --- validation --------------------------------------------------------------------------------


def test_an_unwired_parameter_names_the_fix():
    wf = Workflow("shop", inputs=["amount"])

    @wf.step
    def charge(amount, reserve):
        return amount

    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^step 'charge' takes argument 'reserve', but no input or step has that name; add "
        r"an input 'reserve', a step 'reserve', or wire it with args=\{'reserve': \.\.\.\}$",
    ) as caught:
        plan(wf)
    assert (caught.value.workflow, caught.value.step) == ("shop", "charge")


def test_an_unwired_parameter_suggests_a_close_name():
    wf = Workflow("shop")

    @wf.step
    def reserve_stock():
        return 1

    @wf.step
    def charge(reserve_stok):
        return 1

    with pytest.raises(WorkflowDefinitionError, match=r"\(did you mean 'reserve_stock'\?\)$"):
        plan(wf)


def test_a_result_of_an_unknown_step_is_rejected():
    wf = Workflow("w")

    @wf.step
    def aggregate():
        return 1

    @wf.step(args={"data": result("agregate")})
    def notify(data):
        return data

    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^step 'notify' wires argument 'data' to result\('agregate'\), but workflow 'w' "
        r"has no step 'agregate'; declare a step 'agregate' or fix the name \(did you mean "
        r"'aggregate'\?\)$",
    ):
        plan(wf)


def test_an_outcome_of_an_unknown_step_is_rejected():
    wf = Workflow("w")

    @wf.step(args={"data": outcome("missing")})
    def notify(data):
        return data

    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^step 'notify' wires argument 'data' to outcome\('missing'\), but workflow 'w' "
        r"has no step 'missing'; declare a step 'missing' or fix the name$",
    ):
        plan(wf)


def test_a_result_naming_an_input_says_to_use_input():
    wf = Workflow("w", inputs=["user_id"])

    @wf.step(args={"uid": result("user_id")})
    def notify(uid):
        return uid

    with pytest.raises(
        WorkflowDefinitionError, match=r"'user_id' is an input: use input\('user_id'\)$"
    ):
        plan(wf)


def test_waiting_for_an_unknown_step_is_rejected():
    wf = Workflow("w")

    @wf.step(wait_for=["ghost"])
    def notify():
        return 1

    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^step 'notify' waits for 'ghost', but workflow 'w' has no step 'ghost'; declare",
    ):
        plan(wf)


def test_waiting_for_an_input_says_to_remove_it():
    wf = Workflow("w", inputs=["user_id"])

    @wf.step(wait_for=["user_id"])
    def notify():
        return 1

    with pytest.raises(
        WorkflowDefinitionError,
        match=r"'user_id' is an input: inputs are always available, so remove it$",
    ):
        plan(wf)


def test_a_parameter_named_like_its_own_step_is_a_self_dependency():
    wf = Workflow("w")

    @wf.step
    def total(total):
        return total

    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^step 'total' takes argument 'total', its own name, so it would depend on itself; "
        r"rename the parameter or wire it with args=\{'total': \.\.\.\}$",
    ):
        plan(wf)


def test_a_step_taking_its_own_result_is_a_self_dependency():
    wf = Workflow("w")

    @wf.step(args={"previous": result("poll")})
    def poll(previous):
        return previous

    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^step 'poll' wires argument 'previous' to result\('poll'\), itself; a step cannot "
        r"depend on itself, so remove this dependency$",
    ):
        plan(wf)


def test_a_step_waiting_for_itself_is_a_self_dependency():
    wf = Workflow("w")

    @wf.step(wait_for=["poll"])
    def poll():
        return 1

    with pytest.raises(WorkflowDefinitionError, match=r"^step 'poll' waits for 'poll', itself"):
        plan(wf)


def test_taking_one_step_both_as_result_and_outcome_is_rejected():
    wf = Workflow("w")

    @wf.step
    def fetch():
        return 1

    @wf.step(args={"status": outcome("fetch")})
    def report(fetch, status):
        return status

    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^step 'report' takes step 'fetch' both as a result and as an outcome; take it "
        r"only as outcome\('fetch'\)",
    ):
        plan(wf)


def test_a_cycle_is_printed_in_data_flow_order():
    wf = _chain(("a", ("c",)), ("b", ("a",)), ("c", ("b",)))
    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^workflow 'w' has a dependency cycle: a -> b -> c -> a \(each step needs the one "
        r"before it\); remove one of these dependencies$",
    ) as caught:
        plan(wf)
    assert caught.value.step == "a"


def test_a_cycle_starts_at_its_earliest_declared_step():
    wf = _chain(("start", ()), ("x", ("start", "z")), ("y", ("x",)), ("z", ("y",)))
    with pytest.raises(WorkflowDefinitionError, match=r"cycle: x -> y -> z -> x "):
        plan(wf)


def test_only_the_cycle_is_printed_not_the_steps_downstream_of_it():
    wf = _chain(("after", ("b",)), ("a", ("b",)), ("b", ("a",)))
    with pytest.raises(WorkflowDefinitionError, match=r"cycle: a -> b -> a "):
        plan(wf)


def test_a_cycle_through_wait_for_is_found():
    wf = Workflow("w")

    @wf.step(wait_for=["b"])
    def a():
        return 1

    @wf.step
    def b(a):
        return a

    with pytest.raises(WorkflowDefinitionError, match=r"cycle: a -> b -> a "):
        plan(wf)


def test_returning_an_unknown_step_is_rejected():
    wf = Workflow("w")

    @wf.step
    def aggregate():
        return 1

    wf.returns("agregate")
    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^workflow 'w' returns 'agregate', but has no step with that name; declare a step "
        r"'agregate' or fix the name \(did you mean 'aggregate'\?\)$",
    ):
        plan(wf)


def test_returning_an_input_is_rejected():
    wf = Workflow("w", inputs=["x"])
    wf.returns("x")
    with pytest.raises(WorkflowDefinitionError, match=r"'x' is an input; return a step$"):
        plan(wf)


def test_returns_may_name_a_step_object():
    wf = _chain(("a", ()))
    wf.returns(wf.steps["a"])
    assert plan(wf).returns == "a"


def test_returns_may_only_be_called_once():
    wf = _chain(("a", ()), ("b", ()))
    wf.returns("a")
    with pytest.raises(
        WorkflowDefinitionError, match=r"already returns 'a'; call returns\(\) once"
    ):
        wf.returns("b")


def test_a_workflow_without_returns_plans_with_returns_none():
    assert plan(_chain(("a", ()))).returns is None


def test_a_guard_taking_an_argument_left_to_its_default_is_rejected():
    wf = Workflow("w")

    @wf.step(when=lambda limit: limit > 0)
    def work(limit=3):
        return limit

    with pytest.raises(
        WorkflowDefinitionError, match=r"the when= guard takes 'limit', but that argument is not"
    ):
        plan(wf)


# --- order and graph ---------------------------------------------------------------------------


def test_steps_are_ordered_topologically_with_ties_in_declaration_order():
    wf = _chain(("d", ("b", "c")), ("c", ()), ("b", ("a",)), ("a", ()), ("e", ()))
    assert [step.name for step in plan(wf).steps] == ["c", "a", "b", "d", "e"]


def test_the_order_is_the_same_on_every_plan():
    first = [s.name for s in plan(_user_data()).steps]
    assert all([s.name for s in plan(_user_data()).steps] == first for _ in range(5))
    assert first == ["fetch_profile", "fetch_activity", "aggregate", "notify"]


def test_dependencies_are_split_by_kind():
    wf = _user_data()

    @wf.step(args={"status": outcome("fetch_activity")})
    def audit(status):
        return status

    p = plan(wf)
    assert p.value_dependencies["notify"] == {"fetch_profile"}
    assert p.order_dependencies["notify"] == {"aggregate"}
    assert p.outcome_dependencies["audit"] == {"fetch_activity"}
    assert p.dependencies["notify"] == {"fetch_profile", "aggregate"}
    assert p.dependencies["fetch_profile"] == frozenset()


def test_dependents_list_every_kind_in_plan_order():
    p = plan(_user_data())
    assert p.dependents["fetch_profile"] == ("aggregate", "notify")
    assert p.dependents["aggregate"] == ("notify",)
    assert p.dependents["notify"] == ()


def test_consumers_count_the_steps_taking_a_value_or_outcome_but_not_wait_for():
    wf = _user_data()

    @wf.step(args={"status": outcome("fetch_activity")})
    def audit(status):
        return status

    p = plan(wf)
    assert dict(p.consumers) == {
        "fetch_profile": 2,
        "fetch_activity": 2,
        "aggregate": 0,
        "notify": 0,
        "audit": 0,
    }


def test_a_step_taking_two_paths_of_one_result_counts_as_one_consumer():
    wf = Workflow("w")

    @wf.step
    def profile():
        return {"a": 1, "b": 2}

    @wf.step(args={"a": result("profile", "a"), "b": result("profile", "b")})
    def use(a, b):
        return a + b

    assert plan(wf).consumers["profile"] == 1


def test_roots_are_the_steps_without_dependencies():
    assert [s.name for s in plan(_user_data()).roots] == ["fetch_profile", "fetch_activity"]


def test_plan_mappings_are_read_only():
    p = plan(_user_data())
    with pytest.raises(TypeError):
        p.consumers["aggregate"] = 9  # type: ignore[index]
    with pytest.raises(TypeError):
        p.arguments["aggregate"]["x"] = ValueRef(1)  # type: ignore[index]


def test_a_plan_is_frozen():
    p = plan(_user_data())
    with pytest.raises(AttributeError):
        p.returns = "notify"  # type: ignore[misc]


def test_the_plan_is_cached_on_the_workflow():
    wf = _user_data()
    assert plan(wf) is plan(wf)
    assert wf.plan() is plan(wf)


def test_adding_a_step_invalidates_the_cached_plan():
    wf = _user_data()
    before = plan(wf)

    @wf.step
    def extra():
        return 1

    after = plan(wf)
    assert after is not before
    assert "extra" in [s.name for s in after.steps]


def test_setting_returns_invalidates_the_cached_plan():
    wf = _chain(("a", ()))
    assert plan(wf).returns is None
    wf.returns("a")
    assert plan(wf).returns == "a"


def test_a_failed_plan_is_not_cached():
    wf = _chain(("a", ("b",)))
    with pytest.raises(WorkflowDefinitionError):
        plan(wf)
    wf.step(lambda: 1, name="b")  # type: ignore[call-overload]
    assert [s.name for s in plan(wf).steps] == ["b", "a"]


def test_step_looks_a_step_up_by_name():
    wf = _user_data()
    assert plan(wf).step("aggregate") is wf.steps["aggregate"]


def test_a_plan_repr_shows_the_order():
    assert repr(plan(_chain(("b", ("a",)), ("a", ())))) == "<Plan 'w': a -> b>"


def test_an_empty_workflow_plans_to_no_steps():
    p = plan(Workflow("w"))
    assert (p.steps, p.returns) == ((), None)


# --- check_inputs ------------------------------------------------------------------------------


def test_check_inputs_accepts_exactly_the_inputs():
    plan(_user_data()).check_inputs({"user_id": 1})


def test_check_inputs_reports_missing_inputs():
    wf = Workflow("w", inputs=["a", "b", "c"])
    with pytest.raises(
        WorkflowInputError,
        match=r"^workflow 'w' is missing inputs 'a', 'c'; call it with exactly: a, b, c$",
    ) as caught:
        plan(wf).check_inputs({"b": 1})
    assert (caught.value.missing, caught.value.unexpected) == (("a", "c"), ())


def test_check_inputs_reports_unexpected_inputs():
    with pytest.raises(
        WorkflowInputError,
        match=r"^workflow 'user_data' got unexpected input 'extra'; call it with exactly: "
        r"user_id$",
    ) as caught:
        plan(_user_data()).check_inputs({"user_id": 1, "extra": 2})
    assert caught.value.unexpected == ("extra",)


def test_check_inputs_reports_both_and_suggests_the_missing_name():
    with pytest.raises(
        WorkflowInputError,
        match=r"^workflow 'user_data' is missing input 'user_id' and got unexpected input "
        r"'userid' \(did you mean 'user_id'\?\); call it with exactly: user_id$",
    ) as caught:
        plan(_user_data()).check_inputs({"userid": 1})
    assert isinstance(caught.value, TypeError)


# --- arguments_for -----------------------------------------------------------------------------


def test_arguments_for_builds_kwargs_from_inputs_results_and_constants():
    p = plan(_user_data())
    kwargs = p.arguments_for("notify", {"user_id": 7}, {"fetch_profile": {"name": "Ada"}})
    assert kwargs == {"uid": 7, "name": "Ada", "n": 3}


def test_arguments_for_unwraps_a_recorded_value():
    p = plan(_user_data())
    kwargs = p.arguments_for(
        "aggregate",
        {"user_id": 7},
        {"fetch_profile": outcome_lib.Value("P"), "fetch_activity": "A"},
    )
    assert kwargs == {"fetch_profile": "P", "fetch_activity": "A"}


def test_arguments_for_gives_each_outcome_consumer_a_fresh_outcome():
    wf = Workflow("w")

    @wf.step
    def risky():
        return 1

    @wf.step(args={"status": outcome("risky")})
    def report(status):
        return status

    p = plan(wf)
    error = ValueError("boom")
    recorded = outcome_lib.Error(error)
    first = p.arguments_for("report", {}, {"risky": recorded})["status"]
    second = p.arguments_for("report", {}, {"risky": recorded})["status"]
    assert isinstance(first, outcome_lib.Error)
    assert first is not second
    assert first.error is second.error is error


def test_arguments_for_wraps_a_plain_result_as_an_outcome_value():
    wf = Workflow("w")

    @wf.step
    def risky():
        return 1

    @wf.step(args={"status": outcome("risky")})
    def report(status):
        return status

    status = plan(wf).arguments_for("report", {}, {"risky": 5})["status"]
    assert isinstance(status, outcome_lib.Value)
    assert status.unwrap() == 5


def test_arguments_for_refuses_the_result_of_a_failed_step():
    p = plan(_user_data())
    with pytest.raises(
        LookupError,
        match=r"step 'aggregate' takes the result of step 'fetch_profile', which failed "
        r"\(ValueError\) and has no result; wire it with outcome\('fetch_profile'\)",
    ):
        p.arguments_for(
            "aggregate",
            {"user_id": 1},
            {"fetch_profile": outcome_lib.Error(ValueError()), "fetch_activity": 1},
        )


def test_arguments_for_reports_a_result_not_yet_available():
    p = plan(_user_data())
    with pytest.raises(
        LookupError, match=r"^step 'aggregate' needs step 'fetch_profile', which has no result yet"
    ):
        p.arguments_for("aggregate", {"user_id": 1}, {"fetch_activity": 1})


def test_arguments_for_follows_a_result_path_and_names_the_failing_key():
    p = plan(_user_data())
    with pytest.raises(LookupError, match=r"cannot follow key 'name'.*result of step 'fetch_prof"):
        p.arguments_for("notify", {"user_id": 1}, {"fetch_profile": {}})


def test_arguments_for_leaves_defaults_to_python():
    wf = Workflow("w", inputs=["x"])

    @wf.step
    def scale(x, factor=2):
        return x * factor

    assert plan(wf).arguments_for("scale", {"x": 4}, {}) == {"x": 4}


def test_arguments_for_an_unknown_step_raises_key_error():
    with pytest.raises(KeyError):
        plan(_user_data()).arguments_for("nope", {}, {})

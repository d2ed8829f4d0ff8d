"""The workflow DSL: Workflow, @wf.step, Step, argument sources and their errors."""

import functools
from typing import Any

import pytest

from arborist.runtime.workflow import (
    Retry,
    Step,
    Workflow,
    WorkflowDefinitionError,
    is_async_callable,
)
from arborist.runtime.workflow._wiring import (
    InputRef,
    OutcomeRef,
    ResultRef,
    ValueRef,
    input,
    outcome,
    resolve_path,
    result,
    value,
)


class StepContext:
    """Stands in for the runtime's context class: only its name matters to the DSL."""


# --- Workflow ----------------------------------------------------------------------------------


def test_a_workflow_keeps_its_name_and_inputs_in_order():
    wf = Workflow("user_data", inputs=["user_id", "since"])
    assert (wf.name, wf.inputs) == ("user_data", ("user_id", "since"))


def test_a_workflow_name_must_be_a_non_empty_string():
    with pytest.raises(WorkflowDefinitionError, match=r"name must be a non-empty string, got ''"):
        Workflow("")


def test_inputs_given_as_one_string_are_rejected_with_the_fix():
    with pytest.raises(WorkflowDefinitionError, match=r"write inputs=\['user_id'\]"):
        Workflow("w", inputs="user_id")


def test_an_input_must_be_an_identifier():
    with pytest.raises(
        WorkflowDefinitionError, match=r"input 'user-id' is not a valid Python identifier"
    ):
        Workflow("w", inputs=["user-id"])


def test_input_names_must_be_unique():
    with pytest.raises(
        WorkflowDefinitionError, match=r"input names must be unique; duplicated: 'a'$"
    ) as caught:
        Workflow("w", inputs=["a", "b", "a"])
    assert (caught.value.workflow, caught.value.step) == ("w", None)


def test_a_workflow_repr_shows_name_inputs_and_step_count():
    wf = Workflow("w", inputs=["x"])
    wf.step(lambda x: x, name="one")  # type: ignore[call-overload]
    assert repr(wf) == "<Workflow 'w' inputs=['x'] steps=1>"


# --- @wf.step ----------------------------------------------------------------------------------


def test_the_bare_decorator_returns_a_step_named_after_the_function():
    wf = Workflow("w", inputs=["user_id"])

    @wf.step
    async def fetch_profile(user_id):
        return user_id

    assert isinstance(fetch_profile, Step)
    assert fetch_profile.name == "fetch_profile"
    assert wf.steps["fetch_profile"] is fetch_profile


def test_the_decorator_with_options_stores_them_on_the_step():
    wf = Workflow("w", inputs=["user_id"])
    policy = Retry(attempts=5, backoff="exponential", jitter=True)

    @wf.step(retry=policy, timeout=2, pool="db", inline=True)
    async def fetch_activity(user_id):
        return user_id

    assert fetch_activity.retry is policy
    assert fetch_activity.timeout == 2.0
    assert isinstance(fetch_activity.timeout, float)
    assert (fetch_activity.pool, fetch_activity.inline) == ("db", True)


def test_a_step_may_be_given_another_name():
    wf = Workflow("w")

    @wf.step(name="load")
    def fetch():
        return 1

    assert list(wf.steps) == ["load"]


def test_steps_keep_declaration_order():
    wf = Workflow("w")
    for name in ["c", "a", "b"]:
        wf.step(lambda: None, name=name)  # type: ignore[call-overload]
    assert list(wf.steps) == ["c", "a", "b"]


def test_an_async_def_is_async_and_a_plain_def_is_blocking():
    wf = Workflow("w")

    @wf.step
    async def fetch():
        return 1

    @wf.step
    def crunch():
        return 2

    assert (fetch.is_async, crunch.is_async) == (True, False)


def test_a_partial_of_an_async_function_is_async():
    async def fetch(url, retries):
        return url

    assert is_async_callable(functools.partial(fetch, retries=3))


def test_an_object_with_an_async_call_is_async():
    class Fetcher:
        async def __call__(self, url):
            return url

    assert is_async_callable(Fetcher())
    assert not is_async_callable(Fetcher)


def test_a_partial_step_is_named_after_the_wrapped_function():
    wf = Workflow("w", inputs=["url"])

    async def fetch(url, retries):
        return url

    step = wf.step(functools.partial(fetch, retries=3))
    assert (step.name, step.params, step.is_async) == ("fetch", ("url",), True)


def test_a_lambda_needs_an_explicit_name():
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match=r"cannot name a step after .*name='...'"):
        wf.step(lambda: None)


def test_a_step_name_must_be_an_identifier():
    wf = Workflow("w")
    with pytest.raises(
        WorkflowDefinitionError, match=r"step name 'fetch-it' is not a valid Python identifier"
    ):
        wf.step(lambda: None, name="fetch-it")  # type: ignore[call-overload]


def test_a_duplicate_step_name_raises_at_decoration():
    wf = Workflow("w")

    @wf.step
    def fetch():
        return 1

    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^workflow 'w' already has a step 'fetch'; step names must be unique, so rename "
        r"this one with name='...'$",
    ) as caught:

        @wf.step(name="fetch")
        def fetch_again():
            return 2

    assert caught.value.step == "fetch"


def test_a_step_cannot_share_a_name_with_an_input():
    wf = Workflow("w", inputs=["user_id"])
    with pytest.raises(
        WorkflowDefinitionError, match=r"step 'user_id' has the name of an input of workflow 'w'"
    ):

        @wf.step
        def user_id():
            return 1


def test_decorating_a_non_function_says_how_to_name_a_step():
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match=r"decorates a function, got 'fetch'"):
        wf.step("fetch")  # type: ignore[call-overload]


def test_calling_a_step_calls_its_function():
    wf = Workflow("w")

    @wf.step
    def double(x):
        return 2 * x

    assert double(21) == 42


def test_a_step_repr_names_step_workflow_and_kind():
    wf = Workflow("w")

    @wf.step
    def crunch():
        return 1

    assert repr(crunch) == "<Step 'crunch' of workflow 'w' blocking>"


def test_a_step_is_read_only():
    wf = Workflow("w")

    @wf.step
    def crunch():
        return 1

    with pytest.raises(AttributeError):
        crunch.timeout = 3.0  # type: ignore[misc]


# --- parameters --------------------------------------------------------------------------------


def test_params_lists_the_wired_parameters_in_signature_order():
    wf = Workflow("w")

    @wf.step
    def join(b, a, *, c=1):
        return a

    assert join.params == ("b", "a", "c")
    assert join.optional == frozenset({"c"})


def test_ctx_by_name_is_the_context_parameter():
    wf = Workflow("w", inputs=["x"])

    @wf.step
    async def work(x, ctx):
        return x

    assert (work.context_param, work.params) == ("ctx", ("x",))


def test_a_parameter_annotated_with_the_step_context_class_is_the_context():
    wf = Workflow("w")

    @wf.step
    async def work(context: StepContext):
        return context

    assert (work.context_param, work.params) == ("context", ())


def test_a_parameter_annotated_with_the_string_step_context_is_the_context():
    wf = Workflow("w")

    @wf.step
    async def work(context: "arborist.runtime.StepContext"):  # type: ignore[name-defined]  # noqa: F821
        return context

    assert work.context_param == "context"


def test_ctx_wired_explicitly_is_an_ordinary_argument():
    wf = Workflow("w")

    @wf.step(args={"ctx": value("mine")})
    async def work(ctx):
        return ctx

    assert (work.context_param, work.params) == (None, ("ctx",))


def test_two_context_parameters_are_rejected():
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match=r"has 2 context parameters \('c', 'ctx'\)"):

        @wf.step
        async def work(c: StepContext, ctx):
            return c


def test_star_args_are_rejected():
    wf = Workflow("w")
    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^step 'gather' has \*parts; wire every parameter explicitly: replace \*parts "
        r"with named parameters$",
    ):

        @wf.step
        def gather(*parts):
            return parts


def test_star_star_kwargs_are_rejected():
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match=r"step 'gather' has \*\*named; wire every"):

        @wf.step
        def gather(**named):
            return named


def test_positional_only_parameters_are_rejected():
    wf = Workflow("w", inputs=["x"])
    with pytest.raises(
        WorkflowDefinitionError, match=r"positional-only parameter 'x'; .* remove the '/'"
    ):

        @wf.step
        def work(x, /):
            return x


# --- args= -------------------------------------------------------------------------------------


def test_explicit_args_are_stored_read_only():
    wf = Workflow("w", inputs=["user_id"])

    @wf.step(args={"uid": input("user_id"), "n": value(3)})
    async def notify(uid, n):
        return uid

    assert dict(notify.args) == {"uid": InputRef("user_id"), "n": ValueRef(3)}
    with pytest.raises(TypeError):
        notify.args["n"] = value(4)  # type: ignore[index]


def test_args_keys_that_are_not_parameters_are_named():
    wf = Workflow("w", inputs=["x"])
    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^step 'work': args= names 'colour', 'size', which are not parameters of "
        r".*work\(\); parameters: 'x'$",
    ):

        @wf.step(args={"size": value(1), "colour": value(2)})
        def work(x):
            return x


def test_an_args_value_that_is_not_a_source_says_to_wrap_it():
    wf = Workflow("w")
    with pytest.raises(
        WorkflowDefinitionError, match=r"args\['n'\] is 3, not a source; wrap a constant as value"
    ):

        @wf.step(args={"n": 3})  # type: ignore[dict-item]
        def work(n):
            return n


def test_an_args_input_must_be_declared():
    wf = Workflow("w", inputs=["user_id"])
    with pytest.raises(
        WorkflowDefinitionError,
        match=r"^step 'work' wires argument 'uid' to input\('user'\), but workflow 'w' has no "
        r"input 'user'; add it to inputs= or fix the name \(inputs: 'user_id'\)$",
    ):

        @wf.step(args={"uid": input("user")})
        def work(uid):
            return uid


# --- other options -----------------------------------------------------------------------------


def test_wait_for_accepts_names_and_steps_and_drops_repeats():
    wf = Workflow("w")

    @wf.step
    def a():
        return 1

    @wf.step(wait_for=[a, "b", "a"])
    def c():
        return 3

    assert c.wait_for == ("a", "b")


def test_wait_for_drops_repeats_in_linear_time():
    comparisons = 0

    class Name(str):
        __slots__ = ()
        __hash__ = str.__hash__

        def __eq__(self, other):
            nonlocal comparisons
            comparisons += 1
            return str.__eq__(self, other)

    names = [Name(f"s{i}") for i in range(2_000)]
    wf = Workflow("w")

    @wf.step(wait_for=[*names, names[0]])
    def join():
        return 0

    assert join.wait_for == tuple(names)
    # A membership test against the names kept so far would compare ~2,000,000 times.
    assert comparisons <= 2 * len(names)


def test_wait_for_rejects_a_step_of_another_workflow():
    other = Workflow("other")

    @other.step
    def a():
        return 1

    wf = Workflow("w")
    with pytest.raises(
        WorkflowDefinitionError, match=r"got step 'a' of workflow 'other', which is not a step"
    ):
        wf.step(lambda: None, name="b", wait_for=[a])  # type: ignore[call-overload]


def test_retry_must_be_a_retry_policy():
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match=r"retry= takes a Retry, e.g. retry=Retry"):
        wf.step(lambda: None, name="a", retry=3)  # type: ignore[call-overload]


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf"), True])
def test_timeout_must_be_a_positive_finite_number(timeout):
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match=r"timeout is seconds per attempt"):
        wf.step(lambda: None, name="a", timeout=timeout)  # type: ignore[call-overload]


def test_pool_must_be_a_name():
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match=r"pool takes a pool name, got ''"):
        wf.step(lambda: None, name="a", pool="")  # type: ignore[call-overload]


def test_when_stores_the_guard_and_the_arguments_it_takes():
    wf = Workflow("w", inputs=["amount", "currency"])

    def positive(amount):
        return amount > 0

    @wf.step(when=positive)
    def charge(amount, currency):
        return amount

    assert charge.when is positive
    assert charge.when_params == ("amount",)
    assert charge.guard_arguments({"amount": 5, "currency": "EUR"}) == {"amount": 5}


def test_a_guard_with_star_star_kwargs_receives_every_argument():
    wf = Workflow("w", inputs=["amount", "currency"])

    @wf.step(when=lambda **arguments: True)
    def charge(amount, currency):
        return amount

    assert charge.when_params is None
    assert charge.guard_arguments({"amount": 5, "currency": "EUR"}) == {
        "amount": 5,
        "currency": "EUR",
    }


def test_when_must_be_callable():
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match=r"when= takes a predicate function"):
        wf.step(lambda: None, name="a", when=True)  # type: ignore[call-overload]


def test_an_async_guard_is_rejected():
    wf = Workflow("w", inputs=["x"])

    async def check(x):
        return True

    with pytest.raises(WorkflowDefinitionError, match=r"guard 'check' is async; guards run in"):
        wf.step(lambda x: x, name="a", when=check)  # type: ignore[call-overload]


def test_a_guard_may_take_an_input_or_step_the_function_does_not_take():
    wf = Workflow("w", inputs=["x"])
    a = wf.step(lambda x: x, name="a", when=lambda route: route == "a")  # type: ignore[call-overload]

    @wf.step
    def route(x):
        return "a"

    assert a.guard_only == frozenset({"route"})
    assert "route" in wf.plan().value_dependencies["a"]


def test_a_guard_argument_that_names_nothing_is_an_unknown_argument_at_plan_time():
    wf = Workflow("w", inputs=["x"])
    wf.step(lambda x: x, name="a", when=lambda y: True)  # type: ignore[call-overload]
    with pytest.raises(
        WorkflowDefinitionError, match=r"step 'a' takes argument 'y', but no input or step"
    ):
        wf.plan()


def test_a_guard_cannot_take_the_context():
    wf = Workflow("w", inputs=["x"])
    with pytest.raises(WorkflowDefinitionError, match=r"the when= guard takes 'ctx', which cannot"):
        wf.step(lambda x: x, name="a", when=lambda ctx: True)  # type: ignore[call-overload]


# --- undo and compensate -----------------------------------------------------------------------


def _charge_step() -> Step:
    wf = Workflow("shop", inputs=["amount"])

    @wf.step
    async def charge(amount):
        return {"id": 1}

    return charge


def test_undo_registers_the_function_and_returns_it():
    charge = _charge_step()

    @charge.undo
    async def refund(result, arguments):
        return None

    assert charge.undo_fn is refund
    assert callable(refund)


def test_compensate_registers_the_function_and_returns_it():
    charge = _charge_step()

    @charge.compensate
    def on_error(error):
        return None

    assert charge.compensate_fn is on_error


def test_a_step_has_no_undo_or_compensate_by_default():
    charge = _charge_step()
    assert (charge.undo_fn, charge.compensate_fn) == (None, None)


def test_a_second_undo_is_rejected():
    charge = _charge_step()
    charge.undo(lambda result, arguments: None)
    with pytest.raises(
        WorkflowDefinitionError,
        match=r"step 'charge' already has a undo function .*; a step has at most one undo",
    ) as caught:
        charge.undo(lambda result, arguments: None)
    assert (caught.value.workflow, caught.value.step) == ("shop", "charge")


def test_a_second_compensate_is_rejected():
    charge = _charge_step()
    charge.compensate(lambda error: None)
    with pytest.raises(WorkflowDefinitionError, match=r"at most one compensate"):
        charge.compensate(lambda error: None)


def test_undo_must_be_callable():
    charge = _charge_step()
    with pytest.raises(WorkflowDefinitionError, match=r"@charge.undo takes a function, got 1"):
        charge.undo(1)  # type: ignore[arg-type]


def test_undo_must_accept_the_result_and_the_arguments():
    charge = _charge_step()

    def refund(result):
        return None

    with pytest.raises(
        WorkflowDefinitionError, match=r"@charge.undo: '.*refund' must accept \(result, arguments\)"
    ):
        charge.undo(refund)


def test_compensate_must_accept_the_error():
    charge = _charge_step()
    with pytest.raises(WorkflowDefinitionError, match=r"must accept \(error\)"):
        charge.compensate(lambda: None)


# --- sources -----------------------------------------------------------------------------------


def test_source_factories_build_frozen_sources():
    assert input("order", "id") == InputRef("order", ("id",))
    assert result("fetch", "name", 0) == ResultRef("fetch", ("name", 0))
    assert value([1]) == ValueRef([1])
    assert outcome("fetch") == OutcomeRef("fetch")


def test_result_and_outcome_accept_a_step():
    wf = Workflow("w")

    @wf.step
    def fetch():
        return 1

    assert (result(fetch), outcome(fetch)) == (ResultRef("fetch"), OutcomeRef("fetch"))


def test_result_rejects_something_that_is_not_a_step():
    with pytest.raises(TypeError, match=r"result\(\) takes a step or a step name, got 3"):
        result(3)  # type: ignore[arg-type]


def test_sources_print_as_the_dsl_call():
    assert str(result("fetch", "name", 0)) == "result('fetch', 'name', 0)"
    assert str(input("user_id")) == "input('user_id')"


def test_resolve_path_follows_keys_indices_and_attributes():
    class Profile:
        tags: Any = ({"k": "v"},)

    assert resolve_path({"p": Profile()}, ["p", "tags", 0, "k"], owner="x") == "v"


def test_resolve_path_with_no_path_returns_the_value_itself():
    data = object()
    assert resolve_path(data, (), owner="x") is data


def test_resolve_path_names_the_owner_and_the_failing_key():
    with pytest.raises(
        LookupError,
        match=r"^cannot follow key 'email' \(position 1 of path \['profile', 'email'\]\): the "
        r"result of step 'fetch'\['profile'\] is a dict without it; fix the path or the producer$",
    ) as caught:
        result("fetch", "profile", "email").apply({"profile": {"name": "a"}})
    assert isinstance(caught.value.__cause__, KeyError)


def test_resolve_path_reports_a_missing_attribute():
    with pytest.raises(LookupError, match=r"cannot follow attribute 'nam'.*input 'user' is a"):
        input("user", "nam").apply(object())

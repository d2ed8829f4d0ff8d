"""Specs validate at construction: the error names the child, the rule and the fix."""

import math

import attrs
import pytest
from sup_helpers import Worker

from arborist.actors import Actor
from arborist.supervision import (
    BRUTAL,
    INFINITY,
    AutoShutdown,
    Backoff,
    ChildSpec,
    Kind,
    Restart,
    Strategy,
    SupervisorSpec,
)


async def job() -> None:
    pass


def sync_job() -> None:
    pass


async def agen():
    yield 1


def test_a_child_spec_has_elixirs_defaults():
    spec = ChildSpec("w", Worker)

    assert (spec.restart, spec.shutdown, spec.kind, spec.significant, spec.name) == (
        Restart.PERMANENT,
        5.0,
        Kind.WORKER,
        False,
        None,
    )
    assert (spec.args, spec.kwargs) == ((), {})


def test_a_child_spec_is_frozen_and_evolves():
    spec = ChildSpec("w", Worker)

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        spec.id = "x"
    assert attrs.evolve(spec, restart=Restart.TEMPORARY).restart is Restart.TEMPORARY


def test_brutal_and_infinity_are_the_extreme_shutdowns():
    assert ChildSpec("w", Worker, shutdown=BRUTAL).shutdown == 0.0
    assert math.isinf(ChildSpec("w", Worker, shutdown=INFINITY).shutdown)


def test_a_supervisor_spec_start_is_a_supervisor_kind_waiting_forever_to_stop():
    spec = ChildSpec("s", SupervisorSpec([]))

    assert spec.kind is Kind.SUPERVISOR
    assert math.isinf(spec.shutdown)


def test_an_explicit_kind_decides_the_default_shutdown():
    assert math.isinf(ChildSpec("s", Worker, kind=Kind.SUPERVISOR).shutdown)


def test_duplicate_child_ids_are_refused_naming_the_id():
    with pytest.raises(
        ValueError, match=r"^child ids must be unique within a supervisor; duplicated: 'a'$"
    ):
        SupervisorSpec([ChildSpec("a", Worker), ChildSpec("b", Worker), ChildSpec("a", Worker)])


def test_a_negative_shutdown_names_the_child_and_the_accepted_values():
    with pytest.raises(
        ValueError,
        match=r"child 'a': shutdown must be a number of seconds >= 0; got -1; or BRUTAL .*INFINITY",
    ):
        ChildSpec("a", Worker, shutdown=-1)


@pytest.mark.parametrize("value", [float("nan"), True, "5"])
def test_a_shutdown_that_is_not_a_number_of_seconds_is_refused(value):
    with pytest.raises((TypeError, ValueError), match="shutdown must be a number of seconds"):
        ChildSpec("a", Worker, shutdown=value)


def test_a_negative_intensity_is_refused():
    with pytest.raises(ValueError, match=r"max_restarts .* must be an int >= 0; got -1"):
        SupervisorSpec([], max_restarts=-1)


def test_a_window_of_zero_seconds_is_refused():
    with pytest.raises(ValueError, match=r"max_seconds .* must be a number of seconds > 0"):
        SupervisorSpec([], max_seconds=0)


def test_an_unknown_strategy_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown strategy 'one_for_none'; use one of Strategy"):
        SupervisorSpec([], strategy="one_for_none")


def test_an_unknown_restart_type_names_the_child():
    with pytest.raises(ValueError, match="child 'a': unknown restart 'sometimes'"):
        ChildSpec("a", Worker, restart="sometimes")


def test_strategies_and_restart_types_accept_their_otp_words():
    assert SupervisorSpec([], strategy="rest_for_one").strategy is Strategy.REST_FOR_ONE
    assert ChildSpec("a", Worker, restart="transient").restart is Restart.TRANSIENT


def test_a_sync_function_start_is_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"child 'a': start must be .* which is not `async def`"):
        ChildSpec("a", sync_job)


def test_an_actor_instance_start_is_refused_asking_for_the_class():
    with pytest.raises(TypeError, match=r"got an instance of Worker: pass the class"):
        ChildSpec("a", Worker("a", []))


def test_a_class_that_is_not_an_actor_is_refused():
    with pytest.raises(
        TypeError, match=r"child 'a': start must be an Actor subclass.*not an Actor"
    ):
        ChildSpec("a", dict)


def test_an_async_generator_start_is_refused():
    with pytest.raises(TypeError, match="async generator"):
        ChildSpec("a", agen)


def test_an_async_function_is_a_worker():
    assert ChildSpec("a", job).kind is Kind.WORKER


def test_a_supervisor_spec_takes_no_arguments():
    with pytest.raises(TypeError, match="child 's': a supervisor spec takes no args"):
        ChildSpec("s", SupervisorSpec([]), (1,))


def test_a_child_id_must_not_be_none_or_unhashable():
    with pytest.raises(ValueError, match="child id must not be None"):
        ChildSpec(None, Worker)
    with pytest.raises(TypeError, match="child id must be hashable"):
        ChildSpec(["a"], Worker)


def test_children_must_be_child_specs():
    with pytest.raises(TypeError, match=r"children\[0\] must be a ChildSpec"):
        SupervisorSpec([Worker])


def test_a_significant_child_must_not_be_permanent():
    with pytest.raises(ValueError, match="child 'a': a significant child must be transient"):
        ChildSpec("a", Worker, significant=True)


def test_a_significant_child_needs_an_auto_shutdown():
    child = ChildSpec("a", Worker, restart=Restart.TRANSIENT, significant=True)

    with pytest.raises(
        ValueError, match=r"child 'a' is significant, but .* auto_shutdown is NEVER"
    ):
        SupervisorSpec([child])
    assert SupervisorSpec([child], auto_shutdown=AutoShutdown.ANY_SIGNIFICANT).children == (child,)


def test_a_name_must_be_a_non_empty_string():
    with pytest.raises(TypeError, match="child 'a': name must be a non-empty str"):
        ChildSpec("a", Worker, name="")


def test_kwargs_are_copied_so_later_changes_do_not_leak_in():
    kwargs = {"start_delay": 1.0}
    spec = ChildSpec("a", Worker, kwargs=kwargs)
    kwargs["start_delay"] = 2.0

    assert spec.kwargs == {"start_delay": 1.0}


def test_a_spec_may_leave_out_arguments_that_a_dynamic_supervisor_appends_later():
    spec = ChildSpec("a", Worker, args=("a",))

    assert spec.args == ("a",)


@pytest.mark.parametrize(
    ("args", "kwargs", "why"),
    [
        (("a", [], 0.0, "extra"), {}, "too many positional arguments"),
        (("a",), {"delay": 1.0}, "unexpected keyword argument 'delay'"),
    ],
)
def test_args_that_can_never_fit_the_start_are_refused_at_construction(args, kwargs, why):
    with pytest.raises(TypeError, match=f"child 'a': args .* do not fit Worker.*{why}"):
        ChildSpec("a", Worker, args=args, kwargs=kwargs)


def test_a_string_is_refused_as_args_with_the_one_argument_spelling():
    with pytest.raises(TypeError, match=r"ChildSpec args must be a tuple or a list; got 'ab'"):
        ChildSpec("a", job, args="ab")


def test_a_backoff_validates_its_numbers():
    with pytest.raises(ValueError, match="Backoff factor must be a finite number >= 1"):
        Backoff(factor=0.5)
    with pytest.raises(ValueError, match=r"Backoff max \(1.0\) must be >= initial \(2.0\)"):
        Backoff(initial=2.0, max=1.0)
    with pytest.raises(ValueError, match="jitter is a fraction"):
        Backoff(jitter=1.5)
    with pytest.raises(TypeError, match="backoff must be a Backoff"):
        SupervisorSpec([], backoff=1.0)


def test_an_actor_subclass_marked_as_supervisor_kind_is_a_supervisor():
    class Custom(Actor):
        supervisor_kind = True

    assert ChildSpec("c", Custom).kind is Kind.SUPERVISOR

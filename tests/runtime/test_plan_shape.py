"""Plan shapes and hashes: what a durable run's journal depends on, and how a change is named."""

from __future__ import annotations

import pytest

from arborist.runtime import Retry, Workflow, WorkflowDefinitionError, outcome
from arborist.runtime.workflow._compose import reiterable
from arborist.runtime.workflow._shape import describe_change, plan_hash, plan_shape


def checkout(*, retry: Retry | None = None, extra: bool = False, rewire: bool = False) -> Workflow:
    wf = Workflow("checkout", inputs=["order"])

    @wf.step
    async def reserve(order):
        return order

    @wf.step(retry=retry)
    async def charge(reserve):
        return reserve

    if rewire:

        @wf.step(args={"got": outcome("charge")})
        async def notify(got):
            return got

    else:

        @wf.step
        async def notify(charge):
            return charge

    if extra:

        @wf.step
        async def audit(notify):
            return notify

    wf.returns("notify")
    return wf


def test_two_workflows_defined_alike_hash_alike():
    assert plan_hash(checkout().plan()) == plan_hash(checkout().plan())


def test_retries_timeouts_and_code_are_not_part_of_the_shape():
    assert plan_hash(checkout(retry=Retry(attempts=5)).plan()) == plan_hash(checkout().plan())


@pytest.mark.parametrize("change", [{"extra": True}, {"rewire": True}], ids=["added", "rewired"])
def test_adding_or_rewiring_a_step_changes_the_hash(change):
    assert plan_hash(checkout(**change).plan()) != plan_hash(checkout().plan())


def test_a_step_taking_results_only_is_shaped_as_the_list_of_its_producers():
    assert plan_shape(checkout().plan())["steps"] == {
        "reserve": [],
        "charge": ["reserve"],
        "notify": ["charge"],
    }


def test_a_map_step_records_what_it_maps_over():
    wf = Workflow("batch", inputs=["rows"])

    @wf.map(over="rows")
    async def clean(row):
        return row

    assert plan_shape(wf.plan())["steps"]["clean"] == {"k": "map rows row"}


def test_the_change_names_the_steps_added():
    old = plan_shape(checkout().plan())
    assert describe_change(old, checkout(extra=True).plan()) == "steps added: audit"


def test_the_change_names_the_steps_removed():
    old = plan_shape(checkout(extra=True).plan())
    assert describe_change(old, checkout().plan()) == "steps removed: audit"


def test_the_change_shows_a_rewired_step_before_and_after():
    old = plan_shape(checkout().plan())
    assert describe_change(old, checkout(rewire=True).plan()) == (
        "steps rewired: notify (was: takes charge; now: outcome of charge)"
    )


def test_a_run_that_recorded_no_shape_still_gets_a_sentence():
    assert "did not record its old shape" in describe_change(None, checkout().plan())


@pytest.mark.parametrize(
    ("source", "expected"),
    [([1, 2], True), ((1,), True), (range(3), True), (iter([1]), False), ({1, 2}, False)],
    ids=["list", "tuple", "range", "iterator", "set"],
)
def test_only_sequences_are_reiterable_sources(source, expected):
    assert reiterable(source) is expected


def test_an_async_iterable_is_not_reiterable():
    class Stream:
        def __aiter__(self):
            return self

    assert reiterable(Stream()) is False


def test_on_resume_takes_retry_fail_or_halt():
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match="on_resume must be 'retry', 'fail' or"):

        @wf.step(on_resume="skip")  # type: ignore[arg-type]
        async def s():
            pass


def test_on_resume_defaults_to_retry_and_is_kept_on_the_step():
    wf = Workflow("w")

    @wf.step(on_resume="halt")
    async def pay():
        pass

    @wf.step
    async def log():
        pass

    assert (pay.on_resume, log.on_resume) == ("halt", "retry")


def test_a_map_journal_takes_step_or_elements():
    wf = Workflow("w", inputs=["xs"])
    with pytest.raises(WorkflowDefinitionError, match="journal must be 'step' or 'elements'"):

        @wf.map(over="xs", journal="rows")  # type: ignore[arg-type]
        async def each(x):
            return x

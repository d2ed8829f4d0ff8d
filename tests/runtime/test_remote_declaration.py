"""Declaring steps and map steps on executors: what the DSL stores and refuses (no trio)."""

from __future__ import annotations

import pytest

from arborist.runtime import Workflow, WorkflowDefinitionError
from arborist.runtime.executors import RemoteStepInfo


def wf_with_x() -> Workflow:
    return Workflow("w", inputs=["x", "xs"])


def test_a_step_stores_its_executor_and_a_read_only_copy_of_its_options():
    wf = wf_with_x()
    options = {"priority": 3}

    @wf.step(executor="dask", executor_options=options)
    def score(x):
        return x

    options["priority"] = 9
    assert score.executor == "dask"
    assert dict(score.executor_options) == {"priority": 3}
    with pytest.raises(TypeError):
        score.executor_options["priority"] = 1  # type: ignore[index]


def test_a_local_step_has_no_executor_and_no_options():
    wf = wf_with_x()
    step = wf.step(lambda x: x, name="local")

    assert step.executor is None
    assert dict(step.executor_options) == {}


def test_a_parameter_annotated_remote_step_info_is_not_wired_but_receives_the_info():
    wf = wf_with_x()

    @wf.step(executor="dask")
    def score(x, meta: RemoteStepInfo):
        return x

    assert score.info_param == "meta"
    assert score.params == ("x",)
    assert wf.plan().arguments["score"].keys() == {"x"}


def test_a_string_annotation_remote_step_info_is_recognised_too():
    wf = wf_with_x()

    def score(x, info: "RemoteStepInfo"):  # noqa: UP037 - what modules with future annotations see
        return x

    assert wf.step(score, executor="dask").info_param == "info"


def test_a_local_step_may_take_the_info_too():
    wf = wf_with_x()

    def score(x, info: RemoteStepInfo):
        return x

    assert wf.step(score).info_param == "info"


def test_two_info_parameters_are_refused():
    wf = wf_with_x()

    def score(x, a: RemoteStepInfo, b: RemoteStepInfo):
        return x

    with pytest.raises(WorkflowDefinitionError, match="2 parameters annotated RemoteStepInfo"):
        wf.step(score)


def test_an_async_step_on_an_executor_is_refused_with_a_hint():
    wf = wf_with_x()

    async def fetch(x):
        return x

    with pytest.raises(WorkflowDefinitionError, match=r"is an async function.*make it a plain def"):
        wf.step(fetch, executor="dask")


def test_a_step_on_an_executor_that_takes_ctx_is_refused_naming_remote_step_info():
    wf = wf_with_x()

    def fetch(x, ctx):
        return x

    with pytest.raises(WorkflowDefinitionError, match=r"cannot be sent.*RemoteStepInfo"):
        wf.step(fetch, executor="dask")


def test_an_inline_step_cannot_run_on_an_executor():
    wf = wf_with_x()

    with pytest.raises(WorkflowDefinitionError, match="cannot also run inline"):
        wf.step(lambda x: x, name="tiny", executor="dask", inline=True)


@pytest.mark.parametrize("executor", [3, "", b"dask", ["dask"]])
def test_an_executor_that_is_not_a_name_is_refused(executor):
    wf = wf_with_x()

    with pytest.raises(WorkflowDefinitionError, match="executor= takes the name of an executor"):
        wf.step(lambda x: x, name="s", executor=executor)


@pytest.mark.parametrize("options", [["priority"], {1: 2}, "priority=1"])
def test_executor_options_that_are_not_a_mapping_of_names_are_refused(options):
    wf = wf_with_x()

    with pytest.raises(WorkflowDefinitionError, match="executor_options= takes a mapping"):
        wf.step(lambda x: x, name="s", executor="dask", executor_options=options)


def test_executor_options_without_an_executor_are_refused():
    wf = wf_with_x()

    with pytest.raises(WorkflowDefinitionError, match="add executor="):
        wf.step(lambda x: x, name="s", executor_options={"priority": 1})


# -- map steps ---------------------------------------------------------------------------------


def test_a_remote_map_stores_executor_options_and_chunk_size_on_its_spec_and_step():
    wf = wf_with_x()

    @wf.map(over="xs", executor="dask", executor_options={"priority": 1}, chunk_size=5)
    def parse(item):
        return item

    spec = parse.composite
    assert (spec.executor, spec.chunk_size) == ("dask", 5)
    assert dict(spec.executor_options) == {"priority": 1}
    assert parse.executor == "dask"


def test_the_element_goes_first_when_it_is_the_first_parameter():
    wf = wf_with_x()

    def parse(item, x):
        return item

    def tag(x, item):
        return item

    assert wf.map(parse, over="xs", executor="d").composite.item_first is True
    assert wf.map(tag, over="xs", item="item", executor="d").composite.item_first is False


def test_a_map_element_may_take_remote_step_info():
    wf = wf_with_x()

    @wf.map(over="xs", executor="dask")
    def parse(item, info: RemoteStepInfo):
        return item

    assert parse.composite.element_info == "info"
    assert parse.composite.item == "item"


def test_a_remote_map_of_an_async_function_is_refused():
    wf = wf_with_x()

    async def parse(item):
        return item

    with pytest.raises(WorkflowDefinitionError, match="async function"):
        wf.map(parse, over="xs", executor="dask")


def test_a_remote_map_whose_element_takes_ctx_is_refused():
    wf = wf_with_x()

    def parse(item, ctx):
        return item

    with pytest.raises(WorkflowDefinitionError, match="cannot be sent"):
        wf.map(parse, over="xs", executor="dask")


def test_a_remote_map_of_a_sub_workflow_is_refused():
    wf = wf_with_x()
    child = Workflow("child", inputs=["item"])
    child.step(lambda item: item, name="echo")

    with pytest.raises(WorkflowDefinitionError, match="workflow= map runs a sub-workflow"):
        wf.map(over="xs", workflow=child, executor="dask")


@pytest.mark.parametrize("chunk_size", [0, -1, 1.5, True, "2"])
def test_a_chunk_size_that_is_not_a_positive_int_is_refused(chunk_size):
    wf = wf_with_x()

    with pytest.raises(WorkflowDefinitionError, match="chunk_size must be a positive int"):
        wf.map(lambda item: item, name="m", over="xs", executor="d", chunk_size=chunk_size)


def test_a_chunk_size_without_an_executor_is_refused():
    wf = wf_with_x()

    with pytest.raises(WorkflowDefinitionError, match="add executor="):
        wf.map(lambda item: item, name="m", over="xs", chunk_size=4)


def test_a_chunk_larger_than_the_batch_could_never_fill_and_is_refused():
    wf = wf_with_x()

    larger = r"chunk_size \(10\) is larger than batch_size \(4\)"
    with pytest.raises(WorkflowDefinitionError, match=larger):
        wf.map(lambda item: item, name="m", over="xs", executor="d", batch_size=4, chunk_size=10)

"""Runtime(store=...): the store is checked at construction, opened first and closed last."""

import pytest

from arborist.runtime import Runtime, Workflow, WorkflowDefinitionError
from arborist.runtime.store import SQLiteStore


async def test_a_runtime_with_a_store_url_opens_it_for_its_block(tmp_path):
    path = tmp_path / "journal.db"
    async with Runtime(store=f"sqlite:///{path}") as rt:
        assert rt.store is not None
        assert (await rt.store.list_owners())[0].owner_id == rt.store.owner_id
    assert path.exists()


async def test_a_runtime_without_a_store_keeps_everything_in_memory():
    async with Runtime() as rt:
        assert rt.store is None


async def test_a_store_object_is_accepted_as_well(tmp_path):
    async with Runtime(store=SQLiteStore(tmp_path / "journal.db")) as rt:
        assert rt.store is not None


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"store": "mysql://x"}, ValueError, "mysql://x"),
        ({"store": 42}, TypeError, "store must be a URL"),
        ({"recover": "sometimes"}, ValueError, "recover must be 'auto' or 'manual'"),
        ({"workflows": "wf"}, TypeError, "workflows takes a list"),
        ({"workflows": [42]}, TypeError, "workflows takes Workflow objects"),
    ],
    ids=["bad url", "not a store", "recover", "workflows str", "workflows item"],
)
def test_bad_durability_options_are_refused_at_construction(options, error, match):
    with pytest.raises(error, match=match):
        Runtime(**options)


def test_two_different_workflows_with_one_name_cannot_both_be_registered():
    other = Workflow("w")
    other.step(lambda: None, name="s")
    with pytest.raises(WorkflowDefinitionError, match="two different workflows are named 'w'"):
        Runtime(workflows=[Workflow("w"), other])


def test_a_workflow_built_again_alike_replaces_the_one_registered_under_its_name():
    first, again = Workflow("w"), Workflow("w")
    rt = Runtime(workflows=[first, again])
    assert rt._durability.workflows["w"] is again

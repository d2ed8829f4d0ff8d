"""How a tree snapshot's lines show child ids."""

from arborist.supervision._snapshot import ChildState, NodeSnapshot
from arborist.supervision._spec import Kind


def node(child_id):
    return NodeSnapshot(id=child_id, kind=Kind.WORKER, state=ChildState.RUNNING)


def test_a_tuple_child_id_reads_as_its_parts_joined_by_colons():
    assert node(("schedule", "hourly")).label().split()[0] == "schedule:hourly"


def test_a_str_child_id_reads_as_itself():
    assert node("worker-1").label().split()[0] == "worker-1"

"""The runtime's durable side: which store it journals to, and the workflows it can recover.

``Runtime(store=...)`` names a store (a URL such as ``sqlite:///arborist.db`` or
``postgresql://...``, or a ``SQLiteStore``/``PostgresStore`` object); ``store=None`` (the
default) keeps everything in memory, at today's speed. A run can be recovered only by a process
that has its ``Workflow``: workflows given as ``Runtime(workflows=[...])`` are known before the
first new run (so recovery can happen on ``async with``), and every workflow a durable runtime
runs is registered by name as well. ``recover="auto"`` (the default with a store) recovers on
``async with``; ``"manual"`` leaves unfinished runs to ``rt.resume(run_id)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from .store import Store, store_from_url
from .workflow._errors import WorkflowDefinitionError
from .workflow._shape import plan_hash
from .workflow._workflow import Workflow

__all__ = ["RECOVER_MODES", "Durability"]

RECOVER_MODES = ("auto", "manual")
"""What ``Runtime(recover=...)`` takes."""


class Durability:
    """A runtime's store (not yet opened), its known workflows and its recovery mode."""

    __slots__ = ("recover", "store", "workflows")

    def __init__(
        self,
        store: str | Store | None,
        workflows: Iterable[Workflow],
        recover: Literal["auto", "manual"],
    ) -> None:
        if store is None or isinstance(store, Store):
            self.store = store
        elif isinstance(store, str):
            self.store = store_from_url(store)  # a bad URL is an error here, at construction
        else:
            raise TypeError(
                "store must be a URL (sqlite:///path.db, postgresql://...), a SQLiteStore or "
                f"PostgresStore, or None for in memory; got {store!r}"
            )
        if recover not in RECOVER_MODES:
            raise ValueError(f"recover must be 'auto' or 'manual'; got {recover!r}")
        self.recover = recover
        self.workflows: dict[str, Workflow] = {}
        if isinstance(workflows, str | Workflow) or not isinstance(workflows, Iterable):
            raise TypeError(f"workflows takes a list of Workflow objects; got {workflows!r}")
        for workflow in workflows:
            if not isinstance(workflow, Workflow):
                raise TypeError(f"workflows takes Workflow objects; got {workflow!r}")
            self.register(workflow)

    @property
    def enabled(self) -> bool:
        """Whether the runtime journals (it has a store)."""
        return self.store is not None

    def register(self, workflow: Workflow) -> None:
        """Know ``workflow`` by its name, for recovery; a name means one workflow.

        Another object with the same name and the same plan (a workflow built again by the
        same code) replaces the one known: the newest definition recovers its runs.

        Raises:
            WorkflowDefinitionError: a workflow with another plan already has that name.
        """
        known = self.workflows.get(workflow.name)
        if (
            known is None
            or known is workflow
            or plan_hash(known.plan()) == plan_hash(workflow.plan())
        ):
            self.workflows[workflow.name] = workflow
        else:
            raise WorkflowDefinitionError(
                f"two different workflows are named {workflow.name!r}; a durable runtime "
                "recovers runs by workflow name, so give each workflow a name of its own",
                workflow=workflow.name,
            )

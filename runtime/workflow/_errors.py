"""Errors raised while defining a workflow or calling it with the wrong inputs.

Both are raised before any step runs. Their messages state the subject, the rule that was
broken and the change that fixes it; their attributes carry the same facts for programs.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["WorkflowDefinitionError", "WorkflowInputError"]


class WorkflowDefinitionError(ValueError):
    """A workflow or one of its steps is defined wrongly.

    Raised at decoration time for what a single step shows (a duplicate name, ``*args``, an
    ``args=`` key that is not a parameter) and by :func:`~arborist.runtime.plan` for what needs
    the whole graph (an unknown argument or step, a cycle, a bad ``returns``).

    Attributes:
        workflow: The workflow's name.
        step: The offending step's name, or ``None`` when the error concerns the workflow.
    """

    def __init__(self, message: str, *, workflow: str, step: str | None = None) -> None:
        super().__init__(message)
        self.workflow = workflow
        self.step = step

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_definition_error, (str(self), self.workflow, self.step))


class WorkflowInputError(TypeError):
    """A workflow was called with missing or unexpected inputs.

    A ``TypeError``, as Python raises for a function called with the wrong keyword arguments.

    Attributes:
        workflow: The workflow's name.
        missing: Declared inputs that were not given, in declaration order.
        unexpected: Given names that are not inputs, sorted.
    """

    def __init__(
        self,
        message: str,
        *,
        workflow: str,
        missing: Iterable[str] = (),
        unexpected: Iterable[str] = (),
    ) -> None:
        super().__init__(message)
        self.workflow = workflow
        self.missing: tuple[str, ...] = tuple(missing)
        self.unexpected: tuple[str, ...] = tuple(unexpected)

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_input_error,
            (str(self), self.workflow, self.missing, self.unexpected),
        )


def _rebuild_definition_error(
    message: str, workflow: str, step: str | None
) -> WorkflowDefinitionError:
    return WorkflowDefinitionError(message, workflow=workflow, step=step)


def _rebuild_input_error(
    message: str, workflow: str, missing: tuple[str, ...], unexpected: tuple[str, ...]
) -> WorkflowInputError:
    return WorkflowInputError(message, workflow=workflow, missing=missing, unexpected=unexpected)

"""Where a step runs: the checks of ``executor=``, ``executor_options=`` and ``chunk_size=``.

A step (or a map step's elements) may run on one of the runtime's executors. Declared here is
only what the step shows on its own: the names' and options' types, that a remote function is
a plain function without ``ctx``, how a map is chunked; whether the runtime has that executor
and takes the options is checked at ``rt.start``. A parameter annotated ``RemoteStepInfo`` (by
class name: this package imports nothing from the executors) receives the attempt's info.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import WorkflowDefinitionError

__all__ = [
    "INFO_CLASS",
    "NO_OPTIONS",
    "annotated_as",
    "check_executor",
    "check_remote_map",
    "check_remote_step",
    "is_info_annotation",
]

INFO_CLASS = "RemoteStepInfo"
"""A parameter annotated with a class of this name receives the attempt's ``RemoteStepInfo``."""
NO_OPTIONS: Mapping[str, Any] = types.MappingProxyType({})
"""The executor options of a step that gives none (one shared, read-only mapping)."""

Fail = Callable[[str], WorkflowDefinitionError]
_NOT_SENDABLE = "which holds this process's runtime and cannot be sent"


def annotated_as(annotation: object, class_name: str) -> bool:
    """Whether ``annotation`` names the class ``class_name`` (the class, or a string)."""
    if isinstance(annotation, str):  # a postponed annotation; quoted again under __future__
        return annotation.strip("'\"").rsplit(".", 1)[-1] == class_name
    return getattr(annotation, "__name__", None) == class_name


def is_info_annotation(annotation: object) -> bool:
    """Whether an annotation names ``RemoteStepInfo`` (a class of that name, or a string)."""
    return annotated_as(annotation, INFO_CLASS)


def check_executor(fail: Fail, step: str, executor: object, options: object) -> Mapping[str, Any]:
    """Check ``executor=`` (a name) and ``executor_options=`` (a mapping with str keys).

    Returns:
        The options as a read-only mapping (``NO_OPTIONS`` if None).
    """
    if executor is not None and (not isinstance(executor, str) or not executor):
        raise fail(
            f"step {step!r}: executor= takes the name of an executor given to "
            f"Runtime(executors={{name: ...}}), got {executor!r}"
        )
    if options is None:
        return NO_OPTIONS
    if executor is None:
        raise fail(
            f"step {step!r}: executor_options= are the engine's options for executor=; "
            "add executor='...' or drop executor_options="
        )
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise fail(
            f"step {step!r}: executor_options= takes a mapping of option names to values, "
            f"e.g. {{'resources': {{'GPU': 1}}}}, got {options!r}"
        )
    return types.MappingProxyType(dict(options))


def check_remote_step(
    fail: Fail,
    step: str,
    executor: str,
    function: str,
    is_async: bool,
    context: str | None,
    inline: bool,
) -> None:
    """Refuse what a step on an executor cannot be: async, taking ``ctx``, inline."""
    where = f"step {step!r} runs on executor {executor!r}"
    if is_async:
        raise fail(
            f"{where}, but {function!r} is an async function; executors run plain functions "
            "on their workers, outside trio: make it a plain def, or drop executor= to await "
            "it here"
        )
    if context is not None:
        raise fail(
            f"{where} and takes the step context {context!r}, {_NOT_SENDABLE}; take a "
            "parameter annotated RemoteStepInfo instead (run id, step, attempt, idempotency key)"
        )
    if inline:
        raise fail(f"{where}, so it cannot also run inline in the coordinator")


def check_remote_map(
    fail: Fail,
    name: str,
    executor: str | None,
    *,
    function: str | None,
    is_async: bool,
    context: str | None,
    batch_size: int,
    chunk_size: object,
) -> int:
    """Check a map step's executor and ``chunk_size``; return the chunk size.

    ``function`` is None for a ``workflow=`` map; ``context`` names the element's ``ctx``
    parameter, if it takes one.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise fail(f"map step {name!r}: chunk_size must be a positive int; got {chunk_size!r}")
    if executor is None:
        if chunk_size != 1:
            raise fail(
                f"map step {name!r}: chunk_size= groups elements into engine tasks of an "
                "executor; add executor='...' or drop chunk_size="
            )
        return chunk_size
    where = f"map step {name!r} runs its elements on executor {executor!r}"
    if function is None:
        raise fail(
            f"{where}, but a workflow= map runs a sub-workflow per element here; give a "
            "plain function instead, or drop executor="
        )
    if is_async:
        raise fail(
            f"{where}, but {function!r} is an async function; executors run plain functions "
            "on their workers, outside trio: make it a plain def"
        )
    if context is not None:
        raise fail(
            f"{where}, and its function takes {context!r}, {_NOT_SENDABLE}; take a parameter "
            "annotated RemoteStepInfo instead"
        )
    if chunk_size > batch_size:
        raise fail(
            f"map step {name!r}: chunk_size ({chunk_size}) is larger than batch_size "
            f"({batch_size}), so no chunk could ever fill; lower chunk_size or raise batch_size"
        )
    return chunk_size

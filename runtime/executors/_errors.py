"""The executor layer's errors: missing engines, bad options, unsendable values, cancels."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "EngineMissingError",
    "ExecutorClosedError",
    "ExecutorOptionError",
    "NotSendableError",
    "RemoteCallPendingError",
    "RemoteCancelledError",
]


class EngineMissingError(ImportError):
    """An executor's engine (Dask distributed, Ray) is not installed.

    Attributes:
        executor: the executor class that needs it.
        module: the module that failed to import.
        extra: the arborist extra that installs it.
    """

    def __init__(self, executor: str, module: str, extra: str) -> None:
        self.executor = executor
        self.module = module
        self.extra = extra
        super().__init__(
            f"{executor} needs {module!r}, which is not installed; "
            f"install it with: pip install 'arborist[{extra}]'",
            name=module,
        )


class ExecutorOptionError(ValueError):
    """An ``executor_options`` key that the engine does not take or that arborist owns.

    Attributes:
        executor: the executor's name.
        option: the offending key.
    """

    def __init__(
        self, executor: str, option: str, reason: str, allowed: Iterable[str] | None = None
    ) -> None:
        self.executor = executor
        self.option = option
        message = f"executor {executor!r}: executor_options key {option!r} {reason}"
        if allowed is not None:
            message += f"; allowed keys: {', '.join(sorted(allowed)) or 'none'}"
        super().__init__(message)


class NotSendableError(TypeError):
    """A function or argument of a remote step cannot be pickled to send it to the engine.

    Attributes:
        what: the step (or element) that would send it, e.g. ``"step 'parse'"``.
        name: which value: ``"the function"``, ``"argument 0"``, ``"argument 'lock'"``.
        value: the value itself.
    """

    def __init__(self, what: str, name: str, value: Any, cause: BaseException) -> None:
        self.what = what
        self.name = name
        self.value = value
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        hint = _hint(value)
        super().__init__(
            f"{what} runs on an executor, but {name} ({shown}) cannot be sent there: "
            f"{type(cause).__name__}: {cause}. {hint}"
        )


def _hint(value: Any) -> str:
    module = type(value).__module__ or ""
    if module == "trio" or module.startswith("trio."):
        return (
            "trio objects belong to the local trio loop; pass plain data and keep trio "
            "work in local steps"
        )
    if module.startswith("arborist."):
        return "arborist objects (contexts, pools, refs) stay local; pass plain data"
    return "pass picklable values (plain data), or run this step locally"


class RemoteCancelledError(Exception):
    """The result of a cancelled remote call was asked for.

    Attributes:
        label: the call's label.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        super().__init__(f"remote call {label!r} was cancelled")


class RemoteCallPendingError(RuntimeError):
    """``RemoteCall.result()`` was called before the call was done (it never blocks)."""

    def __init__(self, label: str) -> None:
        self.label = label
        super().__init__(
            f"remote call {label!r} is not done yet; await wait_remote(call) for its result"
        )


class ExecutorClosedError(RuntimeError):
    """A call was submitted to an executor that is not open (before ``open()``, after close)."""

    def __init__(self, executor: str, state: str) -> None:
        self.executor = executor
        super().__init__(
            f"executor {executor!r} is {state}; submit only between 'await executor.open()' "
            "and 'await executor.aclose()'"
        )

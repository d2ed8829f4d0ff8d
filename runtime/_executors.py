"""The runtime's executors: checked when the runtime is made, opened first, closed last.

``Runtime(executors={"dask": DaskExecutor(...)})`` names the executors its steps may run on
(``@wf.step(executor="dask")``). The mapping is checked at construction; ``open_executors``
opens them one after another in the order given when the runtime is entered, before anything
runs (one that fails to open closes those already open, and its error is raised), and
``close_executors`` closes them in reverse order once the runs have ended
(``RuntimeExecutors`` does both for a runtime, closing once).
"""

from __future__ import annotations

import logging
import types
from collections.abc import Mapping

import trio

from .executors import Executor

__all__ = ["RuntimeExecutors", "check_executors", "close_executors", "open_executors"]

logger = logging.getLogger("arborist.runtime")

_KINDS = "DaskExecutor, RayExecutor, ProcessExecutor or ThreadExecutor"


def check_executors(executors: object) -> Mapping[str, Executor]:
    """Return ``executors`` as a read-only mapping of names to executors, or raise.

    Raises:
        TypeError: not a mapping, a name that is not a string, a value that is not an
            ``Executor``.
        ValueError: an empty name, or one executor under two names.
    """
    if executors is None:
        return types.MappingProxyType({})
    if not isinstance(executors, Mapping):
        raise TypeError(
            "executors takes a mapping of names to executors, e.g. "
            f"executors={{'dask': DaskExecutor(address=...)}}; got {executors!r}"
        )
    checked: dict[str, Executor] = {}
    names: dict[int, str] = {}
    for name, executor in executors.items():
        if not isinstance(name, str):
            raise TypeError(
                f"executors: names are strings (steps say executor='...'); got {name!r}"
            )
        if not name:
            raise ValueError("executors: a name must be a non-empty string; got ''")
        if not isinstance(executor, Executor):
            raise TypeError(
                f"executors[{name!r}] is {executor!r}, which is not an executor; give a "
                f"{_KINDS} (or an object with open, validate_options, submit, submit_many "
                "and aclose)"
            )
        other = names.setdefault(id(executor), name)
        if other != name:
            raise ValueError(
                f"executors[{name!r}] is the same executor as executors[{other!r}]; an "
                "executor is opened and closed once, so give it one name"
            )
        checked[name] = executor
    return types.MappingProxyType(checked)


async def open_executors(executors: Mapping[str, Executor]) -> None:
    """Open each executor in order; if one fails, close the ones opened and raise its error.

    Raises:
        Exception: what the failing ``open()`` raised, with a note naming the executor.
    """
    opened: list[tuple[str, Executor]] = []
    try:
        for name, executor in executors.items():
            try:
                await executor.open()
            except BaseException as exc:
                if isinstance(exc, Exception):
                    exc.add_note(
                        f"while opening executor {name!r} of the runtime (it opens its "
                        "executors itself: give it executors that are not open yet)"
                    )
                raise
            opened.append((name, executor))
    except BaseException:
        await close_executors(dict(opened))
        raise


async def close_executors(executors: Mapping[str, Executor]) -> None:
    """Close each executor, last opened first, shielded; a failure is logged, never raised."""
    with trio.CancelScope(shield=True):
        for name, executor in reversed(list(executors.items())):
            try:
                await executor.aclose()
            except Exception:
                logger.exception("executor %r of the runtime failed to close", name)


class RuntimeExecutors:
    """A runtime's executors: checked now, opened once, closed once (the first close wins).

    Args:
        executors: the ``Runtime(executors=...)`` argument (see ``check_executors``).
    """

    __slots__ = ("_open", "mapping")

    def __init__(self, executors: object) -> None:
        self.mapping = check_executors(executors)
        self._open = False

    def __repr__(self) -> str:
        state = "open" if self._open else "closed"
        return f"<RuntimeExecutors {', '.join(self.mapping) or 'none'} {state}>"

    async def open(self) -> None:
        """Open every executor (see ``open_executors``)."""
        await open_executors(self.mapping)
        self._open = True

    async def aclose(self) -> None:
        """Close every executor if they are open (see ``close_executors``); idempotent."""
        if self._open:
            self._open = False
            await close_executors(self.mapping)

"""``RayExecutor``: the executor protocol on Ray tasks.

Each call is one ``ray.remote(fn).options(max_retries=0, retry_exceptions=False, ...)``
task (Ray's own retries only when the options set them). One ``RayWatcher`` thread per
executor waits for all pending tasks in batches (``ray.wait`` then ``ray.get``, as a plain
``ray.get([...])`` does) and settles them, so no Python runs on Ray's threads per task and
results that end together share one trio wake-up. Cancel is ``ray.cancel(ref, force=True)``,
which drops a queued task and kills the worker process of a running one (``KILLED``):
``force=False`` cannot stop a task blocked in C (ray-project/ray#32954). A ``RayTaskError``
is unwrapped to the user's own exception (its ``cause``). Ray runs no async functions as
tasks.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import trio

from ._call import CallBase
from ._chunks import check_chunk_size, chunked
from ._common import CLOSED, NEW, OPEN, Lifecycle, check_plain
from ._engines import require_engine
from ._errors import ExecutorOptionError
from ._protocol import CancelResult, RemoteCall, SubmitItem
from ._ray_watch import RayWatcher
from ._remote import run_chunk

__all__ = ["RAY_DEFAULTS", "RayExecutor"]

RAY_DEFAULTS: Mapping[str, Any] = {"max_retries": 0, "retry_exceptions": False}
"""Task options arborist sets unless ``executor_options`` does: arborist owns the retries."""


_CACHE_SIZE = 1024
"""How many Ray remote functions, and option wrappers, the process keeps (least recent go)."""

# Ray's remote functions and option wrappers outlive ``ray.shutdown()`` and a new
# ``ray.init`` (Ray exports a function again when the cluster changed), as a module-level
# ``@ray.remote`` does, so every executor and runtime of the process (a runtime per run, a
# test per runtime) shares them: two bounded caches (keys hold their function, so not weak).


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _remote_of(ray: Any, fn: Callable[..., Any]) -> Any:
    """``ray.remote(fn)``, once per function (TypeError for an unhashable ``fn``)."""
    return ray.remote(fn if inspect.isfunction(fn) else _as_function(fn))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _prepared_of(
    ray: Any, fn: Callable[..., Any], name: str, opts: tuple[tuple[str, Any], ...]
) -> Any:
    """``ray.remote(fn).options(name=name, **opts)``, once per function, name and options."""
    return _remote_of(ray, fn).options(name=name, **dict(opts))


def _as_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A Python function calling ``fn``: ``ray.remote`` takes no builtins, partials or objects."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    call.__name__ = call.__qualname__ = getattr(fn, "__name__", type(fn).__name__)
    return call


class RayCall(CallBase):
    """One Ray task, settled by the executor's ``RayWatcher``; cancel kills it."""

    __slots__ = ("_executor", "_ref")

    def __init__(self, executor: RayExecutor, ref: Any, label: str) -> None:
        super().__init__(label)
        self._executor = executor
        self._ref = ref

    def _settle_outcome(self, outcome: Any, ok: bool) -> None:
        if ok:
            self._settle_value(outcome)
        else:
            self._settle_error(self._executor._unwrap(outcome))
        self._mark_gone()  # its function has returned (or was killed): nothing runs any more

    def _engine_cancel(self) -> CancelResult:
        self._executor._ray.cancel(self._ref, force=True)
        return CancelResult.KILLED


def _probe() -> None:  # pragma: no cover - never run; only its options are validated
    return None


class RayExecutor:
    """Runs calls as Ray tasks; connects to a cluster or starts a local one in ``open()``.

    With neither ``init`` nor ``address``, an already initialised Ray is used as it is (and
    not shut down); otherwise ``open()`` calls ``ray.init(address=..., **init)`` off the trio
    thread and ``aclose()`` calls ``ray.shutdown()``.

    Args:
        init: keyword arguments for ``ray.init`` (e.g. ``{"num_cpus": 2}``).
        address: a cluster address for ``ray.init(address=...)``.
        name: the executor's name in messages and events.

    Raises:
        EngineMissingError: ray is not installed (``pip install 'arborist[ray]'``).
    """

    def __init__(
        self,
        *,
        init: Mapping[str, Any] | None = None,
        address: str | None = None,
        name: str = "ray",
    ) -> None:
        self._ray = require_engine("RayExecutor", "ray", "ray")
        self._exceptions = require_engine("RayExecutor", "ray.exceptions", "ray")
        self._watcher = RayWatcher(self._ray, f"arborist-{name}-watcher")
        self._life = Lifecycle(name)
        self._init = dict(init or {})
        if address is not None:
            self._init["address"] = address
        self._owns_ray = False

    def __repr__(self) -> str:
        return f"<RayExecutor {self.name!r} {self._life.state}>"

    @property
    def name(self) -> str:
        """The executor's name."""
        return self._life.name

    async def open(self) -> None:
        """Initialise Ray (off the trio thread) unless it already is and nothing was given.

        Raises:
            RuntimeError: opened twice.
        """
        if self._life.state is not NEW:
            raise RuntimeError(
                f"executor {self.name!r} can be opened once; it is {self._life.state}"
            )
        if self._init or not self._ray.is_initialized():
            await trio.to_thread.run_sync(lambda: self._ray.init(**self._init))
            self._owns_ray = True
        self._life.state = OPEN

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Ray's task options, checked by Ray itself; arborist's defaults filled in.

        Raises:
            ExecutorOptionError: ``name`` (set by arborist) or a key Ray rejects.
        """
        merged = self._merge(options)
        remote = self._ray.remote(_probe)
        for key, value in merged.items():  # one at a time, so the error names the key
            try:
                remote.options(**{key: value})
            except (ValueError, TypeError) as exc:
                raise ExecutorOptionError(self.name, key, f"is refused by Ray: {exc}") from exc
        return merged

    def _merge(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        if not options:
            return dict(RAY_DEFAULTS)
        if "name" in options:
            raise ExecutorOptionError(self.name, "name", "is set by arborist (the call's label)")
        return {**RAY_DEFAULTS, **options}

    def _remote(self, fn: Callable[..., Any]) -> Any:
        try:
            return _remote_of(self._ray, fn)
        except TypeError:  # an unhashable callable: wrapped again next time
            return self._ray.remote(fn if inspect.isfunction(fn) else _as_function(fn))

    def _with_options(self, fn: Callable[..., Any], name: str, opts: dict[str, Any]) -> Any:
        """``ray.remote(fn).options(name=name, **opts)``, made once per function and options.

        Ray validates the options and builds a wrapper class in each ``options()`` call
        (35-100 us); a task's name is the label without the per-call suffix, so one wrapper
        serves every call of a step, in every executor of the process (``_prepared_of``).
        """
        try:
            return _prepared_of(self._ray, fn, name, tuple(sorted(opts.items())))
        except TypeError:  # an unhashable option value (a runtime_env dict): not cached
            return self._remote(fn).options(name=name, **opts)

    def _call(self, ref: Any, label: str) -> RemoteCall:
        call = RayCall(self, ref, label)
        self._watcher.watch(ref, call)
        return call

    def _unwrap(self, error: BaseException) -> BaseException:
        cause = getattr(error, "cause", None)
        if isinstance(error, self._exceptions.RayTaskError) and isinstance(cause, BaseException):
            return cause
        return error

    def submit(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        label: str | None = None,
    ) -> RemoteCall:
        """Submit ``fn(*args, **kwargs)`` as one Ray task; never waits for it.

        Raises:
            ExecutorClosedError: not open.
            ExecutorOptionError: a bad option.
            TypeError: ``fn`` is async, or an argument cannot be serialised.
        """
        self._life.require_open()
        check_plain(self.name, fn)
        name = self._life.label(fn, label)
        opts = self._merge(options)  # Ray checks the keys itself in .options()
        task = self._with_options(fn, label or str(getattr(fn, "__name__", "call")), opts)
        ref = task.remote(*args, **(kwargs or {}))
        return self._call(ref, name)

    def submit_many(
        self,
        fn: Callable[..., Any],
        items: Sequence[SubmitItem],
        options: Mapping[str, Any] | None = None,
        *,
        chunk_size: int = 1,
        label: str | None = None,
    ) -> list[RemoteCall]:
        """One Ray task per item, or per ``chunk_size`` items (the function is put once).

        Ray has no batch submission: each task is one ``.remote()`` (a local, non-blocking
        call); chunks cut the per-task overhead for many small elements.

        Raises:
            ExecutorClosedError: not open.
            ExecutorOptionError: a bad option.
            ValueError: a bad ``chunk_size``.
        """
        self._life.require_open()
        check_plain(self.name, fn)
        check_chunk_size(chunk_size)
        opts = self._merge(options)
        base = self._life.label(fn, label)
        if chunk_size == 1:
            task = self._with_options(fn, label or str(getattr(fn, "__name__", "call")), opts)
            calls: list[RemoteCall] = []
            for i, (args, kwargs) in enumerate(items):
                ref = task.remote(*args, **kwargs)
                calls.append(self._call(ref, f"{base}[{i}]"))
            return calls
        fn_ref = self._ray.put(fn)
        task_name = f"{label or getattr(fn, '__name__', 'call')}-chunk"
        chunk_task = self._with_options(run_chunk, task_name, opts)

        def submit_chunk(chunk: list[tuple[tuple[Any, ...], dict[str, Any]]], name: str) -> Any:
            ref = chunk_task.remote(fn_ref, chunk)
            return self._call(ref, name)

        return chunked(submit_chunk, items, chunk_size, base)

    async def aclose(self) -> None:
        """Kill the calls still pending, then shut Ray down if ``open()`` initialised it.

        Blocking parts run off the trio thread; idempotent. A killed call is settled as
        cancelled and reported gone at once (its watcher has stopped).
        """
        state, self._life.state = self._life.state, CLOSED
        if state is not OPEN:
            return
        for call in await trio.to_thread.run_sync(self._watcher.stop):
            assert isinstance(call, RayCall)
            call.cancel()
            call._mark_gone()
        if self._owns_ray:
            await trio.to_thread.run_sync(self._ray.shutdown)

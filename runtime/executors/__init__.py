"""Executors: run a step or a map element on threads, processes, Dask distributed or Ray.

This layer imports only the standard library, trio, attrs and outcome; Dask and Ray are
imported when their executor is constructed (``EngineMissingError`` names the extra to
install). Nothing here imports the rest of arborist: the workflow engine calls it for steps
declared with ``executor=`` (``Runtime(executors={name: executor})`` opens and closes them).

Semantics, in one place:

- An ``Executor`` is opened once (``await ex.open()``), takes submissions from the trio
  thread, and is closed once (``await ex.aclose()``). ``submit(fn, args, kwargs, options)``
  never blocks the trio loop and returns a ``RemoteCall``; ``submit_many`` sends a batch of
  calls in as few engine messages as the engine allows, ``chunk_size`` calls per engine task.
- An executor runs each submission once: retries, backoff, timeouts and compensation belong
  to the caller. Engine retries are off (Dask ``retries`` unset, ``pure=False`` and a
  unique key per submission; Ray ``max_retries=0, retry_exceptions=False``) unless the
  caller's options set them; unknown options raise ``ExecutorOptionError`` early.
- ``await wait_remote(call)`` returns the value or raises the user's own exception (Ray's
  ``RayTaskError`` unwrapped to its cause). The engine's done callback wakes trio through
  ``TrioToken.run_sync_soon``: no thread per pending call.
- Cancelling the waiting task cancels the call, best effort, and ``call.cancel_result``
  says what really happened (``CancelResult``): a queued call is dropped; Ray kills a
  running task's worker process; threads, processes and Dask can only abandon a running
  function, which runs to its end. ``wait_remote(call, hold_until_gone=True)`` then waits,
  shielded and bounded, until the engine reports it gone, so a slot held around the await
  bounds the work really running.
- A step on an executor receives a picklable ``RemoteStepInfo`` instead of ``ctx``;
  ``check_sendable`` pickles a function and its arguments as the engines would and raises
  ``NotSendableError`` naming the step and the value.
"""

from ._dask import DASK_OPTIONS, DaskExecutor
from ._errors import (
    EngineMissingError,
    ExecutorClosedError,
    ExecutorOptionError,
    NotSendableError,
    RemoteCallPendingError,
    RemoteCancelledError,
)
from ._info import RemoteStepInfo
from ._local import ProcessExecutor, ThreadExecutor
from ._protocol import CancelResult, Executor, RemoteCall, SubmitItem
from ._ray import RAY_DEFAULTS, RayExecutor
from ._sendable import check_sendable
from ._wait import wait_gone, wait_remote

__all__ = [
    "DASK_OPTIONS",
    "RAY_DEFAULTS",
    "CancelResult",
    "DaskExecutor",
    "EngineMissingError",
    "Executor",
    "ExecutorClosedError",
    "ExecutorOptionError",
    "NotSendableError",
    "ProcessExecutor",
    "RayExecutor",
    "RemoteCall",
    "RemoteCallPendingError",
    "RemoteCancelledError",
    "RemoteStepInfo",
    "SubmitItem",
    "ThreadExecutor",
    "check_sendable",
    "wait_gone",
    "wait_remote",
]

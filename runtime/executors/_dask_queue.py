"""``SubmitQueue``: the Dask submissions of one trio batch, sent in one scheduler message.

``DaskExecutor.submit``, called in trio, sends the first call of a batch at once
(``client.submit``: a chain's steps wait for nothing) and opens a batch: ``send`` is scheduled
with ``TrioToken.run_sync_soon``, which runs on the trio thread once the tasks running now have
yielded (the steps the coordinator started together have all submitted by then). The calls
submitted meanwhile are queued, and ``send`` gives every queued call
with the same options to one ``client.map(dask.utils.apply, fns, args, kwargs, key=keys)``
(a call alone is one ``client.submit``):
one graph update on the scheduler instead of one per call (the scheduler parses each on a
thread, on the IO loop the client shares), and one hop into the client's loop for all their
watchers. Dask parses the arguments as ``client.submit`` does (a Dask future among them is a
dependency), keys stay one per call, and the calls keep their order.

1. A call cancelled while queued is never sent (``CancelResult.NOT_STARTED``).
2. If a batch cannot be sent (a value that does not pickle fails the whole message), each of
   its calls is sent alone; a call that still fails is settled with the error, as
   ``client.submit`` would have raised it: a ``NotSendableError`` naming the value when
   pickling it fails (the engine then names the step, ``engine._remote``), else Dask's own.
3. ``DaskExecutor.aclose`` sends what is queued before it closes anything.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._errors import NotSendableError
from ._sendable import check_sendable

if TYPE_CHECKING:
    import trio

    from ._dask import DaskCall

__all__ = ["SubmitQueue", "submit_one"]

# distributed's Client and Future are untyped here, as in _dask.
Client = Any
Future = Any

_Entry = tuple["DaskCall", Callable[..., Any], tuple[Any, ...], dict[str, Any], dict[str, Any]]
"""``(call, fn, args, kwargs, options)``: one queued submission."""


def submit_one(
    client: Client,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any] | None,
    key: str,
    options: Mapping[str, Any],
) -> Future:
    """``client.submit`` one call under ``key`` (``pure=False``); raises what Dask raises."""
    # kwargs go in a partial: client.submit's own keywords (key, priority...) would
    # otherwise swallow a function parameter of the same name.
    target = functools.partial(fn, **kwargs) if kwargs else fn
    return client.submit(target, *args, key=key, pure=False, **options)


def _same_options(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    try:
        return a is b or bool(a == b)
    except Exception:  # an option value whose == is no bool: send apart
        return False


class SubmitQueue:
    """The calls a Dask executor has accepted in this trio batch and not sent yet.

    ``join``, ``put`` and ``send`` run on the trio thread; ``drop`` (a cancel) on any thread.
    """

    __slots__ = ("_apply", "_client", "_entries", "_lock", "_open", "_watch")

    def __init__(
        self,
        client: Client,
        apply: Callable[..., Any],
        watch: Callable[[list[DaskCall]], None],
    ) -> None:
        self._client = client
        self._apply = apply  # dask.utils.apply: importable on every Dask worker
        self._watch = watch
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []
        self._open = False  # a send is scheduled: calls submitted now join its batch

    def join(self, token: trio.lowlevel.TrioToken) -> bool:
        """True if a batch is open (``put`` the call); else open one and send the call now."""
        if self._open:
            return True
        self._open = True
        token.run_sync_soon(self.send)
        return False

    def put(self, entry: _Entry) -> None:
        """Queue ``entry`` for the open batch's ``send``."""
        with self._lock:
            self._entries.append(entry)

    def drop(self, call: DaskCall) -> bool:
        """Take ``call`` out if it has not been sent; True if it never will be."""
        with self._lock:
            if not call._queued:
                return False
            call._queued = False
            return True

    def send(self) -> None:
        """Send every queued call: one ``client.map`` per run of calls with equal options."""
        failed: list[tuple[DaskCall, BaseException]] = []
        sent: list[DaskCall] = []
        with self._lock:  # a concurrent cancel waits until its call has its future
            entries, self._entries = self._entries, []
            self._open = False
            group: list[_Entry] = []
            for entry in entries:
                if not entry[0]._queued:
                    continue  # cancelled while queued
                if group and not _same_options(group[0][4], entry[4]):
                    self._send_group(group, sent, failed)
                    group = []
                group.append(entry)
            if group:
                self._send_group(group, sent, failed)
        if sent:
            self._watch(sent)
        for call, error in failed:
            call._settle_error(error)
            call._mark_gone()  # never sent: nothing runs

    def _send_group(
        self,
        group: list[_Entry],
        sent: list[DaskCall],
        failed: list[tuple[DaskCall, BaseException]],
        *,
        again: bool = False,
    ) -> None:
        calls = [entry[0] for entry in group]
        client = self._client
        try:
            # A call alone is a submit, as outside trio (a chain's steps), but not once a
            # batch has failed: its futures may still be alive, and client.submit of a key
            # it already holds sends nothing (client.map sends the task again).
            if len(group) == 1 and not again:
                call, fn, args, kwargs, options = group[0]
                futures = [submit_one(client, fn, args, kwargs, call.label, options)]
            else:
                futures = client.map(
                    self._apply,
                    [entry[1] for entry in group],
                    [entry[2] for entry in group],
                    [entry[3] for entry in group],
                    key=[call.label for call in calls],
                    pure=False,
                    **group[0][4],
                )
        except Exception as exc:
            if len(group) > 1:  # find the call that cannot be sent: each alone
                for entry in group:
                    self._send_group([entry], sent, failed, again=True)
                return
            call, fn, args, kwargs, _ = group[0]
            call._queued = False
            failed.append((call, _explained(call.label, fn, args, kwargs, exc)))
            return
        for call, future in zip(calls, futures, strict=True):
            call._future = future
            call._queued = False
        sent.extend(calls)


def _explained(
    label: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: Exception,
) -> BaseException:
    """``NotSendableError`` naming the value that does not pickle, else ``error`` itself."""
    try:
        check_sendable(f"Dask call {label!r}", fn, args, kwargs)
    except NotSendableError as found:
        found.__context__ = error  # what Dask said, kept for the traceback
        return found
    return error

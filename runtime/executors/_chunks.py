"""Chunked submission: several map elements per engine task, one ``RemoteCall`` per element.

A chunk's task runs its elements one after another (``_remote.run_chunk``) and returns one
outcome per element, so each element still has its own value or error. An element can be
cancelled alone: its result is then discarded, and the chunk's task is cancelled once every
element in it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from ._call import CallBase
from ._errors import RemoteCancelledError
from ._protocol import CancelResult, RemoteCall, SubmitItem

__all__ = ["ElementCall", "check_chunk_size", "chunked", "split"]


def check_chunk_size(chunk_size: object) -> int:
    """Return ``chunk_size`` if it is an int >= 1.

    Raises:
        ValueError: naming the value.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"submit_many: chunk_size must be an int >= 1; got {chunk_size!r}")
    return chunk_size


def split(
    items: Sequence[SubmitItem], chunk_size: int
) -> list[list[tuple[tuple[Any, ...], dict[str, Any]]]]:
    """Group ``items`` into lists of at most ``chunk_size``, in order (kwargs as plain dicts)."""
    normal = [(tuple(args), dict(kwargs)) for args, kwargs in items]
    return [normal[i : i + chunk_size] for i in range(0, len(normal), chunk_size)]


class _Chunk:
    """The shared state of one chunk's elements: its task's call and how many are live."""

    __slots__ = ("call", "elements", "live", "lock")

    def __init__(self, call: RemoteCall, size: int) -> None:
        self.call = call
        self.live = size
        self.lock = threading.Lock()
        self.elements: list[ElementCall] = []

    def on_done(self) -> None:
        call = self.call
        try:
            outcomes = call.result()
        except RemoteCancelledError:
            for element in self.elements:
                element._settle_cancelled()
            return
        except Exception as exc:  # the chunk's task itself failed: every element fails with it
            for element in self.elements:
                element._settle_error(exc)
            return
        for element, (ok, value) in zip(self.elements, outcomes, strict=True):
            if ok:
                element._settle_value(value)
            else:
                element._settle_error(value)

    def on_gone(self) -> None:
        for element in self.elements:
            element._mark_gone()

    def release(self) -> CancelResult:
        with self.lock:
            self.live -= 1
            last = self.live == 0
        return self.call.cancel() if last else CancelResult.ABANDONED


class ElementCall(CallBase):
    """One element of a chunk: its own result, error and cancel."""

    __slots__ = ("_chunk",)

    def __init__(self, chunk: _Chunk, label: str) -> None:
        super().__init__(label)
        self._chunk = chunk

    def _engine_cancel(self) -> CancelResult:
        return self._chunk.release()


def chunked(
    submit_chunk: Callable[[list[tuple[tuple[Any, ...], dict[str, Any]]], str], RemoteCall],
    items: Sequence[SubmitItem],
    chunk_size: int,
    label: str,
) -> list[RemoteCall]:
    """Submit ``items`` as chunks through ``submit_chunk(chunk, label)``; a call per item."""
    calls: list[RemoteCall] = []
    index = 0
    for number, chunk_items in enumerate(split(items, chunk_size)):
        call = submit_chunk(chunk_items, f"{label}-chunk{number}")
        chunk = _Chunk(call, len(chunk_items))
        for _ in chunk_items:
            element = ElementCall(chunk, f"{label}[{index}]")
            chunk.elements.append(element)
            calls.append(element)
            index += 1
        call.add_done_callback(chunk.on_done)
        if not call.add_gone_callback(chunk.on_gone):
            for element in chunk.elements:
                element.tracks_gone = False
    return calls

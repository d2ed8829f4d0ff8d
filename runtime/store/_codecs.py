"""Codecs: how values (inputs, results, job arguments) become bytes in the store, and back.

Every stored value is written with the name of its codec beside it, so a store can hold values
of several codecs and a codec can be chosen per value. ``"pickle"`` (protocol 5) is the default
and handles any picklable Python value; ``"json"`` stores plain data readably; user codecs are
registered by name (``SQLiteStore(..., codecs=[MyCodec()])``). Encoded values are checked
against the store's size limits at the call, before anything is queued.

Pickle caveat, stated plainly: whoever can write the database can make a process that loads it
run code, and a result whose class was renamed no longer decodes. A decode failure raises
``DecodeError``; the engine marks the run ``needs_attention``, it never crashes the runtime.
"""

from __future__ import annotations

import json
import pickle
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from ._errors import (
    DecodeError,
    EncodeError,
    LargeResultWarning,
    RecordedError,
    ResultTooLargeError,
)

__all__ = [
    "DEFAULT_MAX_RESULT_BYTES",
    "DEFAULT_WARN_RESULT_BYTES",
    "Codec",
    "Encoded",
    "JsonCodec",
    "PickleCodec",
]

DEFAULT_MAX_RESULT_BYTES = 8 * 1024 * 1024
"""Encoded values above this many bytes (8 MiB) are refused with ``ResultTooLargeError``."""

DEFAULT_WARN_RESULT_BYTES = 256 * 1024
"""Encoded values above this many bytes (256 KiB) emit a ``LargeResultWarning``."""


@runtime_checkable
class Codec(Protocol):
    """Turns values into bytes and back; ``name`` is stored beside every value it encodes.

    Both methods run on the caller's thread (``encode`` on the trio thread at the call,
    ``decode`` on a reader thread); they must be pure and thread-safe.
    """

    @property
    def name(self) -> str:
        """The codec's stored name; unique within a store."""
        ...

    def encode(self, value: Any) -> bytes:
        """Return the bytes for ``value``; raise any exception if it cannot be encoded."""
        ...

    def decode(self, data: bytes) -> Any:
        """Return the value ``data`` was encoded from."""
        ...


@attrs.frozen
class PickleCodec:
    """``pickle`` with protocol 5: any picklable value (the default codec, named ``pickle``)."""

    name: str = "pickle"

    def encode(self, value: Any) -> bytes:
        """Pickle ``value`` with protocol 5."""
        return pickle.dumps(value, protocol=5)

    def decode(self, data: bytes) -> Any:
        """Unpickle ``data``: only from a store you trust (see the module docstring)."""
        return pickle.loads(data)


@attrs.frozen
class JsonCodec:
    """Compact UTF-8 JSON (named ``json``): dicts, lists, strings, numbers, booleans, None.

    Tuples come back as lists; ``datetime`` and other objects are refused at encode time.
    """

    name: str = "json"

    def encode(self, value: Any) -> bytes:
        """Dump ``value`` as compact JSON; NaN and infinities are refused."""
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()

    def decode(self, data: bytes) -> Any:
        """Load JSON from ``data``."""
        return json.loads(data)


@attrs.frozen
class Encoded:
    """A stored value that was not decoded (``load_journal(..., decode=False)``).

    Attributes:
        codec: the codec name stored with it.
        data: the stored bytes.
    """

    codec: str
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")


def _name(what: str | Callable[[], str]) -> str:
    return what if isinstance(what, str) else what()


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"


class Codecs:
    """A store's codecs by name, its default codec and its size limits (internal)."""

    __slots__ = ("_by_name", "default", "max_bytes", "warn_bytes")

    def __init__(
        self,
        extra: Iterable[Codec],
        *,
        default: str,
        max_bytes: int,
        warn_bytes: int,
    ) -> None:
        by_name: dict[str, Codec] = {"pickle": PickleCodec(), "json": JsonCodec()}
        for codec in extra:
            if not isinstance(codec, Codec):
                raise TypeError(f"codecs must have a name, encode() and decode(); got {codec!r}")
            by_name[codec.name] = codec
        if default not in by_name:
            raise ValueError(
                f"default_codec={default!r} is not a registered codec; "
                f"choose from {sorted(by_name)} or register it in codecs="
            )
        if max_bytes < 1 or warn_bytes < 1:
            raise ValueError(
                f"max_result_bytes and warn_result_bytes must be positive; "
                f"got {max_bytes!r} and {warn_bytes!r}"
            )
        self._by_name: Mapping[str, Codec] = by_name
        self.default = default
        self.max_bytes = max_bytes
        self.warn_bytes = warn_bytes

    @property
    def names(self) -> list[str]:
        """The registered codec names, sorted."""
        return sorted(self._by_name)

    def encode(self, value: Any, codec: str | None, what: str | Callable[[], str]) -> Encoded:
        """Encode ``value`` and check the size limits; see ``encode_raw``."""
        name, data = self.encode_raw(value, codec, what)
        return Encoded(name, data)

    def encode_raw(
        self, value: Any, codec: str | None, what: str | Callable[[], str]
    ) -> tuple[str, bytes]:
        """Encode ``value``; return ``(codec name, bytes)``. The hot path of every write.

        Raises:
            ValueError: ``codec`` is not registered.
            EncodeError: the codec refused the value.
            ResultTooLargeError: the encoded value is above ``max_bytes``.
        """
        name = self.default if codec is None else codec
        chosen = self._by_name.get(name)
        if chosen is None:
            raise ValueError(f"codec={name!r} is not registered; choose from {self.names}")
        try:
            data = chosen.encode(value)
        except Exception as exc:
            raise EncodeError(
                f"{_name(what)} could not be encoded with codec {name!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        size = len(data)
        if size <= self.warn_bytes:
            return name, data
        if size > self.max_bytes:
            raise ResultTooLargeError(
                f"{_name(what)} is {_size(size)} ({size} bytes) encoded with {name!r}, over the "
                f"store's max_result_bytes of {_size(self.max_bytes)} ({self.max_bytes} bytes): "
                "store a reference (a path, a URL, an object key) instead, or raise the limit",
                size=size,
                limit=self.max_bytes,
            )
        if size > self.warn_bytes:
            warnings.warn(
                f"{_name(what)} is {_size(size)} encoded, above warn_result_bytes "
                f"({_size(self.warn_bytes)}): large values make every commit slower",
                LargeResultWarning,
                stacklevel=5,
            )
        return name, data

    def decode(self, codec: str, data: bytes, what: str) -> Any:
        """Decode stored bytes; ``what`` names the value in the error.

        Raises:
            DecodeError: unknown codec, or the codec failed.
        """
        chosen = self._by_name.get(codec)
        if chosen is None:
            raise DecodeError(
                f"{what} was stored with codec {codec!r}, which is not registered in this "
                f"store (registered: {self.names}): register it with codecs=",
                codec=codec,
                what=what,
            )
        try:
            return chosen.decode(bytes(data))
        except Exception as exc:
            raise DecodeError(
                f"{what} could not be decoded with codec {codec!r}: {type(exc).__name__}: {exc}",
                codec=codec,
                what=what,
            ) from exc


def encode_error(error: BaseException | str) -> tuple[bytes | None, str]:
    """Return ``(pickled exception or None, "Type: message")`` for the journal."""
    if isinstance(error, str):
        return None, error
    text = f"{type(error).__qualname__}: {error}"
    try:
        pickled = pickle.dumps(error, protocol=5)
        pickle.loads(pickled)
    except Exception:
        return None, text
    return pickled, text


def decode_error(data: bytes | None, text: str | None) -> BaseException | None:
    """Return the stored exception, or a ``RecordedError`` when only its text was stored."""
    if data is None and text is None:
        return None
    if data is not None:
        try:
            loaded = pickle.loads(bytes(data))
        except Exception:
            loaded = None
        if isinstance(loaded, BaseException):
            return loaded
    type_name, _, message = (text or "").partition(": ")
    return RecordedError(type_name, message)

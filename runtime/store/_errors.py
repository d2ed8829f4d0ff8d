"""The store's errors: one base class, each failure a subclass carrying what it is about."""

from __future__ import annotations

__all__ = [
    "DecodeError",
    "EncodeError",
    "FencedOutError",
    "LargeResultWarning",
    "LeaseLostError",
    "NotClaimableError",
    "NotFoundError",
    "RecordedError",
    "ResultTooLargeError",
    "SchemaVersionError",
    "StoreClosedError",
    "StoreError",
]


class StoreError(Exception):
    """A durable store failed or refused an operation; the cause, if any, is ``__cause__``.

    A failure of the store itself (the writer thread's database error, a lost connection) is
    sticky: every later write and every awaited commit raises a ``StoreError`` naming it.
    """


class StoreClosedError(StoreError):
    """The store was used after ``open_store``'s block ended (or before it began)."""


class SchemaVersionError(StoreError):
    """The database was written by a newer arborist (a higher schema version) than this one.

    Attributes:
        found: the version stored in the database.
        supported: the newest version this code knows.
    """

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported


class FencedOutError(StoreError):
    """A write for a run or job carried a stale fence: another owner claimed it since.

    The write was not applied. The caller has lost the run (or job) and must stop driving it.

    Attributes:
        kind: ``"run"`` or ``"job"``.
        key: the run id or job id.
        fence: the fence the write carried.
        current: the fence in the store (None when the row no longer exists).
    """

    def __init__(self, kind: str, key: str, fence: int, current: int | None) -> None:
        if current is None:
            text = f"{kind} {key!r} does not exist in the store (pruned, or never created)"
        else:
            text = (
                f"{kind} {key!r} was claimed by another owner: this write carried fence "
                f"{fence}, the store holds fence {current}; stop driving it"
            )
        super().__init__(text)
        self.kind = kind
        self.key = key
        self.fence = fence
        self.current = current


class NotFoundError(StoreError, LookupError):
    """An operation named a row that does not exist.

    Attributes:
        kind: ``"run"``, ``"job"``, ``"schedule"`` or ``"tick"``.
        key: what was looked for.
    """

    def __init__(self, kind: str, key: str, hint: str = "") -> None:
        text = f"{kind} {key!r} does not exist in the store"
        super().__init__(f"{text}: {hint}" if hint else text)
        self.kind = kind
        self.key = key


class NotClaimableError(StoreError):
    """``claim_run`` found the run driven by a live owner (pass ``force=True`` to take it).

    Attributes:
        run_id: the run; owner_id: its live owner; status: its status.
    """

    def __init__(self, run_id: str, owner_id: str | None, status: str) -> None:
        super().__init__(
            f"run {run_id!r} is {status} and driven by live owner {owner_id}: it cannot be "
            "claimed; wait for the owner to die (reap_dead_owners), or pass force=True"
        )
        self.run_id = run_id
        self.owner_id = owner_id
        self.status = status


class LeaseLostError(StoreError):
    """Another process declared this store's owner dead (its lease renewal found it closed).

    Every run and job it held may be driven elsewhere now, so the store stops accepting
    writes: close it and open a new one (a new owner) to go on.
    """


class EncodeError(StoreError):
    """A value could not be encoded by its codec (for example, it does not pickle)."""


class ResultTooLargeError(EncodeError):
    """An encoded value is larger than the store's ``max_result_bytes``.

    Attributes:
        size: the encoded size in bytes.
        limit: the store's limit in bytes.
    """

    def __init__(self, message: str, *, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class DecodeError(StoreError):
    """A stored value could not be decoded (a renamed class, an unknown codec, corrupt data).

    The engine marks the run ``needs_attention`` with this message; nothing is re-run.

    Attributes:
        codec: the codec name stored with the value.
        what: which value, e.g. ``"result of step 'charge' (attempt 1) of run '0190...'"``.
    """

    def __init__(self, message: str, *, codec: str, what: str) -> None:
        super().__init__(message)
        self.codec = codec
        self.what = what


class RecordedError(Exception):
    """An exception loaded from the journal whose original could not be stored or restored.

    Attributes:
        type_name: the qualified name of the original exception's class.
        text: ``str()`` of the original exception.
    """

    def __init__(self, type_name: str, text: str) -> None:
        super().__init__(f"{type_name}: {text}" if text else type_name)
        self.type_name = type_name
        self.text = text


class LargeResultWarning(UserWarning):
    """An encoded value is above the store's ``warn_result_bytes`` (default 256 KiB)."""

"""The durable store: a journal of runs, jobs and schedules that survives SIGKILL and restart.

This package may import only the standard library, trio and attrs (psycopg when a
PostgreSQL store opens); nothing else from arborist. The engine calls it; it knows nothing
of workflows beyond names, hashes and stored values.

Design, in one place:

1. **Two databases, one interface.** ``SQLiteStore(path, durability="normal"|"power")``
   (stdlib sqlite3, WAL) for one host; ``PostgresStore(conninfo)`` (psycopg 3) for many.
   ``open_store(url_or_store)`` opens either for a block (``sqlite:///rel.db``,
   ``sqlite:////abs.db``, ``postgresql://...``); both run one SQL text per operation.
2. **The write path leaves the trio loop.** One writer thread per store owns the write
   connection. Writes are posted (a queue put: never blocks) and return a ``Receipt``; the
   thread drains every queued record into one transaction (group commit), commits, and wakes
   trio once per batch through the trio token. ``await receipt`` (or ``await
   store.flush()``) returns once the write is durable; an actor that must not block registers
   ``receipt.add_done_callback(fn)`` instead (or, with many writes in flight, adds them to a
   ``CommitQueue``, which releases them in posting order with one wake-up per commit). A
   completed step's result is durable before a dependent sees it; a ``started`` record need
   not be waited for. Writes commit in the order posted; records posted in one trio
   scheduling batch share one transaction. On SQLite every write transaction is ``BEGIN
   IMMEDIATE`` with a ``busy_timeout`` (a deferred one that read first cannot wait for
   another process's lock).
3. **Reads run beside the writer** on their own connections (WAL; PostgreSQL MVCC) on
   reader threads (``trio.to_thread``), each in one short snapshot, and first wait for this
   store's own posted writes.
4. **Failures are loud.** A database error on the writer thread fails the store: the
   transaction rolls back, and every uncommitted receipt, every later write and the end of
   ``open_store``'s block raise ``StoreError`` with the cause. Bad arguments, unencodable or
   oversize values (``max_result_bytes``, 8 MiB) raise at the call, before anything is
   queued. A stored value that no longer decodes raises ``DecodeError`` on load.
5. **Schema versions.** ``arborist_schema`` holds the version; opening applies forward
   migrations in one transaction (PostgreSQL: under an advisory lock) and refuses a database
   written by a newer version (``SchemaVersionError``). Version 4 rebuilds SQLite's
   ``step_attempts`` as a ``WITHOUT ROWID`` table (one B-tree per journal write instead of
   two): the first open of an older SQLite store copies that table once (300,000 rows: 1 s).
6. **Owners, liveness and fencing.** Each opened store is an owner (a UUIDv7 row) with a
   lease renewed every ``lease / 3`` seconds of trio's clock (lease times on the wall clock,
   the database clock on PostgreSQL). Liveness is also a lock the kernel or the server drops
   when the process dies: an ``flock`` on ``<db>.owners/<owner>.lock`` (SQLite) or a session
   advisory lock (PostgreSQL), so ``reap_dead_owners()`` sees a SIGKILLed owner at once, and
   never reaps a live one before its lease expires. ``claim_orphaned_runs()`` /
   ``claim_orphaned_jobs()`` take over the unfinished work of closed owners and bump a fence
   per run or job; every later write carries the fence, and a write with a stale fence is
   refused with ``FencedOutError`` (the writer learns it lost the run).
7. **Schedules fire at most once per due instant**: ``claim_tick`` inserts the row
   ``(name, due)`` (the primary key) with ``ON CONFLICT DO NOTHING`` and advances a monotone
   ``last_due`` in the same transaction. Missed and skipped dues are claimed as such, with a
   reason: consumed, recorded, never silent.
8. **Values** are stored with their codec's name: ``pickle`` (protocol 5, the default),
   ``json``, or user codecs registered by name.

Promises, stated honestly: a write whose receipt returned is durable against a process crash
(``durability="normal"``) or also a power loss (``"power"``, and PostgreSQL's defaults);
a write that was only posted may be lost with the process. Nothing here makes an external
effect happen exactly once: the engine re-runs the step that was running when its process
died, and a stable idempotency key is what makes that safe.
"""

from ._codecs import (
    DEFAULT_MAX_RESULT_BYTES,
    DEFAULT_WARN_RESULT_BYTES,
    Codec,
    Encoded,
    JsonCodec,
    PickleCodec,
)
from ._commit_queue import CommitQueue
from ._core import DEFAULT_LEASE, StoreStatistics
from ._errors import (
    DecodeError,
    EncodeError,
    FencedOutError,
    LargeResultWarning,
    LeaseLostError,
    NotClaimableError,
    NotFoundError,
    RecordedError,
    ResultTooLargeError,
    SchemaVersionError,
    StoreClosedError,
    StoreError,
)
from ._ids import uuid7, uuid7_time
from ._jobs import callable_ref, resolve_callable
from ._open import open_store, store_from_url
from ._postgres import PostgresStore
from ._receipt import Receipt
from ._recorder import RunRecorder
from ._rows import (
    ACTIVE_RUN_STATUSES,
    TERMINAL_RUN_STATUSES,
    AttemptRow,
    AttemptStatus,
    CreatedRun,
    JobCall,
    JobRow,
    JobStatus,
    OwnerInfo,
    RunInfo,
    RunJournal,
    RunStatus,
    ScheduleInfo,
    TickOutcome,
    TickRow,
    UndoRow,
    UndoStatus,
)
from ._schema import MIGRATIONS, SCHEMA_VERSION, Migration
from ._sqlite import Durability, SQLiteStore
from ._store import Store

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "DEFAULT_LEASE",
    "DEFAULT_MAX_RESULT_BYTES",
    "DEFAULT_WARN_RESULT_BYTES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TERMINAL_RUN_STATUSES",
    "AttemptRow",
    "AttemptStatus",
    "Codec",
    "CommitQueue",
    "CreatedRun",
    "DecodeError",
    "Durability",
    "EncodeError",
    "Encoded",
    "FencedOutError",
    "JobCall",
    "JobRow",
    "JobStatus",
    "JsonCodec",
    "LargeResultWarning",
    "LeaseLostError",
    "Migration",
    "NotClaimableError",
    "NotFoundError",
    "OwnerInfo",
    "PickleCodec",
    "PostgresStore",
    "Receipt",
    "RecordedError",
    "ResultTooLargeError",
    "RunInfo",
    "RunJournal",
    "RunRecorder",
    "RunStatus",
    "SQLiteStore",
    "ScheduleInfo",
    "SchemaVersionError",
    "Store",
    "StoreClosedError",
    "StoreError",
    "StoreStatistics",
    "TickOutcome",
    "TickRow",
    "UndoRow",
    "UndoStatus",
    "callable_ref",
    "open_store",
    "resolve_callable",
    "store_from_url",
    "uuid7",
    "uuid7_time",
]

"""``Store``: the interface the engine calls, whatever database is behind it."""

from __future__ import annotations

from ._jobs import JobsMixin
from ._runs import RunsMixin
from ._schedules import SchedulesMixin

__all__ = ["Store"]


class Store(RunsMixin, SchedulesMixin, JobsMixin):
    """A durable store of runs, jobs and schedules (``SQLiteStore`` or ``PostgresStore``).

    Construct one (no I/O happens), then open it with ``async with open_store(store)``: that
    connects, migrates the schema, registers this store as an owner and starts its writer
    thread and lease renewal; leaving the block closes the owner and waits for every posted
    write. A store object opens once. All methods must be called from the trio thread that
    opened it. Write methods that return a ``Receipt`` (the ``RunRecorder``'s) never block;
    ``async`` write methods wait until their write is durable; reads run on reader threads
    and see every write this store posted before them.

    Operations by concept:
        owners: ``owner_id``, ``reap_dead_owners``, ``list_owners``, ``renew_lease``.
        runs: ``create_run``, ``recorder`` (journal writes), ``get_run``, ``list_runs``,
            ``load_journal``, ``load_journals``, ``claim_orphaned_runs``, ``claim_run``,
            ``prune_runs``.
        schedules: ``upsert_schedule``, ``claim_tick``, ``finish_tick``, ``get_schedule``,
            ``list_schedules``, ``list_ticks``, ``pause_schedule``, ``delete_schedule``.
        jobs: ``enqueue_job``, ``start_job``, ``finish_job``, ``claim_orphaned_jobs``,
            ``job_call``, ``get_job``, ``list_jobs``, ``prune_jobs``; ``post_job``,
            ``post_start_job``, ``post_finish_job``, ``release_job`` (posted, not awaited).
        write path: ``flush``, ``statistics``.
    """

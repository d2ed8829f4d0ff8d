"""``arborist jobs``: list and prune the durable jobs recorded in a store.

Both subcommands take ``--store URL`` (default ``$ARBORIST_STORE``) and only open the store
(no runtime: nothing is recovered or run). ``list`` prints the jobs oldest first: id, name
(``name=``, else the function), function, status, attempts, created time and the error of a
failed one.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import IO, Any

import trio

from ..store import JobRow, JobStatus
from ._exits import EXIT_OK
from ._runs import _duration, _store_option, _when, clip, open_url, pruned, store_url

__all__ = ["add_jobs_parser", "jobs_command"]


def _status(text: str) -> JobStatus:
    try:
        return JobStatus(text)
    except ValueError:
        choices = ", ".join(s.value for s in JobStatus)
        raise argparse.ArgumentTypeError(
            f"unknown status {text!r}; choose from {choices}"
        ) from None


def add_jobs_parser(commands: Any) -> None:
    """Add ``jobs`` and its subcommands to the ``arborist`` parser's ``commands``."""
    jobs = commands.add_parser(
        "jobs",
        help="list or prune the durable jobs recorded in a store",
        description="Durable fire-and-forget jobs in a store (rt.fire_and_forget(..., "
        "durable=True)): pending, running, done and failed ones; prune old ones.",
    )
    sub = jobs.add_subparsers(dest="jobs_command", metavar="<subcommand>", required=True)
    listing = sub.add_parser("list", help="the jobs, oldest first")
    listing.add_argument("--status", type=_status, help="only this status")
    listing.add_argument("--limit", type=int, default=50, help="at most N jobs (default 50)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    prune = sub.add_parser("prune", help="delete finished jobs not updated for a while")
    prune.add_argument(
        "--older-than", type=_duration, required=True, metavar="AGE", help="e.g. 30d, 12h"
    )
    for parser in (listing, prune):
        _store_option(parser)


def jobs_command(args: argparse.Namespace) -> int:
    """Run ``arborist jobs <subcommand>``; return the exit status."""
    return trio.run(_jobs, args, store_url(args))


async def _jobs(args: argparse.Namespace, url: str) -> int:
    out = sys.stdout
    async with open_url(url) as store:
        if args.jobs_command == "list":
            found = await store.list_jobs(status=args.status, limit=max(1, args.limit))
            _print(found, args.json, out)
        else:
            cutoff = datetime.now(UTC) - args.older_than
            count = await store.prune_jobs(older_than=cutoff)
            out.write(pruned(count, "job", cutoff))
    return EXIT_OK


def _print(found: list[JobRow], as_json: bool, out: IO[str]) -> None:
    if as_json:
        for job in found:
            out.write(json.dumps(_job_json(job)) + "\n")
        return
    if not found:
        out.write("no jobs\n")
        return
    width = max(len(job.fn) for job in found)
    named = max(len(job.name) for job in found)
    out.write(
        f"{'job':<36}  {'name':<{named}}  {'function':<{width}}  {'status':<8}  tries  "
        f"{'created':<20}  error\n"
    )
    for job in found:
        error = clip(job.error.splitlines()[0]) if job.error else ""
        created = _when(job.created_at)
        out.write(
            f"{job.job_id:<36}  {job.name:<{named}}  {job.fn:<{width}}  "
            f"{job.status.value:<8}  {job.attempts:>5}  {created:<20}  {error}\n"
        )


def _job_json(job: JobRow) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "name": job.name,
        "fn": job.fn,
        "status": job.status.value,
        "attempts": job.attempts,
        "error": job.error,
        "owner_id": job.owner_id,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "finished_at": None if job.finished_at is None else job.finished_at.isoformat(),
    }

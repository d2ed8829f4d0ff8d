"""``arborist runs``: list, show, resume, cancel and prune the runs journaled in a store.

Every subcommand takes ``--store URL`` (default ``$ARBORIST_STORE``). ``list`` and ``show``
only read; ``resume`` and ``cancel`` open a runtime on the store (``recover="manual"``: they
touch only the run named) and import the run's workflow from its recorded target
(``module:attr``, recorded by ``arborist run``) or from the ``TARGET`` given; ``prune``
deletes finished runs older than a duration.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import trio

from .._runtime import Runtime
from ..engine._durable_errors import (
    RunNeedsAttentionError,
    RunNotFoundError,
    RunOwnedElsewhereError,
)
from ..store import RunInfo, RunStatus, Store, open_store
from ._exits import EXIT_FAILED, EXIT_OK
from ._load import UsageError, load_workflow
from ._runs_show import format_run

__all__ = ["STORE_ENV", "add_runs_parser", "runs_command", "store_url"]

STORE_ENV = "ARBORIST_STORE"
"""The environment variable naming the store when ``--store`` is not given."""

_NOT_HERE = (RunNotFoundError, RunOwnedElsewhereError, RunNeedsAttentionError, ValueError)
"""What ``resume``/``cancel`` report as a one-line usage error: the run cannot be driven here."""

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def store_url(args: argparse.Namespace) -> str:
    """The store to use: ``--store``, else ``$ARBORIST_STORE``.

    Raises:
        UsageError: neither is set.
    """
    url = getattr(args, "store", None) or os.environ.get(STORE_ENV)
    if not url:
        raise UsageError(
            f"this command needs a store: pass --store URL (sqlite:///arborist.db, "
            f"postgresql://...) or set ${STORE_ENV}"
        )
    return str(url)


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90s, 15m, 12h, 30d or 2w; got {text!r}"
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def _status(text: str) -> RunStatus:
    try:
        return RunStatus(text)
    except ValueError:
        choices = ", ".join(s.value for s in RunStatus)
        raise argparse.ArgumentTypeError(
            f"unknown status {text!r}; choose from {choices}"
        ) from None


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="URL",
        default=None,
        help=f"the store: sqlite:///path.db or postgresql://... (default: ${STORE_ENV})",
    )


def add_runs_parser(commands: Any) -> None:
    """Add ``runs`` and its subcommands to the ``arborist`` parser's ``commands``."""
    runs = commands.add_parser(
        "runs",
        help="list, show, resume, cancel or prune the runs journaled in a store",
        description="Durable runs in a store (Runtime(store=...)): what ran, what is unfinished, "
        "what needs attention; resume or cancel one; prune old ones.",
    )
    sub = runs.add_subparsers(dest="runs_command", metavar="<subcommand>", required=True)
    listing = sub.add_parser("list", help="the runs, newest first")
    listing.add_argument("--status", type=_status, action="append", help="only this status")
    listing.add_argument("--workflow", help="only runs of this workflow")
    listing.add_argument("--limit", type=int, default=50, help="at most N runs (default 50)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    show = sub.add_parser("show", help="a run's steps, attempts, undo log and timeline")
    show.add_argument("run_id", metavar="RUN_ID")
    show.add_argument("--width", type=int, default=60, help="columns of the timeline's bars")
    for name, text in (
        ("resume", "continue a halted, parked or unfinished run here, to its end"),
        ("cancel", "cancel a run and roll back its completed steps"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("run_id", metavar="RUN_ID")
        command.add_argument(
            "target",
            metavar="TARGET",
            nargs="?",
            help="the workflow (module:attr or file.py:attr); default: the run's recorded one",
        )
    prune = sub.add_parser("prune", help="delete finished runs not updated for a while")
    prune.add_argument(
        "--older-than", type=_duration, required=True, metavar="AGE", help="e.g. 30d, 12h"
    )
    prune.add_argument(
        "--status", type=_status, action="append", help="only this status (default: finished)"
    )
    for parser in (listing, show, *(sub.choices[n] for n in ("resume", "cancel")), prune):
        _store_option(parser)


def runs_command(args: argparse.Namespace) -> int:
    """Run ``arborist runs <subcommand>``; return the exit status."""
    url = store_url(args)
    command = args.runs_command
    if command in ("resume", "cancel"):
        return trio.run(_drive, args, url)
    return trio.run(_read, args, url)


async def _read(args: argparse.Namespace, url: str) -> int:
    out = sys.stdout
    async with open_url(url) as store:
        if args.runs_command == "list":
            await _list(store, args, out)
        elif args.runs_command == "show":
            journal = await store.load_journal(args.run_id, decode=False)
            if journal is None:
                raise UsageError(f"no run {args.run_id!r} in the store at {store.where}")
            out.write(format_run(journal, width=max(10, args.width)))
        else:
            statuses = args.status or [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED]
            cutoff = datetime.now(UTC) - args.older_than
            count = await store.prune_runs(older_than=cutoff, statuses=statuses)
            out.write(pruned(count, "run", cutoff))
    return EXIT_OK


def _when(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S}Z"


def open_url(url: str) -> contextlib.AbstractAsyncContextManager[Store]:
    """``open_store(url)``, a bad URL being a usage error (exit 2, one line)."""
    try:
        return open_store(url)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def pruned(count: int, noun: str, cutoff: datetime) -> str:
    """The line ``prune`` prints: how many rows went, and the cutoff."""
    return f"pruned {count} {noun}{'s' if count != 1 else ''} last updated before {_when(cutoff)}\n"


def clip(text: str, width: int = 60) -> str:
    """``text`` cut to ``width`` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


async def _list(store: Store, args: argparse.Namespace, out: IO[str]) -> None:
    found = await store.list_runs(
        status=args.status, workflow=args.workflow, limit=max(1, args.limit)
    )
    if args.json:
        for run in found:
            out.write(json.dumps(_run_json(run)) + "\n")
        return
    if not found:
        out.write("no runs\n")
        return
    width = max(len(run.workflow) for run in found)
    out.write(f"{'run':<36}  {'workflow':<{width}}  {'status':<15}  {'created':<20}  note\n")
    for run in found:
        note = clip(run.message or run.error or "")
        out.write(
            f"{run.run_id:<36}  {run.workflow:<{width}}  {run.status.value:<15}  "
            f"{_when(run.created_at):<20}  {note}\n"
        )


def _run_json(run: RunInfo) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "workflow": run.workflow,
        "status": run.status.value,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
        "finished_at": None if run.finished_at is None else run.finished_at.isoformat(),
        "owner_id": run.owner_id,
        "target": run.target,
        "message": run.message,
        "error": run.error,
        "recovery_attempts": run.recovery_attempts,
        "parent_run_id": run.parent_run_id,
    }


async def _drive(args: argparse.Namespace, url: str) -> int:
    err = sys.stderr
    try:
        runtime = Runtime(store=url, recover="manual")
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    async with runtime as rt:
        assert rt.store is not None
        info = await rt.store.get_run(args.run_id)
        if info is None:
            raise UsageError(f"no run {args.run_id!r} in the store at {rt.store.where}")
        target = args.target or info.target
        if not target:
            raise UsageError(
                f"run {info.run_id} recorded no target (it was not started by `arborist run`); "
                f"name its workflow: arborist runs {args.runs_command} {info.run_id} module:attr"
            )
        workflow = load_workflow(target)
        try:
            if args.runs_command == "cancel":
                await rt.cancel_run(info.run_id, workflow=workflow)
                after = await rt.store.get_run(info.run_id)
                status = after.status.value if after is not None else "gone"
                err.write(f"run {info.run_id}: {status}\n")
                return EXIT_OK
            value = await rt.resume(info.run_id, workflow=workflow)
        except _NOT_HERE as exc:
            raise UsageError(str(exc)) from exc
        except Exception as exc:  # the run itself failed: report it as `run` does
            err.write(f"arborist: {exc}\n")
            return EXIT_FAILED
    try:
        sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    except (TypeError, ValueError):
        sys.stdout.write(repr(value) + "\n")
    return EXIT_OK

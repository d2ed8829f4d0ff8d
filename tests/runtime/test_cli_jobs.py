"""``arborist jobs``: listing and pruning the durable jobs recorded in a store (in-process, on
an SQLite store filled through the store's own job operations)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import trio
from cli_in_process import cli

from arborist.runtime.cli import main
from arborist.runtime.store import open_store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store holding three jobs: one done, one failed (named), one pending (oldest first)."""
    monkeypatch.delenv("ARBORIST_STORE", raising=False)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"

    async def fill() -> None:
        async with open_store(url) as opened:
            done = await opened.start_job(await opened.enqueue_job("json:dumps", ([1],)))
            await opened.finish_job(done)
            failed = await opened.start_job(
                await opened.enqueue_job("json:loads", ("{",), name="parse-order")
            )
            await opened.finish_job(failed, error=ValueError("not JSON"))
            await opened.enqueue_job("json:dumps", ([2],))

    trio.run(fill)
    return url


def test_list_prints_every_job_oldest_first_with_its_status_tries_and_error(store, capsys):
    listed = cli(capsys, "jobs", "list", "--store", store)
    assert listed.returncode == 0
    header, *lines = listed.stdout.splitlines()
    assert header.split()[:6] == ["job", "name", "function", "status", "tries", "created"]
    assert [line.split()[1:5] for line in lines] == [
        ["json:dumps", "json:dumps", "done", "1"],
        ["parse-order", "json:loads", "failed", "1"],
        ["json:dumps", "json:dumps", "pending", "0"],
    ]
    assert "ValueError: not JSON" in lines[1]


def test_list_json_filters_by_status(store, capsys):
    listed = cli(capsys, "jobs", "list", "--store", store, "--status", "failed", "--json")
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["fn"], row["status"], row["attempts"]) == ("json:loads", "failed", 1)
    assert row["name"] == "parse-order"


def test_an_unknown_status_is_a_usage_error_naming_the_choices(store, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["jobs", "list", "--store", store, "--status", "finished"])
    assert exited.value.code == 2
    assert "choose from pending, running, done, failed" in capsys.readouterr().err


def test_list_without_a_store_says_how_to_name_one(capsys):
    listed = cli(capsys, "jobs", "list")
    assert listed.returncode == 2
    assert "pass --store URL" in listed.stderr


def test_prune_deletes_only_finished_jobs_older_than_the_age(store, capsys):
    fresh = cli(capsys, "jobs", "prune", "--store", store, "--older-than", "1d")
    assert fresh.stdout.startswith("pruned 0 jobs")
    conn = sqlite3.connect(store.removeprefix("sqlite:///"))
    with conn:  # the jobs were last updated three days ago
        conn.execute("UPDATE jobs SET updated_at = updated_at - ?", (3 * 86400,))
    conn.close()

    aged = cli(capsys, "jobs", "prune", "--store", store, "--older-than", "1d")

    assert aged.stdout.startswith("pruned 2 jobs")
    listed = cli(capsys, "jobs", "list", "--store", store, "--json")
    assert [json.loads(line)["status"] for line in listed.stdout.splitlines()] == ["pending"]

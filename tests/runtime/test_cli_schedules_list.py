"""``arborist schedules list``: the durable schedules of a store, with their recent ticks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio
from cli_in_process import cli

from arborist.runtime.store import TickOutcome, open_store

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)




@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store holding ``poll`` (every 30 s, two ticks: ok and missed) and ``nightly``."""
    monkeypatch.delenv("ARBORIST_STORE", raising=False)
    url = f"sqlite:///{tmp_path / 's.db'}"

    async def fill() -> None:
        async with open_store(url) as s:
            await s.upsert_schedule("poll", trigger="every 30s", job="app:poll", anchor_utc=T0)
            await s.upsert_schedule(
                "nightly", trigger="cron '0 2 * * *' UTC", job="app:etl", anchor_utc=T0
            )
            await s.claim_tick("poll", T0 + timedelta(seconds=30))
            await s.finish_tick("poll", T0 + timedelta(seconds=30), TickOutcome.OK)
            await s.claim_tick(
                "poll",
                T0 + timedelta(seconds=60),
                outcome=TickOutcome.MISSED,
                reason="later than misfire_grace",
            )

    trio.run(fill)
    return url


def test_list_prints_each_schedule_with_its_last_and_next_due_and_recent_ticks(store, capsys):
    done = cli(capsys, "schedules", "list", "--store", store)

    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "schedule", "trigger", "last", "due", "next", "due", "runs", "state", "job"
    ]  # fmt: skip
    assert lines[1].split()[:3] == ["nightly", "cron", "'0"]
    assert lines[1].split()[-6:] == ["-", "2026-03-02", "02:00:00Z", "0", "active", "app:etl"]
    assert lines[2].split() == [
        "poll", "every", "30s", "2026-03-01", "08:01:00Z", "2026-03-01", "08:01:30Z", "1",
        "active", "app:poll",
    ]  # fmt: skip
    assert lines[3].split() == ["2026-03-01", "08:01:00Z", "missed", "(later", "than",
                                "misfire_grace)"]  # fmt: skip
    assert lines[4].split() == ["2026-03-01", "08:00:30Z", "ok"]


def test_list_json_prints_one_object_per_schedule_with_its_ticks(store, capsys):
    done = cli(capsys, "schedules", "list", "--store", store, "--json")

    nightly, poll = (json.loads(line) for line in done.stdout.splitlines())
    assert (nightly["name"], nightly["last_due"], nightly["next_due"]) == (
        "nightly",
        None,
        "2026-03-02T02:00:00+00:00",
    )
    assert (poll["last_due"], poll["next_due"], poll["runs"]) == (
        "2026-03-01T08:01:00+00:00",
        "2026-03-01T08:01:30+00:00",
        1,
    )
    assert [(t["due"], t["outcome"]) for t in poll["ticks"]] == [
        ("2026-03-01T08:01:00+00:00", "missed"),
        ("2026-03-01T08:00:30+00:00", "ok"),
    ]


def test_list_reads_the_store_from_the_environment_variable(store, capsys, monkeypatch):
    monkeypatch.setenv("ARBORIST_STORE", store)

    done = cli(capsys, "schedules", "list", "--json")

    assert [json.loads(line)["name"] for line in done.stdout.splitlines()] == ["nightly", "poll"]


def test_list_of_an_empty_store_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ARBORIST_STORE", raising=False)

    done = cli(capsys, "schedules", "list", "--store", f"sqlite:///{tmp_path / 'e.db'}")

    assert (done.returncode, done.stdout) == (0, "no schedules\n")


def test_list_without_a_store_is_a_one_line_usage_error(capsys, monkeypatch):
    monkeypatch.delenv("ARBORIST_STORE", raising=False)

    done = cli(capsys, "schedules", "list")

    assert done.returncode == 2
    assert "this command needs a store: pass --store URL" in done.stderr

"""Real processes, real kills, for durable jobs: a child process runs durable jobs, the test
SIGKILLs it by pid, a second child opens the same store and recovers them, and the marker
lines the jobs left say which promises held (``durable_jobs_child.py``).

One kill per store: ``interrupted`` is killed mid-run; ``COUNTED`` ``counted`` jobs are killed
after their rows committed and before any of them started. Each test checks one promise.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from durable_jobs_child import COUNTED
from durable_stores import BACKENDS, fresh_store_url
from kill_harness import kill_after, reap_killed_owner

CHILD = Path(__file__).with_name("durable_jobs_child.py")


@attrs.frozen
class Crash:
    """What one kill-and-recover left: marker lines by name, and every job's final row."""

    marks: dict[str, list[tuple[int, str, int]]]
    rows: list[dict[str, Any]]
    first_pid: int

    def rows_of(self, fn: str) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["fn"] == f"durable_jobs_fns:{fn}"]


def _read_held(child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    lines = [child.stdout.readline(), child.stdout.readline()]
    assert lines == ["blocked\n", "held\n"], (lines, child.stderr.read())  # type: ignore[union-attr]


def _kill_and_recover(url: str, markers: Path) -> Crash:
    env = {**os.environ, "MARKERS": str(markers)}
    first = subprocess.Popen(
        [sys.executable, str(CHILD), "start", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "BLOCK_JOBS": "1"},
    )
    kill_after(first, _read_held)
    assert first.returncode == -signal.SIGKILL
    reap_killed_owner(url)
    second = subprocess.run(
        [sys.executable, str(CHILD), "recover", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )
    assert second.returncode == 0, second.stderr
    marks: dict[str, list[tuple[int, str, int]]] = collections.defaultdict(list)
    for line in markers.read_text().splitlines():
        name, attempt, key, pid = line.split()
        marks[name].append((int(attempt), key, int(pid)))
    return Crash(dict(marks), json.loads(second.stdout.splitlines()[-1]), first.pid)


@pytest.fixture(scope="module", params=BACKENDS)
def crash(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Crash:
    folder = tmp_path_factory.mktemp(f"jobkill-{request.param}")
    url = fresh_store_url(request, request.param, folder)
    return _kill_and_recover(url, folder / "markers.txt")


def test_recovery_leaves_every_job_done(crash):
    assert [row["status"] for row in crash.rows] == ["done"] * (1 + COUNTED)


def test_a_job_killed_mid_run_runs_again_from_the_top_with_the_next_attempt_and_same_key(crash):
    starts = crash.marks["interrupted.start"]
    assert [attempt for attempt, _, _ in starts] == [1, 2]
    assert len({key for _, key, _ in starts}) == 1
    assert starts[0][2] == crash.first_pid
    assert starts[1][2] != crash.first_pid


def test_a_job_killed_mid_run_completes_once_and_its_row_counts_both_attempts(crash):
    assert len(crash.marks["interrupted.done"]) == 1
    [row] = crash.rows_of("interrupted")
    assert (row["status"], row["attempts"], row["error"]) == ("done", 2, None)


def test_jobs_committed_but_not_started_when_killed_each_run_once_after_the_restart(crash):
    for index in range(COUNTED):
        [(_, _, pid)] = crash.marks[f"counted.{index}"]
        assert pid != crash.first_pid
    # each row was inserted running (attempt 1) by the killed owner, which never called it
    assert [row["attempts"] for row in crash.rows_of("counted")] == [2] * COUNTED
    assert [crash.marks[f"counted.{i}"][0][0] for i in range(COUNTED)] == [2] * COUNTED

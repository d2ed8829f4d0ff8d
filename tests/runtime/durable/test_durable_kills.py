"""Real processes, real kills: a child process runs durable workflows, the test SIGKILLs it by
pid while each one is at a chosen point, a second child opens the same store, recovers them,
and the side effects the steps left in a file say which promises held.

The kill points, one run each (``durable_flows.py``): mid-step (``mid_step``, ``fail``, ``halt``, a
child run's step, a map element), during a retry's wait (``retry_wait``), mid-rollback after
one undo completed (``rollback``), and between a step's committed result and its dependent's
start (``after_commit``: the whole process is frozen there). One kill per store covers them
all; each test below checks one promise.
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
from durable_stores import BACKENDS, fresh_store_url
from kill_harness import kill_after, reap_killed_owner

CHILD = Path(__file__).with_name("durable_child.py")
BLOCK = "mid_step.b,fail.b,halt.b,rollback.undo_a,kid.k2,elements.e2"


@attrs.frozen
class Crash:
    """What one kill-and-recover left: marker lines by step, and the recovered outcomes."""

    marks: dict[str, list[tuple[int, int, str, float]]]
    report: dict[str, Any]
    first_pid: int

    def ran(self, step: str) -> int:
        return len(self.marks.get(step, []))

    def outcome(self, scenario: str) -> dict[str, Any]:
        return self.report["outcomes"][scenario]  # type: ignore[no-any-return]


def _child(mode: str, url: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), mode, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def _read_held(child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    lines = [child.stdout.readline(), child.stdout.readline()]
    assert lines == ["blocked\n", "held\n"], (lines, child.stderr.read())  # type: ignore[union-attr]


def _kill_and_recover(url: str, markers: Path) -> Crash:
    env = {"MARKERS": str(markers), "BLOCK": BLOCK}
    first = _child("start", url, env)
    kill_after(first, _read_held)
    assert first.returncode == -signal.SIGKILL
    reap_killed_owner(url)
    second = subprocess.run(
        [sys.executable, str(CHILD), "recover", url],
        capture_output=True,
        text=True,
        env={**os.environ, "MARKERS": str(markers)},
        timeout=60,
        check=False,
    )
    assert second.returncode == 0, second.stderr
    marks: dict[str, list[tuple[int, int, str, float]]] = collections.defaultdict(list)
    for line in markers.read_text().splitlines():
        name, pid, attempt, key, when = line.split()
        marks[name].append((int(pid), int(attempt), key, float(when)))
    return Crash(dict(marks), json.loads(second.stdout.splitlines()[-1]), first.pid)


@pytest.fixture(scope="module", params=BACKENDS)
def crash(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Crash:
    folder = tmp_path_factory.mktemp(f"kill-{request.param}")
    url = fresh_store_url(request, request.param, folder)
    return _kill_and_recover(url, folder / "markers.txt")


def test_recovery_resumes_every_killed_run_and_parks_none(crash):
    assert crash.report["needs_attention"] == []
    # The 8 scenario runs; the child run too, unless its re-run parent step got to it first.
    assert crash.report["recovered"] in (8, 9)


def test_committed_steps_never_run_again_and_the_interrupted_step_runs_again(crash):
    assert (crash.ran("mid_step.a"), crash.ran("mid_step.b"), crash.ran("mid_step.c")) == (1, 2, 1)
    assert crash.outcome("mid_step")["result"] == 3


def test_the_rerun_step_sees_the_next_attempt_and_the_same_idempotency_key(crash):
    (_, first_attempt, first_key, _), (_, second_attempt, second_key, _) = crash.marks["mid_step.b"]
    assert (first_attempt, second_attempt) == (1, 2)
    assert first_key == second_key == f"mid_step/{crash.outcome('mid_step')['run_id']}/b"


def test_a_result_committed_before_the_kill_feeds_its_dependent_from_the_journal(crash):
    assert (crash.ran("after_commit.produce"), crash.ran("after_commit.consume")) == (1, 1)
    assert crash.outcome("after_commit")["result"] == f"made by {crash.first_pid}"


def test_an_interrupted_on_resume_fail_step_fails_once_and_its_run_rolls_back(crash):
    outcome = crash.outcome("fail")
    assert (outcome["error"], outcome["cause"], outcome["undone"]) == (
        "WorkflowFailedError",
        "StepInterruptedError",
        ["a"],
    )
    assert (crash.ran("fail.b"), crash.ran("fail.undo_a"), crash.ran("fail.c")) == (1, 1, 0)


def test_an_interrupted_on_resume_halt_step_halts_its_run_which_resumes_by_id(crash):
    outcome = crash.outcome("halt")
    assert outcome["halted"] == "step 'b' was running when its process died (on_resume='halt')"
    assert outcome["resumed"] == 3
    assert (crash.ran("halt.a"), crash.ran("halt.b"), crash.ran("halt.c")) == (1, 2, 1)


def test_a_run_killed_mid_rollback_finishes_it_and_no_completed_undo_runs_twice(crash):
    outcome = crash.outcome("rollback")
    assert (outcome["error"], outcome["undone"]) == ("WorkflowFailedError", ["a", "b"])
    assert (crash.ran("rollback.undo_b"), crash.ran("rollback.undo_a")) == (1, 2)


def test_a_rerun_parent_step_finds_the_child_run_it_had_started(crash):
    assert crash.report["kid_runs"] == 1
    assert (crash.ran("parent.p"), crash.ran("kid.k1"), crash.ran("kid.k2")) == (2, 1, 2)
    assert crash.outcome("parent")["result"] == "k2"


def test_a_map_journaling_its_elements_reruns_only_the_interrupted_element(crash):
    assert [crash.ran(f"elements.e{i}") for i in range(4)] == [1, 1, 2, 1]
    assert crash.outcome("elements")["result"] == [0, 10, 20, 30]


def test_a_retry_wait_cut_by_the_kill_is_rearmed_on_the_wall_clock(crash):
    (_, first, _, failed_at), (_, second, _, retried_at) = crash.marks["retry_wait.flaky"]
    assert (first, second) == (1, 2)
    assert retried_at >= failed_at + 1.0  # Retry(delay=1.0), counted across the restart
    assert crash.outcome("retry_wait")["result"] == 2

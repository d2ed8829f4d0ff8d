"""``arborist runs``: listing, showing, resuming, cancelling and pruning journaled runs, and
``arborist run --store`` recording what they need (in-process, on an SQLite store)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest
from cli_in_process import cli

from arborist.runtime.cli import main

FLOWS = """
import os
from arborist.runtime import Halt, Workflow

order = Workflow("order", inputs=["n"])

@order.step
async def reserve(n):
    return n

@reserve.undo
async def release(result, arguments):
    with open("undone.txt", "a") as out:
        out.write(f"released {result}\\n")

@order.step
async def approve(reserve):
    if os.environ.get("APPROVED") != "yes":
        return Halt("needs a manager")
    return reserve * 10

order.returns("approve")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARBORIST_STORE", raising=False)
    monkeypatch.delenv("APPROVED", raising=False)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    yield tmp_path
    sys.modules.pop("flows", None)




def halted_run(capsys: pytest.CaptureFixture[str], store: str) -> str:
    done = cli(capsys, "run", "flows:order", "-i", "n=3", "--store", store, "--progress", "off")
    assert done.returncode == 1
    listed = cli(capsys, "runs", "list", "--store", store, "--json")
    return json.loads(listed.stdout.splitlines()[0])["run_id"]  # type: ignore[no-any-return]


def test_a_run_started_with_a_store_is_listed_with_its_status_and_recorded_target(project, capsys):
    run_id = halted_run(capsys, "sqlite:///s.db")

    listed = cli(capsys, "runs", "list", "--store", "sqlite:///s.db", "--json")
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["run_id"], row["status"], row["target"]) == (run_id, "halted", "flows:order")
    assert row["message"] == "halted by step 'approve': needs a manager"


def test_list_filters_by_status_and_prints_a_table(project, capsys):
    run_id = halted_run(capsys, "sqlite:///s.db")

    halted = cli(capsys, "runs", "list", "--store", "sqlite:///s.db", "--status", "halted")
    none = cli(capsys, "runs", "list", "--store", "sqlite:///s.db", "--status", "succeeded")
    assert halted.stdout.splitlines()[0].split() == ["run", "workflow", "status", "created", "note"]
    assert halted.stdout.splitlines()[1].split()[:3] == [run_id, "order", "halted"]
    assert none.stdout == "no runs\n"


def test_show_prints_the_steps_tries_undo_log_and_timeline_from_the_journal(project, capsys):
    run_id = halted_run(capsys, "sqlite:///s.db")

    shown = cli(capsys, "runs", "show", run_id, "--store", "sqlite:///s.db", "--width", "20")
    lines = shown.stdout.splitlines()
    assert lines[0] == f"run {run_id}  workflow order  status halted"
    steps = [line.split()[:3] for line in lines if line.startswith(("reserve ", "approve "))]
    assert steps[:2] == [["reserve", "1", "ok"], ["approve", "1", "halted"]]
    assert any(line.split()[:3] == ["0", "reserve", "pending"] for line in lines)
    assert any(line.startswith("order: ") and "2 steps" in line for line in lines)


def test_resume_imports_the_recorded_target_and_runs_the_halted_run_to_its_end(
    project, capsys, monkeypatch
):
    run_id = halted_run(capsys, "sqlite:///s.db")
    monkeypatch.setenv("APPROVED", "yes")

    resumed = cli(capsys, "runs", "resume", run_id, "--store", "sqlite:///s.db")
    listed = cli(capsys, "runs", "list", "--store", "sqlite:///s.db", "--json")
    assert (resumed.returncode, resumed.stdout) == (0, "30\n")
    assert json.loads(listed.stdout)["status"] == "succeeded"


def test_cancel_rolls_the_run_back_from_its_journal(project, capsys):
    run_id = halted_run(capsys, "sqlite:///s.db")

    cancelled = cli(capsys, "runs", "cancel", run_id, "--store", "sqlite:///s.db")
    assert (cancelled.returncode, cancelled.stderr) == (0, f"run {run_id}: cancelled\n")
    assert (project / "undone.txt").read_text() == "released 3\n"


def test_prune_deletes_finished_runs_older_than_the_age_given(project, capsys):
    run_id = halted_run(capsys, "sqlite:///s.db")
    cli(capsys, "runs", "cancel", run_id, "--store", "sqlite:///s.db")

    kept = cli(capsys, "runs", "prune", "--older-than", "1d", "--store", "sqlite:///s.db")
    pruned = cli(capsys, "runs", "prune", "--older-than", "0s", "--store", "sqlite:///s.db")
    assert kept.stdout.startswith("pruned 0 runs")
    assert pruned.stdout.startswith("pruned 1 run ")


def test_the_store_defaults_to_the_environment_variable(project, capsys, monkeypatch):
    monkeypatch.setenv("ARBORIST_STORE", "sqlite:///env.db")
    run_id = halted_run(capsys, "sqlite:///env.db")

    listed = cli(capsys, "runs", "list", "--json")
    assert json.loads(listed.stdout)["run_id"] == run_id


def test_runs_without_a_store_is_a_one_line_usage_error(project, capsys):
    done = cli(capsys, "runs", "list")
    assert done.returncode == 2
    assert done.stderr == (
        "arborist: error: this command needs a store: pass --store URL "
        "(sqlite:///arborist.db, postgresql://...) or set $ARBORIST_STORE\n"
    )


def test_show_of_an_unknown_run_is_a_usage_error(project, capsys):
    done = cli(capsys, "runs", "show", "nope", "--store", "sqlite:///s.db")
    assert (done.returncode, done.stderr) == (
        2,
        f"arborist: error: no run 'nope' in the store at sqlite:///{project / 's.db'}\n",
    )


def test_a_bad_duration_is_refused_by_the_parser(project, capsys):
    with pytest.raises(SystemExit):
        main(["runs", "prune", "--older-than", "soon", "--store", "sqlite:///s.db"])
    assert "expected a duration such as 90s, 15m, 12h, 30d or 2w" in capsys.readouterr().err

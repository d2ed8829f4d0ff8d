"""The W11 soak (benchmarks/w11_soak.py): a 10-second soak loses nothing, and its books catch
what a soak must catch (a run without RunFinished, a missing undo, an unreported tick...)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not put the repo on the path
    sys.path.insert(0, str(ROOT))

from arborist.runtime import (  # noqa: E402
    RunFinished,
    RunStarted,
    ScheduleEnded,
    ScheduleRunFinished,
    ScheduleRunStarted,
    ScheduleSkipped,
    ScheduleTick,
)
from benchmarks import w11_soak  # noqa: E402
from benchmarks._soak_ledger import Ledger, Problems  # noqa: E402
from benchmarks._soak_load import Plan  # noqa: E402
from benchmarks._soak_report import close_books, slope  # noqa: E402
from benchmarks._soak_ticks import Frontier, ScheduleBook  # noqa: E402


def test_a_ten_second_soak_of_mixed_load_with_chaos_loses_nothing():
    # The real clock, by design: a soak measures the runtime under real scheduling. Only the
    # accounting is asserted (exact, timing-independent); the RSS slope of 10 s is mostly
    # warm-up (imports, caches, arenas), so it is reported, not judged (the 300 s soak does).
    config = w11_soak.SoakConfig(seconds=10.0, drain=3.0, shutdown_timeout=1.0, burst_every=10.0)

    report = w11_soak.soak(config)

    assert report.tallies["runs"].started > 0, report.render()
    assert report.lost == 0, report.render()
    assert not report.problems, report.render()


# -- the books ------------------------------------------------------------------------------------


def _started(ledger: Ledger, run_id: str, plan: Plan | None = None) -> None:
    ledger.on_event(RunStarted(run_id, "wf", 0.0))
    if plan is not None:  # a driver run: rt.start returned its handle
        ledger.run_started(run_id, plan)


def _finished(ledger: Ledger, run_id: str, *, ok: bool = True) -> None:
    ledger.on_event(RunFinished(run_id, "wf", 1.0, 1.0, ok))


def test_the_slope_is_the_least_squares_fit_of_the_samples():
    assert slope([(0.0, 1.0), (1.0, 2.5), (2.0, 5.0)]) == pytest.approx(2.0)
    assert slope([(0.0, 1.0)]) is None


def test_a_run_with_an_outcome_but_no_run_finished_is_lost():
    ledger = Ledger()
    _started(ledger, "wf-1", Plan("chain"))
    ledger.run_outcome("wf-1", "ok")

    tallies = close_books(ledger, {}, {}, margin=0.5)

    assert tallies["runs"].lost == 1
    assert any("no RunFinished" in line for line in ledger.problems.lines())


def test_a_driver_run_that_never_gets_an_outcome_is_lost_and_named_by_its_shape():
    ledger = Ledger()
    _started(ledger, "wf-1", Plan("map", items=3))
    _finished(ledger, "wf-1")

    tallies = close_books(ledger, {}, {}, margin=0.5)

    assert tallies["runs"].lost == 1
    assert "map" in tallies["runs"].note


def test_a_completed_undoable_step_of_a_failed_run_must_be_undone_exactly_once():
    ledger = Ledger()
    _started(ledger, "wf-1", Plan("chain", fail="notify"))
    ledger.apply("wf-1", "reserve")
    undo_key = ledger.apply("wf-1", "charge")
    ledger.undo(undo_key)
    _finished(ledger, "wf-1", ok=False)
    ledger.run_outcome("wf-1", "failed")

    tallies = close_books(ledger, {}, {}, margin=0.5)

    assert (tallies["undos"].started, tallies["undos"].lost) == (2, 1)
    assert any("not undone" in line and "reserve" in line for line in ledger.problems.lines())


def test_a_run_that_succeeds_despite_a_planned_failure_is_a_problem():
    ledger = Ledger()
    _started(ledger, "wf-1", Plan("chain", fail="notify"))
    _finished(ledger, "wf-1")
    ledger.run_outcome("wf-1", "ok")

    assert any("expected one of ['failed']" in line for line in ledger.problems.lines())


def test_a_child_run_is_undone_with_its_parent_when_the_parent_fails():
    ledger = Ledger()
    _started(ledger, "parent-1", Plan("parent", fail="finish"))
    _started(ledger, "child-2")
    ledger.link("child-2", "parent-1")
    ledger.apply("child-2", "book")
    _finished(ledger, "child-2")
    _finished(ledger, "parent-1", ok=False)
    ledger.run_outcome("parent-1", "failed")

    tallies = close_books(ledger, {}, {}, margin=0.5)

    assert (tallies["undos"].started, tallies["undos"].lost) == (1, 1)
    assert tallies["runs"].finished == 2


def test_the_frontier_counts_missing_and_duplicate_numbers():
    seen = Frontier()
    for n in (1, 2, 4, 2):
        seen.add(n)

    assert (seen.missing(5), seen.duplicates, seen.beyond(3)) == (2, 1, 1)


def test_a_consumed_tick_never_reported_and_a_run_with_no_outcome_are_lost():
    problems = Problems()
    book = ScheduleBook("s", 1.0, 10.0, "async", problems)
    book.on_event(ScheduleTick("s", 11.0, 11.0, 1))
    book.on_event(ScheduleRunStarted("s", 11.0, 11.0, 1))
    book.job_called()
    book.on_event(ScheduleEnded("s", 13.5, "removed", 1))

    due, lost_ticks, accepted, lost_runs = book.close(consumed=2, stopped_at=13.5, margin=0.5)

    assert (due, lost_ticks, accepted, lost_runs) == (3, 2, 1, 1)


def test_a_buffered_tick_dropped_with_a_report_is_accounted():
    problems = Problems()
    book = ScheduleBook("s", 1.0, 0.0, "async", problems)
    book.on_event(ScheduleTick("s", 1.0, 1.0, 1))
    book.on_event(ScheduleRunStarted("s", 1.0, 1.0, 1))
    book.job_called()
    book.on_event(ScheduleTick("s", 2.0, 2.0, 2, buffered=True))
    book.on_event(ScheduleSkipped("s", 2.5, 2.0, "stopped"))
    book.on_event(ScheduleRunFinished("s", 2.5, 1, 1.5))
    book.on_event(ScheduleEnded("s", 2.5, "removed", 2))

    assert book.close(consumed=2, stopped_at=2.5, margin=0.5) == (2, 0, 2, 0)
    assert not problems.counts

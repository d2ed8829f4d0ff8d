"""Every discovered benchmark runs in quick mode and returns well-formed rows; the harness
alternates implementations, computes ratios within one run and checks targets."""

import gc
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not put the repo on the path
    sys.path.insert(0, str(ROOT))

from benchmarks import _harness  # noqa: E402
from benchmarks._harness import Row, Target  # noqa: E402

BENCHMARKS = _harness.discover()


@pytest.fixture(autouse=True)
def heap_of_the_suite_frozen() -> Iterator[None]:
    """Keep the suite's own objects out of the harness's full collections while it runs.

    ``alternate`` runs ``gc.collect()`` before every repetition. Late in the suite the heap
    holds every test module and every engine imported so far (Ray, Dask: ten times the
    objects of a fresh interpreter), so each of those collections walked all of them and the
    quick runs took up to ten times longer than alone (w3: 10 s in the suite, 1.2 s alone).
    Frozen objects are never walked; the benchmark's own objects are collected as before.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def test_the_kernel_benchmarks_are_discovered_by_their_w_number():
    assert {"w1_tell", "w2_ask", "w8_memory"} <= set(BENCHMARKS)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_in_quick_mode_returns_well_formed_rows_with_a_floor(name):
    table = _harness.run_modules([name], quick=True)

    assert table, f"{name} returned no rows"
    workloads: dict[str, list[Row]] = {}
    for row in table:
        assert isinstance(row, Row)
        assert row.workload
        assert row.implementation
        assert row.unit
        assert row.samples
        for value in (row.median, row.ratio, *row.samples):
            assert math.isfinite(value)
            assert value > 0, f"{row.workload} / {row.implementation}: {value!r} is not positive"
        workloads.setdefault(row.workload, []).append(row)
    for workload, group in workloads.items():
        names = [row.implementation for row in group]
        assert len(names) == len(set(names)), f"{workload} repeats an implementation: {names}"
        assert any(row.ratio == 1.0 for row in group), f"{workload} has no floor row"


def test_alternate_interleaves_implementations_after_one_warmup_each():
    calls: list[str] = []

    def measure(name: str):
        def fn() -> float:
            calls.append(name)
            return 1.0

        return fn

    samples = _harness.alternate({"A": measure("A"), "B": measure("B"), "C": measure("C")}, 2)

    assert calls == ["A", "B", "C", "A", "B", "C", "A", "B", "C"]
    assert samples == {"A": [1.0, 1.0], "B": [1.0, 1.0], "C": [1.0, 1.0]}


def test_full_runs_repeat_every_implementation_at_least_five_times():
    assert _harness.repeats(quick=False) >= 5


def test_rows_report_medians_per_operation_and_ratios_to_the_floor_of_the_same_run():
    samples = {"floor": [1.0, 3.0, 2.0], "ours": [4.0, 5.0, 100.0]}

    table = _harness.rows("W0 x", samples, unit="ms/op", floor="floor", per=2, scale=1000)

    by_name = {row.implementation: row for row in table}
    assert by_name["floor"].median == 1000.0
    assert by_name["ours"].median == 2500.0
    assert by_name["ours"].ratio == 2.5
    assert by_name["floor"].ratio == 1.0


def test_targets_relative_to_the_floor_or_a_peer_or_absolute_say_what_was_measured():
    samples = {"floor": [1.0], "ours": [2.0], "peer": [20.0]}
    targets = {"ours": [Target(2.5), Target(0.2, of="peer"), Target(1.5, absolute=True)]}

    (_, ours, _) = _harness.rows("W0 x", samples, unit="s", floor="floor", targets=targets)

    assert ours.met is False
    assert ours.target == "<= 2.5x floor: 2.00x ok; <= 0.2x peer: 0.10x ok; <= 1.5: 2.00 MISSED"


def test_a_target_relative_to_a_peer_that_was_not_measured_is_skipped():
    samples = {"floor": [1.0], "ours": [2.0]}

    (_, ours) = _harness.rows(
        "W0 x", samples, unit="s", floor="floor", targets={"ours": [Target(0.2, of="pykka")]}
    )

    assert ours.target == ""
    assert ours.met is None


def test_selecting_an_unknown_benchmark_names_it_and_lists_the_choices():
    with pytest.raises(ValueError, match=r"no benchmark matches 'w99'; choose from: .*w1_tell"):
        _harness.select(["w99"])


def test_a_selector_matches_the_w_number_or_the_module_name():
    assert _harness.select(["w2", "w1_tell"]) == ["w2_ask", "w1_tell"]


def test_the_table_has_one_line_per_row_under_a_header():
    table = _harness.rows("W0 x", {"floor": [1.0], "ours": [2.0]}, unit="s", floor="floor")

    text = _harness.format_table(table)

    lines = text.splitlines()
    assert lines[0].split("|")[1].strip() == "workload"
    assert len(lines) == 2 + len(table)
    assert "| ours " in lines[3]
    assert "2.00 |" in lines[3]


def test_with_several_floors_every_ratio_and_target_is_to_the_fastest_floor_of_the_run():
    samples = {"old floor": [4.0], "new floor": [2.0], "ours": [3.0]}

    table = _harness.rows(
        "W0 x",
        samples,
        unit="s",
        floor=["old floor", "new floor"],
        targets={"ours": [Target(1.4)]},
    )

    by_name = {row.implementation: row for row in table}
    assert by_name["new floor"].ratio == 1.0
    assert by_name["old floor"].ratio == 2.0
    assert by_name["ours"].ratio == 1.5
    assert by_name["ours"].target == "<= 1.4x floor: 1.50x MISSED"
    assert {row.floor for row in table} == {"new floor"}
    assert [row.is_floor for row in table] == [True, True, False]


def test_a_floor_that_was_not_measured_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"floor 'deque' is not one of the implementations"):
        _harness.rows("W0 x", {"floor": [1.0]}, unit="s", floor=["floor", "deque"])


def test_the_report_has_one_table_per_workload_headed_by_its_fastest_floor_and_verdicts():
    table = [
        *_harness.rows(
            "W1 a",
            {"floor": [1.0], "ours": [2.0]},
            unit="s",
            floor="floor",
            targets={"ours": [Target(1.5)]},
        ),
        *_harness.rows(
            "W2 b",
            {"floor": [1.0], "ours": [1.2]},
            unit="s",
            floor="floor",
            targets={"ours": [Target(1.5)]},
        ),
    ]

    text = _harness.format_tables(table)

    assert "### W1 a (fastest floor: floor; targets: 0 met, 1 missed)" in text
    assert "### W2 b (fastest floor: floor; targets: 1 met, 0 missed)" in text
    ours_w1 = next(line for line in text.splitlines() if "| ours" in line)
    assert "|    2.00 | <= 1.5x floor: 2.00x MISSED |" in ours_w1
    assert "| missed " in ours_w1

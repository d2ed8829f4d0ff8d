"""The opcode counter of ``benchmarks/opcodes.py``: deterministic, per operation, per function."""

import sys
from pathlib import Path

import pytest
import trio
import trio.testing

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import opcodes
from benchmarks.w2_ask import API_SHAPED, deque_floor


def sized(size):
    return lambda: deque_floor(size)


def test_the_same_work_counts_nearly_the_same_opcodes_every_time():
    first, _ = opcodes.marginal(sized, 50)
    second, _ = opcodes.marginal(sized, 50)
    assert first > 0
    # trio's scheduler shuffles a little (about 1% apart at 50 asks, 0.3% at 200): not 0.
    assert abs(first - second) / first < 0.05


def test_the_per_function_counts_add_up_to_the_total():
    per_op, count = opcodes.marginal(sized, 20)
    assert sum(count.opcodes.values()) == round(per_op * 20)
    assert count.opcodes["w2_ask.py", "server"] > 0  # the floor's own server task is counted


def test_the_command_prints_each_row_with_its_ratio_to_the_first(capsys):
    assert opcodes.main(["w2", "-n", "20", "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if "opcodes," in line]
    assert [row.split(":")[0] for row in rows] == ["trio deque floor", API_SHAPED, "arborist Actor"]
    assert "(1.00x the first row)" in rows[0]
    assert len(lines) == 3 + 3 * 2  # each row, then its two costliest functions


def test_a_durable_run_counts_the_same_opcodes_every_time():
    make = opcodes.workloads()["w12-wide"]["SQLite normal (trio thread)"]
    first, count = opcodes.marginal(make, 50)
    second, _ = opcodes.marginal(make, 50)
    assert first > 0
    # Every commit is inline (no thread to miss); the store's own timers (its lease) may still
    # fire on a loaded machine: 3% apart at 20 steps once, in a full suite.
    assert abs(first - second) / first < 0.05
    assert count.opcodes["_recorder.py", "ok_row"] > 0  # the journal's writes are counted


def test_inline_commits_puts_the_store_settings_back():
    from arborist.runtime.engine import _journal
    from arborist.runtime.store import _sqlite, _writer

    before = (_writer.HAND_OFF_AT, _sqlite.INLINE_MAX, _journal.START_DELAY)
    with opcodes.inline_commits():
        assert _sqlite.INLINE_MAX > 10**6
    after = (_writer.HAND_OFF_AT, _sqlite.INLINE_MAX, _journal.START_DELAY)
    assert after == before


def test_the_schedule_count_runs_on_the_mock_clock_one_run_a_tick():
    make = opcodes.w7_ticks(opcodes.w7_arborist_on_mock_clock, schedules=20)
    per_tick, count = opcodes.marginal(make, 20, opcodes.CLOCKS["w7"])
    # The window ends half a period after a tick: each extra second is exactly 20 runs.
    assert count.calls["w7_timers.py", "noop"] == 20
    # Every tick is an idle schedule's on-time tick: started in the timer's one frame.
    assert count.calls["_scheduler.py", "_on_timer"] == 20
    assert count.calls["_scheduler.py", "_evaluate"] == 0
    assert per_tick > 0


def test_a_flood_of_tells_runs_no_loop_bytecode_per_message():
    make = opcodes.workloads()["w1"]["arborist Actor"]
    per_message, count = opcodes.marginal(make, 2048)
    # Runs of queued messages go to the handler from C (actors._runs): each message costs its
    # tell and its on_receive; the loop itself only sets up a run per 1,024 messages.
    assert count.calls["w1_tell.py", "on_receive"] == 2048
    assert count.opcodes["_cell.py", "_loop"] < 2048 / 10
    assert per_message < 50


def test_a_thread_actor_ask_is_counted_on_both_threads():
    make = opcodes.workloads()["w2-thread"]["arborist ThreadActor"]
    per_ask, count = opcodes.marginal(make, 50, threads=True)
    # The handler and the batch's loop run on the actor's thread; the ask on trio's.
    assert count.calls["w2_ask.py", "on_receive"] == 50
    assert count.opcodes["_thread_jobs.py", "run"] > 0
    assert count.opcodes["_ref.py", "_call"] > 0
    assert per_ask > 0


def test_without_threads_only_the_trio_thread_is_counted():
    make = opcodes.workloads()["w2-thread"]["arborist ThreadActor"]
    _, count = opcodes.marginal(make, 50)
    assert count.calls["w2_ask.py", "on_receive"] == 0
    assert count.opcodes["_ref.py", "_call"] > 0


def test_tick_scaling_prints_cpu_per_tick_for_each_implementation_at_each_count(capsys):
    from benchmarks import tick_scaling

    assert tick_scaling.main(["5", "20", "--repeats", "1", "--ticks", "60"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if not line.startswith("  ")] == [
        "5 schedules, CPU per tick (median of 1):",
        "20 schedules, CPU per tick (median of 1):",
    ]
    rows = [line.strip().split(":")[0] for line in lines if line.startswith("  ")]
    assert rows == list(tick_scaling.IMPLEMENTATIONS) * 2
    assert "(1.00x the grouped floor)" in lines[1]


def test_the_nursery_per_schedule_floor_runs_every_tick_due_in_its_window():
    from benchmarks.tick_scaling import nursery_per_schedule_floor
    from benchmarks.w7_timers import Load, grouped_floor

    load = Load("4 x 1 s", 4, 1.0, window=3.5)

    def ticks(floor):
        measure = trio.run(floor, load, clock=trio.testing.MockClock(autojump_threshold=0))
        return sorted(measure.inside(load))

    lateness = ticks(nursery_per_schedule_floor)
    assert len(lateness) == 3 * 4  # four schedules, due at the window's 0, 1 and 2 s
    assert lateness == ticks(grouped_floor) == [0.0] * 12  # the mock clock stands still


@pytest.mark.parametrize("name", ["unsubscribed_arborist", "shared_nursery_arborist"])
def test_the_arborist_reference_rows_run_every_tick_due_in_their_window(name):
    from arborist.runtime.schedules._scheduler import Scheduler
    from benchmarks import tick_scaling
    from benchmarks.w7_timers import Load

    on_start = Scheduler.on_start
    load = Load("4 x 1 s", 4, 1.0, window=3.5)
    row = getattr(tick_scaling, name)
    measure = trio.run(row, load, clock=trio.testing.MockClock(autojump_threshold=0))

    assert sorted(measure.inside(load)) == [0.0] * 12  # four schedules, three ticks each
    assert Scheduler.on_start is on_start  # the shared-nursery row patched it only inside


@pytest.mark.parametrize(("name", "nurseries"), [("_arborist", 4), ("shared_nursery_arborist", 1)])
def test_the_shared_nursery_row_starts_every_run_in_one_nursery(monkeypatch, name, nurseries):
    from arborist.runtime.schedules._runner import RunsMixin
    from benchmarks import tick_scaling
    from benchmarks.w7_timers import Load

    hosts: set[int] = set()

    original = RunsMixin._execute_quick

    async def recorded(self, number, due):
        hosts.add(id(trio.lowlevel.current_task().parent_nursery))
        await original(self, number, due)

    monkeypatch.setattr(RunsMixin, "_execute_quick", recorded)
    load = Load("4 x 1 s", 4, 1.0, window=3.5)
    row = getattr(tick_scaling, name)
    trio.run(row, load, clock=trio.testing.MockClock(autojump_threshold=0))
    assert len(hosts) == nurseries  # four schedulers: a nursery each, or one for all

"""Run timelines draw each step's attempts as a text Gantt chart."""

import pytest
import trio

from arborist.runtime import Retry, Runtime, StepRecord, Workflow
from arborist.runtime.engine._timeline import format_seconds, render_timeline


def test_a_timeline_has_a_header_a_row_per_step_in_start_order_and_a_legend():
    records = [
        StepRecord("second", 1, 1.0, 2.0, "ok"),
        StepRecord("first", 1, 0.0, 1.0, "ok"),
    ]
    assert render_timeline(records, 0.0, 2.0, width=10, title="pair-1") == (
        "pair-1: 2.00s, 2 steps, 2 attempts\n"
        "step      start     took  tries  status     |0ms  2.00s|\n"
        "first       0ms    1.00s      1  ok         |█████     |\n"
        "second    1.00s    1.00s      1  ok         |     █████|\n"
        "█ ok\n"
    )


def test_retries_are_segments_of_one_row_with_dotted_waits_and_the_last_status():
    records = [
        StepRecord("fetch", 1, 0.0, 0.5, "failed"),
        StepRecord("fetch", 2, 1.0, 1.5, "failed"),
        StepRecord("fetch", 3, 2.0, 4.0, "ok"),
    ]
    assert render_timeline(records, 0.0, 4.0, width=16, title="r") == (
        "r: 4.00s, 1 step, 3 attempts\n"
        "step     start     took  tries  status     |0ms        4.00s|\n"
        "fetch      0ms    4.00s      3  ok         |▓▓··▓▓··████████|\n"
        "█ ok  ▓ failed  · waiting\n"
    )


def test_every_status_has_its_own_bar_and_a_skipped_step_has_none():
    records = [
        StepRecord("poll", 1, 0.0, 1.0, "again"),
        StepRecord("poll", 2, 2.0, 3.0, "ok"),
        StepRecord("slow", 1, 0.0, 4.0, "cancelled"),
        StepRecord("stop", 1, 3.0, 4.0, "halted"),
        StepRecord("guarded", 1, 4.0, 4.0, "skipped"),
    ]
    assert render_timeline(records, 0.0, 4.0, width=12, title="mixed") == (
        "mixed: 4.00s, 4 steps, 4 attempts\n"
        "step       start     took  tries  status     |0ms    4.00s|\n"
        "poll         0ms    3.00s      2  ok         |▒▒▒···███   |\n"
        "slow         0ms    4.00s      1  cancelled  |░░░░░░░░░░░░|\n"
        "stop       3.00s    1.00s      1  halted     |         ▄▄▄|\n"
        "guarded    4.00s      0ms      0  skipped    |            |\n"
        "█ ok  ▒ again  ░ cancelled  ▄ halted  · waiting\n"
    )


def test_an_instant_attempt_still_gets_one_column_even_at_the_very_end():
    records = [
        StepRecord("long", 1, 0.0, 10.0, "ok"),
        StepRecord("blip", 1, 10.0, 10.0, "ok"),
    ]
    lines = render_timeline(records, 0.0, 10.0, width=10).splitlines()
    assert lines[3].endswith("|         █|")


def test_a_run_that_took_no_time_draws_every_attempt_in_the_first_column():
    records = [StepRecord("a", 1, 5.0, 5.0, "ok"), StepRecord("b", 1, 5.0, 5.0, "failed")]
    lines = render_timeline(records, 5.0, 5.0, width=10).splitlines()
    assert lines[0] == "run: 0ms, 2 steps, 2 attempts"
    assert lines[2].endswith("|█         |")
    assert lines[3].endswith("|▓         |")


def test_an_unknown_status_is_drawn_and_named_in_the_legend():
    lines = render_timeline([StepRecord("a", 1, 0.0, 1.0, "paused")], 0.0, 1.0).splitlines()
    assert lines[0] == "run: 1.00s, 1 step, 1 attempt"
    assert lines[-1] == "▪ paused"


def test_long_step_names_are_cut_to_32_characters():
    name = "x" * 40
    lines = render_timeline([StepRecord(name, 1, 0.0, 1.0, "ok")], 0.0, 1.0).splitlines()
    assert lines[2].startswith("x" * 31 + "…  ")


def test_a_run_without_records_has_only_its_header_and_axis():
    assert render_timeline([], 0.0, 1.5, width=10, title="empty") == (
        "empty: 1.50s, 0 steps, 0 attempts\n"
        "step    start     took  tries  status     |0ms  1.50s|\n"
    )


@pytest.mark.parametrize("width", [9, 0, 10.0, True])
def test_a_timeline_needs_at_least_ten_integer_columns(width):
    with pytest.raises(ValueError, match=r"timeline width must be an int >= 10"):
        render_timeline([], 0.0, 1.0, width=width)


def test_a_timeline_ending_before_it_starts_is_an_error():
    with pytest.raises(ValueError, match=r"timeline end 1.0 is before its start 2.0"):
        render_timeline([], 2.0, 1.0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0ms"),
        (0.0004, "0ms"),
        (0.25, "250ms"),
        (0.9996, "1.00s"),
        (1, "1.00s"),
        (59.5, "59.50s"),
        (59.996, "1m00.0s"),
        (125, "2m05.0s"),
    ],
)
def test_durations_are_printed_in_milliseconds_seconds_or_minutes(seconds, text):
    assert format_seconds(seconds) == text


async def test_a_finished_run_renders_its_timeline_on_the_run_clock(autojump_clock):
    wf = Workflow("user_data", inputs=["user_id"])
    calls = []

    @wf.step
    async def fetch_profile(user_id):
        await trio.sleep(0.2)

    @wf.step
    async def fetch_preferences(user_id):
        await trio.sleep(0.15)

    @wf.step(retry=Retry(attempts=5, delay=0.05))
    async def fetch_activity(user_id):
        calls.append(trio.current_time())
        await trio.sleep(0.05)
        if len(calls) < 3:
            raise ConnectionError("flaky")
        await trio.sleep(0.1)

    @wf.step
    async def aggregate(fetch_profile, fetch_preferences, fetch_activity):
        await trio.sleep(0.05)

    wf.returns("aggregate")
    async with Runtime() as rt:
        await trio.sleep(1.0)  # the chart is relative to the run's start
        handle = await rt.start(wf, user_id=1)
        await handle.result()
    assert handle.timeline(width=40) == (
        f"user_data {handle.run_id}: 400ms, 4 steps, 6 attempts\n"
        "step                 start     took  tries  status     "
        "|0ms                                400ms|\n"
        "fetch_activity         0ms    350ms      3  ok         "
        "|▓▓▓▓▓·····▓▓▓▓▓·····███████████████     |\n"
        "fetch_preferences      0ms    150ms      1  ok         "
        "|███████████████                         |\n"
        "fetch_profile          0ms    200ms      1  ok         "
        "|████████████████████                    |\n"
        "aggregate            350ms     50ms      1  ok         "
        "|                                   █████|\n"
        "█ ok  ▓ failed  · waiting\n"
    )


async def test_a_running_run_renders_its_timeline_up_to_now(autojump_clock):
    wf = Workflow("sleepy")

    @wf.step
    async def nap():
        await trio.sleep(10)

    async with Runtime() as rt:
        handle = await rt.start(wf)
        await trio.sleep(4)
        assert handle.timeline(width=10).splitlines()[0] == (
            f"sleepy {handle.run_id}: 4.00s, 0 steps, 0 attempts"
        )
        handle.cancel()
        with pytest.raises(Exception, match="cancel"):
            await handle.result()

"""Triggers and wall clocks: the pure time maths of schedules, read as a specification."""

from __future__ import annotations

import itertools
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from hypothesis import given, settings
from hypothesis import strategies as st

from arborist.runtime.schedules import (
    At,
    Cron,
    Interval,
    ManualWallClock,
    SystemWallClock,
    Trigger,
    WallClock,
    at,
    cron,
    every,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def fires(trigger: Trigger, after: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    for _ in range(count):
        nxt = trigger.next_after(after)
        assert nxt is not None
        out.append(nxt)
        after = nxt
    return out


# --------------------------------------------------------------------------- intervals


def test_every_sums_its_parts_into_one_period_in_seconds():
    assert every(days=1, hours=2, minutes=3, seconds=4.5).period == 86400 + 7200 + 180 + 4.5


def test_interval_first_fire_is_one_period_after_the_start():
    assert every(seconds=30).first_fire(100.0) == 130.0


def test_immediate_interval_first_fire_is_the_start_itself():
    assert every(seconds=30, immediate=True).first_fire(100.0) == 100.0


def test_next_fire_adds_the_period_to_the_previous_due_time_not_to_when_the_run_started():
    trigger = every(seconds=30)
    first_due = trigger.first_fire(100.0)  # 130.0; suppose the run only started at 145.0
    assert trigger.next_fire(first_due) == 160.0


def test_next_fire_chained_over_ten_thousand_periods_does_not_drift():
    trigger = every(seconds=30)
    due = trigger.first_fire(1000.0)
    for _ in range(9_999):
        due = trigger.next_fire(due)
    assert due == 1000.0 + 10_000 * 30.0


def test_nth_fire_for_a_fractional_period_is_exact_after_ten_thousand_periods():
    trigger = every(seconds=0.1)
    assert trigger.nth_fire(12.3, 10_000) == 12.3 + 10_000 * 0.1


def test_nth_fire_of_an_immediate_interval_counts_the_start_as_the_first():
    trigger = every(seconds=10, immediate=True)
    assert [trigger.nth_fire(5.0, n) for n in (1, 2, 3)] == [5.0, 15.0, 25.0]


def test_nth_fire_rejects_n_below_one():
    with pytest.raises(ValueError, match=re.escape("nth_fire() counts due times from 1, got n=0")):
        every(seconds=1).nth_fire(0.0, 0)


def test_due_times_between_includes_a_tick_due_exactly_at_now():
    assert every(seconds=10).due_times_between(100.0, 130.0) == [110.0, 120.0, 130.0]


def test_due_times_between_excludes_a_tick_due_just_after_now():
    assert every(seconds=10).due_times_between(100.0, math.nextafter(130.0, 0)) == [110.0, 120.0]


def test_missed_count_is_zero_before_the_next_tick():
    assert every(seconds=10).missed_count(100.0, 109.999) == 0


def test_missed_count_counts_every_tick_since_the_previous_due_time():
    assert every(seconds=10).missed_count(100.0, 100.0 + 10 * 1_000_000) == 1_000_000


def test_missed_count_rejects_now_before_previous_due():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "now (99.0) is before previous_due (100.0): the monotonic clock never goes "
            "backwards, so pass the times in that order"
        ),
    ):
        every(seconds=10).missed_count(100.0, 99.0)


def test_every_rejects_a_zero_period_with_the_amounts_and_the_fix():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "every() needs a positive period, got seconds=0, minutes=0, hours=0, days=0: "
            "pass at least one positive amount, e.g. every(seconds=30)"
        ),
    ):
        every()


def test_every_rejects_a_negative_amount():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "every() takes finite, non-negative amounts, got minutes=-1: build the period "
            "from positive parts, e.g. every(minutes=1, seconds=30)"
        ),
    ):
        every(hours=1, minutes=-1)


def test_every_rejects_a_period_under_1_ms_stating_the_smallest():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "every() needs a period of at least 0.001 seconds (1 ms), got seconds=0.0009, "
            "minutes=0, hours=0, days=0: trio's timers cannot keep a shorter period"
        ),
    ):
        every(seconds=0.0009)


def test_every_takes_a_period_of_exactly_1_ms():
    assert every(seconds=0.001).period == 0.001


def test_interval_rejects_a_timedelta_under_1_ms():
    with pytest.raises(ValueError, match=r"Interval period must be at least 0.001 seconds"):
        Interval(timedelta(microseconds=500))


def test_interval_rejects_a_non_finite_period():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Interval period must be a positive, finite number of seconds, got inf: "
            "use e.g. every(seconds=30)"
        ),
    ):
        Interval(math.inf)


def test_interval_accepts_a_timedelta_period():
    assert Interval(timedelta(minutes=2)).period == 120.0


@given(
    start=st.floats(min_value=0, max_value=1e9),
    period=st.floats(min_value=1e-3, max_value=1e6),
    k=st.integers(min_value=1, max_value=10_000),
)
def test_property_the_kth_fire_is_start_plus_k_periods(start: float, period: float, k: int):
    trigger = Interval(period)
    due = trigger.due_times_between(start, start + k * period)
    assert trigger.nth_fire(start, k) == start + k * period
    assert len(due) == k == trigger.missed_count(start, start + k * period)
    assert due[-1] == start + k * period


@given(
    start=st.floats(min_value=0, max_value=1e9),
    period=st.floats(min_value=1e-3, max_value=1e6),
    periods=st.floats(min_value=0, max_value=10_000),
)
def test_property_due_times_between_are_increasing_and_inside_the_window(
    start: float, period: float, periods: float
):
    trigger = Interval(period)
    now = start + periods * period
    due = trigger.due_times_between(start, now)
    assert all(start < t <= now for t in due)
    assert all(a < b for a, b in itertools.pairwise(due))
    assert start + (len(due) + 1) * period > now


# --------------------------------------------------------------------------- cron basics


def test_cron_with_five_fields_fires_at_the_next_matching_minute():
    assert cron("*/15 * * * *").next_after(utc(2026, 1, 1, 9, 7, 30)) == utc(2026, 1, 1, 9, 15)


def test_cron_next_after_is_strictly_after_a_matching_instant():
    assert cron("*/15 * * * *").next_after(utc(2026, 1, 1, 9, 15)) == utc(2026, 1, 1, 9, 30)


def test_cron_next_after_skips_a_match_a_microsecond_before_after():
    moment = utc(2026, 1, 1, 9, 15) + timedelta(microseconds=1)
    assert cron("*/15 * * * *").next_after(moment) == utc(2026, 1, 1, 9, 30)


def test_cron_with_six_fields_reads_the_leading_field_as_seconds():
    trigger = cron("*/20 0 9 * * *")
    assert fires(trigger, utc(2026, 1, 1), 3) == [
        utc(2026, 1, 1, 9, 0, 0),
        utc(2026, 1, 1, 9, 0, 20),
        utc(2026, 1, 1, 9, 0, 40),
    ]


def test_cron_restricted_day_of_month_and_day_of_week_match_either_day():
    # 2026-02-02 is a Monday; the 13th is a Friday.
    trigger = cron("0 12 13 * MON")
    assert fires(trigger, utc(2026, 2, 1), 3) == [
        utc(2026, 2, 2, 12),
        utc(2026, 2, 9, 12),
        utc(2026, 2, 13, 12),
    ]


def test_cron_alias_daily_means_midnight_every_day():
    assert cron("@daily").expr == "0 0 * * *"


def test_cron_normalises_whitespace_in_the_expression():
    assert cron("  0   8 *\t* * ").expr == "0 8 * * *"


def test_cron_reads_the_expression_in_its_time_zone_winter_and_summer():
    trigger = cron("0 8 * * *", tz="Europe/Paris")
    assert trigger.next_after(utc(2026, 1, 15)) == utc(2026, 1, 15, 7)
    assert trigger.next_after(utc(2026, 7, 15)) == utc(2026, 7, 15, 6)


def test_cron_next_after_accepts_any_aware_datetime_and_answers_in_utc():
    after = datetime(2026, 1, 15, 3, tzinfo=NEW_YORK)  # 08:00 UTC
    result = cron("30 8 * * *").next_after(after)
    assert result == utc(2026, 1, 15, 8, 30)
    assert result is not None
    assert result.tzinfo is UTC


def test_cron_default_zone_is_utc_and_accepts_datetime_utc():
    assert cron("0 0 * * *").tz == ZoneInfo("UTC") == cron("0 0 * * *", tz=UTC).tz


def test_cron_accepts_a_zoneinfo():
    assert cron("0 0 * * *", tz=PARIS).tz is PARIS


@pytest.mark.parametrize("expr", ["0 0 1 1 *", "*/15 * * * *"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
def test_cron_returns_none_past_the_end_of_the_calendar(expr: str, zone: str):
    assert cron(expr, tz=zone).next_after(utc(9999, 12, 31, 23, 59)) is None


def test_cron_works_from_the_start_of_the_calendar():
    assert cron("*/15 * * * *").next_after(utc(1, 1, 1)) == utc(1, 1, 1, 0, 15)


def test_cron_next_after_rejects_a_naive_datetime():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Cron.next_after() argument must be timezone-aware, got naive 2026-01-01T00:00:00: "
            "attach a tzinfo"
        ),
    ):
        cron("* * * * *").next_after(datetime(2026, 1, 1))


def test_cron_rejects_a_wrong_number_of_fields():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "cron expression '* * * *' has 4 fields: use 5 fields (minute hour day-of-month "
            "month day-of-week), 6 with a leading seconds field (second minute hour "
            "day-of-month month day-of-week), or an alias such as @daily"
        ),
    ):
        cron("* * * *")


def test_cron_rejects_an_out_of_range_field_naming_the_field_and_its_range():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "cron expression '61 * * * *' has an invalid minute field '61': use 0-59, a range "
            "like 1-5, a list like 1,15 or a step like */10"
        ),
    ):
        cron("61 * * * *")


def test_cron_rejects_a_bad_seconds_field_in_a_six_field_expression():
    with pytest.raises(ValueError, match=re.escape("has an invalid second field '*/0'")):
        cron("*/0 * * * * *")


def test_cron_rejects_a_day_that_never_exists_in_the_chosen_months():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "cron expression '0 0 30 2 *' has an invalid day-of-month field '30': use 1-31 "
            "(a day that exists in one of the chosen months), L or LW"
        ),
    ):
        cron("0 0 30 2 *")


def test_cron_rejects_an_unknown_time_zone():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "time zone 'Europe/Pariss' is not in the IANA time-zone database: use a name such "
            "as 'Europe/Paris', 'America/New_York' or 'UTC'"
        ),
    ):
        cron("0 0 * * *", tz="Europe/Pariss")


def test_cron_rejects_a_fixed_offset_zone_other_than_utc():
    with pytest.raises(
        TypeError, match=re.escape("tz must be an IANA time-zone name or a zoneinfo.ZoneInfo")
    ):
        cron("0 0 * * *", tz=timezone(timedelta(hours=2)))


def test_cron_is_fixed_time_only_when_minute_and_hour_are_specific():
    assert cron("30 2 * * *").is_fixed_time
    assert cron("0 30 2 * * *").is_fixed_time
    assert not cron("0 * * * *").is_fixed_time
    assert not cron("*/5 2 * * *").is_fixed_time


# --------------------------------------------------------------------------- DST: spring forward


def test_fixed_time_job_in_the_paris_gap_fires_once_at_the_first_instant_after_it():
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 never happens.
    trigger = cron("30 2 * * *", tz="Europe/Paris")
    assert fires(trigger, utc(2026, 3, 28, 12), 2) == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]


def test_fixed_time_job_in_the_new_york_gap_fires_once_at_the_first_instant_after_it():
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    trigger = cron("30 2 * * *", tz="America/New_York")
    assert fires(trigger, utc(2026, 3, 7, 12), 2) == [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)]


def test_six_field_fixed_time_job_in_the_gap_fires_once_too():
    # cronsim alone skips this day for 6-field expressions; we apply the 5-field rule.
    trigger = cron("0 30 2 * * *", tz="Europe/Paris")
    assert fires(trigger, utc(2026, 3, 28, 12), 2) == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]


def test_several_fixed_times_inside_the_gap_fire_once_not_in_a_burst():
    trigger = cron("0,15,30,45 2 * * *", tz="Europe/Paris")
    assert fires(trigger, utc(2026, 3, 28, 12), 2) == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0)]


def test_a_fixed_time_at_the_end_of_the_gap_shares_that_instant_without_firing_twice():
    trigger = cron("30 2,3 * * *", tz="Europe/Paris")
    assert fires(trigger, utc(2026, 3, 28, 12), 3) == [
        utc(2026, 3, 29, 1),  # 02:30 moved to 03:00 CEST
        utc(2026, 3, 29, 1, 30),  # 03:30 CEST
        utc(2026, 3, 30, 0, 30),
    ]


def test_a_midnight_gap_moves_a_midnight_job_to_one_in_the_morning():
    # America/Santiago, 2026-09-06: 00:00 -04 jumps to 01:00 -03 (04:00 UTC).
    trigger = cron("0 0 * * *", tz="America/Santiago")
    assert fires(trigger, utc(2026, 9, 5, 0), 2) == [utc(2026, 9, 5, 4), utc(2026, 9, 6, 4)]


def test_periodic_job_has_no_ticks_in_the_gap():
    trigger = cron("*/30 * * * *", tz="Europe/Paris")
    assert fires(trigger, utc(2026, 3, 29, 0, 15), 3) == [
        utc(2026, 3, 29, 0, 30),  # 01:30 CET
        utc(2026, 3, 29, 1, 0),  # 03:00 CEST
        utc(2026, 3, 29, 1, 30),  # 03:30 CEST
    ]


def test_hourly_job_fires_every_real_hour_once_across_the_paris_spring_forward():
    trigger = cron("0 * * * *", tz="Europe/Paris")
    assert fires(trigger, utc(2026, 3, 28, 22, 30), 5) == [
        utc(2026, 3, 28, 23),  # 00:00 CET
        utc(2026, 3, 29, 0),  # 01:00 CET
        utc(2026, 3, 29, 1),  # 03:00 CEST
        utc(2026, 3, 29, 2),  # 04:00 CEST
        utc(2026, 3, 29, 3),
    ]


def test_hourly_job_fires_every_real_hour_once_across_the_new_york_spring_forward():
    trigger = cron("0 * * * *", tz="America/New_York")
    assert fires(trigger, utc(2026, 3, 8, 4, 30), 4) == [
        utc(2026, 3, 8, 5),  # 00:00 EST
        utc(2026, 3, 8, 6),  # 01:00 EST
        utc(2026, 3, 8, 7),  # 03:00 EDT
        utc(2026, 3, 8, 8),  # 04:00 EDT
    ]


def test_hourly_job_in_a_half_hour_dst_zone_skips_the_missing_hour_start():
    # Australia/Lord_Howe, 2026-10-04: 02:00 +10:30 jumps to 02:30 +11 (15:30 UTC).
    trigger = cron("0 * * * *", tz="Australia/Lord_Howe")
    assert fires(trigger, utc(2026, 10, 3, 13), 3) == [
        utc(2026, 10, 3, 13, 30),  # 00:00
        utc(2026, 10, 3, 14, 30),  # 01:00
        utc(2026, 10, 3, 16, 0),  # 03:00
    ]


# --------------------------------------------------------------------------- DST: fall back


def test_fixed_time_job_in_the_paris_repeated_hour_fires_once_at_the_first_occurrence():
    # 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:30 happens twice.
    trigger = cron("30 2 * * *", tz="Europe/Paris")
    assert fires(trigger, utc(2026, 10, 24, 12), 2) == [
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST, fold=0
        utc(2026, 10, 26, 1, 30),  # next day, 02:30 CET
    ]


def test_fixed_time_job_in_the_new_york_repeated_hour_fires_once_at_the_first_occurrence():
    # 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00 UTC); 01:30 happens twice.
    trigger = cron("30 1 * * *", tz="America/New_York")
    assert fires(trigger, utc(2026, 10, 31, 12), 2) == [
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT, fold=0
        utc(2026, 11, 2, 6, 30),  # next day, 01:30 EST
    ]


def test_fixed_time_job_asked_during_the_second_pass_waits_for_the_next_day():
    during_second_pass = datetime(2026, 11, 1, 1, 10, tzinfo=NEW_YORK, fold=1)  # 06:10 UTC
    assert cron("30 1 * * *", tz="America/New_York").next_after(during_second_pass) == utc(
        2026, 11, 2, 6, 30
    )


def test_six_field_fixed_time_job_in_the_repeated_hour_fires_once_too():
    # cronsim alone fires this one twice on fall-back day.
    trigger = cron("0 30 2 * * *", tz="Europe/Paris")
    assert fires(trigger, utc(2026, 10, 24, 12), 2) == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
    ]


def test_periodic_job_fires_in_both_passes_of_the_repeated_hour():
    trigger = cron("*/30 * * * *", tz="Europe/Paris")
    assert fires(trigger, utc(2026, 10, 24, 23, 45), 5) == [
        utc(2026, 10, 25, 0, 0),  # 02:00 CEST
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 1, 0),  # 02:00 CET
        utc(2026, 10, 25, 1, 30),  # 02:30 CET
        utc(2026, 10, 25, 2, 0),  # 03:00 CET
    ]


def test_periodic_job_asked_during_the_first_pass_still_finds_the_second_pass():
    after = datetime(2026, 10, 25, 2, 10, tzinfo=PARIS)  # 02:10 CEST, 00:10 UTC
    assert cron("5 * * * *", tz="Europe/Paris").next_after(after) == utc(2026, 10, 25, 1, 5)


def test_hourly_job_fires_every_real_hour_once_across_the_paris_fall_back():
    trigger = cron("0 * * * *", tz="Europe/Paris")
    assert fires(trigger, utc(2026, 10, 24, 22, 30), 5) == [
        utc(2026, 10, 24, 23),  # 01:00 CEST
        utc(2026, 10, 25, 0),  # 02:00 CEST
        utc(2026, 10, 25, 1),  # 02:00 CET
        utc(2026, 10, 25, 2),  # 03:00 CET
        utc(2026, 10, 25, 3),
    ]


def test_hourly_job_fires_every_real_hour_once_across_the_new_york_fall_back():
    trigger = cron("0 * * * *", tz="America/New_York")
    assert fires(trigger, utc(2026, 11, 1, 3, 30), 5) == [
        utc(2026, 11, 1, 4),  # 00:00 EDT
        utc(2026, 11, 1, 5),  # 01:00 EDT
        utc(2026, 11, 1, 6),  # 01:00 EST
        utc(2026, 11, 1, 7),  # 02:00 EST
        utc(2026, 11, 1, 8),
    ]


# --------------------------------------------------------------------------- DST: oracle


def _transitions(tz: ZoneInfo, year: int) -> list[datetime]:
    """Instants (to the minute) at which tz changes offset, by a plain minute scan."""
    found = []
    moment = utc(year, 1, 1)
    step = timedelta(hours=1)
    while moment.year == year:
        if moment.astimezone(tz).utcoffset() != (moment + step).astimezone(tz).utcoffset():
            minute = moment
            while minute.astimezone(tz).utcoffset() == moment.astimezone(tz).utcoffset():
                minute += timedelta(minutes=1)
            found.append(minute)
        moment += step
    return found


def _wall(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def _matching_walls(expr: str, first: datetime, last: datetime) -> set[datetime]:
    walls = set()
    for wall in CronSim(expr, first - timedelta(seconds=1)):
        if wall > last:
            return walls
        walls.add(wall)
    return walls


def _oracle(trigger: Cron, start: datetime, stop: datetime, step: timedelta) -> list[datetime]:
    """Brute force: scan every step of real time and apply the documented DST rules."""
    tz = trigger.tz
    scan = []
    moment = start
    while moment <= stop:
        scan.append(moment)
        moment += step
    walls = _matching_walls(
        trigger.expr, _wall(start, tz) - timedelta(hours=3), _wall(stop, tz) + timedelta(hours=3)
    )
    if not trigger.is_fixed_time:  # every real instant whose wall time matches
        return [u for u in scan[1:] if _wall(u, tz) in walls]
    # Fixed-time: the first instant whose wall time reaches the wall time, so a gap wall goes
    # to the end of the gap and a repeated wall to its first occurrence.
    due = set()
    for wall in walls:
        first = next((u for u in scan if _wall(u, tz) >= wall), None)
        if first is not None and scan[0] < first:
            due.add(first)
    return sorted(due)


ORACLE_ZONES = ["Europe/Paris", "America/New_York", "America/Santiago", "Australia/Lord_Howe"]
ORACLE_EXPRS = [
    "0 * * * *",
    "30 * * * *",
    "*/15 * * * *",
    "*/20 2 * * *",
    "30 2 * * *",
    "0 2 * * *",
    "30 1 * * *",
    "0 0 * * *",
    "0,30 0-3 * * *",
    "0 30 2 * * *",
    "*/20 15 1,2 * * *",
    "0 */30 * * * *",
]


@pytest.mark.parametrize("zone", ORACLE_ZONES)
@pytest.mark.parametrize("expr", ORACLE_EXPRS)
def test_cron_agrees_with_a_brute_force_scan_around_every_2026_transition(zone: str, expr: str):
    trigger = cron(expr, tz=zone)
    step = timedelta(minutes=1) if len(expr.split()) == 5 else timedelta(seconds=10)
    for jump in _transitions(ZoneInfo(zone), 2026):
        start, stop = jump - timedelta(hours=5), jump + timedelta(hours=5)
        expected = _oracle(trigger, start, stop, step)
        actual = []
        moment = trigger.next_after(start)
        while moment is not None and moment <= stop:
            actual.append(moment)
            moment = trigger.next_after(moment)
        assert actual == expected, (zone, expr, jump)


def _field(values: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("*"),
        st.sampled_from(values),
        st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True).map(",".join),
        st.sampled_from(["*/5", "*/15", "*/7", "10-40/10"]),
    )


_MINUTES = [str(m) for m in (0, 1, 15, 30, 45, 59)]
_HOURS = [str(h) for h in (0, 1, 2, 3, 23)]
_EXPRS = st.builds(
    lambda minute, hour, dom, dow: f"{minute} {hour} {dom} * {dow}",
    _field(_MINUTES),
    st.one_of(st.just("*"), st.sampled_from(_HOURS), st.just("1-3"), st.just("*/2")),
    st.sampled_from(["*", "*", "1", "L", "1-7"]),
    st.sampled_from(["*", "*", "SUN", "MON-FRI"]),
)
_ZONES = st.sampled_from([*ORACLE_ZONES, "UTC"]).map(ZoneInfo)
_STARTS = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2026, 12, 31),
    timezones=st.just(UTC),
)


@settings(max_examples=150, deadline=None)
@given(expr=_EXPRS, tz=_ZONES, start=_STARTS)
def test_property_cron_fires_strictly_increase_and_only_at_existing_matching_wall_times(
    expr: str, tz: ZoneInfo, start: datetime
):
    trigger = cron(expr, tz=tz)
    previous = start
    for _ in range(25):
        moment = trigger.next_after(previous)
        assert moment is not None
        assert moment.tzinfo is UTC
        assert moment > previous  # strictly increasing, hence no duplicates
        local = moment.astimezone(tz)
        wall = local.replace(tzinfo=None)
        assert local.astimezone(UTC) == moment  # a real wall time, never one inside a gap
        matches = next(CronSim(expr, wall - timedelta(seconds=1))) == wall
        offset_jumped = (moment - timedelta(seconds=1)).astimezone(tz).utcoffset() != (
            local.utcoffset()
        )
        # Only a fixed-time job may fire off its wall time: at the end of a gap it fell into.
        assert matches or (trigger.is_fixed_time and offset_jumped)
        if trigger.is_fixed_time and matches:
            assert local.fold == 0  # never in the second pass of a repeated hour
        previous = moment


# --------------------------------------------------------------------------- at


def test_at_fires_once_at_its_time():
    once = at(utc(2026, 6, 1, 9))
    assert once.next_after(utc(2026, 6, 1, 8, 59)) == utc(2026, 6, 1, 9)


def test_at_has_nothing_left_from_its_own_time_on():
    once = at(utc(2026, 6, 1, 9))
    assert once.next_after(utc(2026, 6, 1, 9)) is None


def test_at_stores_its_time_in_utc():
    assert at(datetime(2026, 6, 1, 11, tzinfo=PARIS)).when == utc(2026, 6, 1, 9)


def test_at_rejects_a_naive_datetime_saying_to_attach_a_tzinfo():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "at() time must be timezone-aware, got naive 2026-06-01T09:00:00: attach a tzinfo, "
            "e.g. datetime(..., tzinfo=ZoneInfo('Europe/Paris')) or when.replace(tzinfo=UTC)"
        ),
    ):
        at(datetime(2026, 6, 1, 9))


def test_cron_and_at_are_wall_clock_triggers_and_interval_is_not():
    assert isinstance(cron("* * * * *"), Trigger)
    assert isinstance(at(utc(2026, 1, 1)), Trigger)
    assert not isinstance(every(seconds=1), Trigger)


def test_triggers_are_frozen_values_equal_by_content():
    assert cron("0 8 * * *", tz="Europe/Paris") == Cron("0  8 * * *", PARIS)
    assert at(utc(2026, 1, 1)) == At(utc(2026, 1, 1))
    with pytest.raises(AttributeError):
        every(seconds=1).period = 2  # type: ignore[misc]


# --------------------------------------------------------------------------- wall clocks


def test_system_wall_clock_reads_the_current_time_in_utc():
    before = datetime.now(UTC)
    now = SystemWallClock().now()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


def test_both_wall_clocks_satisfy_the_wall_clock_protocol():
    assert isinstance(SystemWallClock(), WallClock)
    assert isinstance(ManualWallClock(utc(2026, 1, 1)), WallClock)


def test_manual_wall_clock_reads_its_start_normalised_to_utc():
    clock = ManualWallClock(datetime(2026, 3, 29, 3, tzinfo=PARIS))
    assert clock.now() == utc(2026, 3, 29, 1)
    assert clock.now().tzinfo is UTC


def test_manual_wall_clock_advances_by_seconds_or_a_timedelta():
    clock = ManualWallClock(utc(2026, 1, 1))
    clock.advance(90)
    clock.advance(timedelta(minutes=1))
    assert clock.now() == utc(2026, 1, 1, 0, 2, 30)


def test_manual_wall_clock_refuses_to_advance_backwards():
    clock = ManualWallClock(utc(2026, 1, 1))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "ManualWallClock.advance() needs a finite, non-negative delta, got -1: a wall "
            "clock only moves backwards through an explicit set(when)"
        ),
    ):
        clock.advance(-1)
    assert clock.now() == utc(2026, 1, 1)


def test_manual_wall_clock_set_may_step_backwards():
    clock = ManualWallClock(utc(2026, 1, 1, 12))
    clock.set(utc(2026, 1, 1, 11))
    assert clock.now() == utc(2026, 1, 1, 11)


def test_manual_wall_clock_rejects_a_naive_start():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "ManualWallClock start must be timezone-aware, got naive 2026-01-01T00:00:00: "
            "attach a tzinfo"
        ),
    ):
        ManualWallClock(datetime(2026, 1, 1))


def test_manual_wall_clock_set_rejects_a_naive_time():
    clock = ManualWallClock(utc(2026, 1, 1))
    with pytest.raises(ValueError, match=re.escape("ManualWallClock.set() time must be")):
        clock.set(datetime(2026, 1, 1))


def test_manual_wall_clock_repr_shows_the_current_reading():
    assert repr(ManualWallClock(utc(2026, 1, 1))) == "<ManualWallClock 2026-01-01T00:00:00+00:00>"

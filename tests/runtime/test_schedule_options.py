"""Schedule options and the pure catch-up planner, read as a specification."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arborist.runtime.schedules import (
    CatchUp,
    CatchUpPlan,
    MissedTick,
    MissReason,
    Overlap,
    ScheduleOptions,
    jitter_delay,
    plan_catch_up,
)

EPSILON = 1e-6  # a hair: far above float rounding at these magnitudes


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def late(due: float) -> MissedTick[float]:
    return MissedTick(due, MissReason.LATE)


# --------------------------------------------------------------------------- options


def test_default_options_skip_overlaps_run_late_ticks_once_and_set_no_limits():
    options = ScheduleOptions()
    assert (options.overlap, options.misfire_grace, options.catch_up) == (
        Overlap.SKIP,
        None,
        CatchUp.ONCE,
    )
    assert (options.jitter, options.timeout, options.max_runs) == (0.0, None, None)
    assert (options.start, options.end) == (None, None)


@pytest.mark.parametrize("member", list(Overlap))
def test_overlap_accepts_its_lower_case_name(member: Overlap):
    assert ScheduleOptions(overlap=member.value).overlap is member


def test_overlap_accepts_upper_case_names_too():
    assert ScheduleOptions(overlap="BUFFER_ALL").overlap is Overlap.BUFFER_ALL


def test_overlap_rejects_an_unknown_name_listing_the_valid_ones():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "overlap 'sikp' is not a valid policy: use one of 'skip', 'buffer_one', "
            "'buffer_all', 'cancel_other', 'allow' or a member of Overlap"
        ),
    ):
        ScheduleOptions(overlap="sikp")


def test_overlap_queue_is_rejected_with_a_hint_at_the_buffer_policies():
    with pytest.raises(ValueError, match=re.escape("('queue' is 'buffer_one' or 'buffer_all')")):
        ScheduleOptions(overlap="queue")


@pytest.mark.parametrize("member", list(CatchUp))
def test_catch_up_accepts_its_lower_case_name(member: CatchUp):
    assert ScheduleOptions(catch_up=member.value).catch_up is member


def test_catch_up_rejects_an_unknown_name_listing_the_valid_ones():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "catch_up 'twice' is not a valid policy: use one of 'skip', 'once', 'all' "
            "or a member of CatchUp"
        ),
    ):
        ScheduleOptions(catch_up="twice")


def test_misfire_grace_of_zero_is_allowed():
    assert ScheduleOptions(misfire_grace=0).misfire_grace == 0.0


def test_durations_accept_a_timedelta_as_seconds():
    options = ScheduleOptions(misfire_grace=timedelta(minutes=1), timeout=timedelta(seconds=5))
    assert (options.misfire_grace, options.timeout) == (60.0, 5.0)


def test_misfire_grace_rejects_a_negative_duration():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "misfire_grace must be a finite number of seconds >= 0, or None for no limit, got -1"
        ),
    ):
        ScheduleOptions(misfire_grace=-1)


def test_misfire_grace_rejects_infinity_pointing_at_none():
    with pytest.raises(ValueError, match=re.escape("or None for no limit, got inf")):
        ScheduleOptions(misfire_grace=float("inf"))


def test_jitter_rejects_a_negative_duration():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "jitter must be a finite number of seconds >= 0 (0 for no jitter), got -0.5"
        ),
    ):
        ScheduleOptions(jitter=-0.5)


def test_timeout_rejects_zero():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "timeout must be a finite number of seconds > 0, or None for no timeout, got 0"
        ),
    ):
        ScheduleOptions(timeout=0)


def test_durations_reject_a_bool():
    with pytest.raises(
        TypeError,
        match=re.escape("jitter must be a number of seconds or a timedelta, got True"),
    ):
        ScheduleOptions(jitter=True)


@pytest.mark.parametrize("value", [0, -3, True, 2.5])
def test_max_runs_must_be_an_int_of_at_least_one(value: object):
    with pytest.raises(
        ValueError,
        match=re.escape(f"max_runs must be an int >= 1, or None for no limit, got {value!r}"),
    ):
        ScheduleOptions(max_runs=value)  # type: ignore[arg-type]


def test_start_must_be_timezone_aware():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "start must be timezone-aware, got naive 2026-01-01T00:00:00: attach a tzinfo"
        ),
    ):
        ScheduleOptions(start=datetime(2026, 1, 1))


def test_end_must_be_after_start():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "end (2026-01-01T00:00:00+00:00) must be after start (2026-01-01T00:00:00+00:00): "
            "swap them, or drop one for an open-ended window"
        ),
    ):
        ScheduleOptions(start=utc(2026, 1, 1), end=utc(2026, 1, 1))


def test_in_window_includes_both_bounds_and_excludes_beyond_them():
    options = ScheduleOptions(start=utc(2026, 1, 1), end=utc(2026, 2, 1))
    one_microsecond = timedelta(microseconds=1)
    assert options.in_window(utc(2026, 1, 1))
    assert options.in_window(utc(2026, 2, 1))
    assert not options.in_window(utc(2026, 1, 1) - one_microsecond)
    assert not options.in_window(utc(2026, 2, 1) + one_microsecond)


def test_in_window_with_no_bounds_is_always_true():
    assert ScheduleOptions().in_window(utc(1970, 1, 1))


def test_options_are_frozen_and_varied_with_evolve():
    import attrs

    options = ScheduleOptions()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        options.jitter = 1.0  # type: ignore[misc]
    assert attrs.evolve(options, overlap="allow").overlap is Overlap.ALLOW


# --------------------------------------------------------------------------- plan_catch_up


def test_a_tick_exactly_misfire_grace_late_still_runs():
    plan = plan_catch_up([10.0], 15.0, ScheduleOptions(misfire_grace=5))
    assert plan == CatchUpPlan((10.0,), ())


def test_a_tick_a_hair_more_than_misfire_grace_late_is_missed_as_late():
    plan = plan_catch_up([10.0], 15.0 + EPSILON, ScheduleOptions(misfire_grace=5))
    assert plan == CatchUpPlan((), (late(10.0),))


def test_misfire_grace_edges_hold_to_the_microsecond_for_wall_clock_ticks():
    options = ScheduleOptions(misfire_grace=5)
    due = utc(2026, 1, 1, 8)
    edge = due + timedelta(seconds=5)
    assert plan_catch_up([due], edge, options).to_run == (due,)
    beyond = plan_catch_up([due], edge + timedelta(microseconds=1), options)
    assert beyond.missed == (MissedTick(due, MissReason.LATE),)


def test_a_zero_misfire_grace_runs_only_a_tick_that_is_exactly_on_time():
    options = ScheduleOptions(misfire_grace=0)
    assert plan_catch_up([10.0], 10.0, options).to_run == (10.0,)
    assert plan_catch_up([10.0], 10.0 + EPSILON, options).to_run == ()


def test_no_misfire_grace_runs_a_tick_however_late():
    assert plan_catch_up([10.0], 1e9, ScheduleOptions()).to_run == (10.0,)


def test_catch_up_once_runs_the_newest_tick_and_coalesces_the_others():
    plan = plan_catch_up([10.0, 20.0, 30.0], 31.0, ScheduleOptions(catch_up="once"))
    assert plan == CatchUpPlan(
        (30.0,),
        (MissedTick(10.0, MissReason.COALESCED), MissedTick(20.0, MissReason.COALESCED)),
    )


def test_catch_up_once_reports_ticks_beyond_grace_as_late_not_coalesced():
    options = ScheduleOptions(catch_up="once", misfire_grace=15)
    plan = plan_catch_up([10.0, 20.0, 30.0], 35.0, options)
    assert plan == CatchUpPlan((30.0,), (late(10.0), MissedTick(20.0, MissReason.COALESCED)))


def test_catch_up_once_runs_nothing_when_every_tick_is_beyond_grace():
    options = ScheduleOptions(catch_up="once", misfire_grace=1)
    plan = plan_catch_up([10.0, 20.0], 21.0 + EPSILON, options)
    assert plan == CatchUpPlan((), (late(10.0), late(20.0)))


def test_catch_up_all_runs_every_tick_oldest_first():
    plan = plan_catch_up([10.0, 20.0, 30.0], 31.0, ScheduleOptions(catch_up="all"))
    assert plan == CatchUpPlan((10.0, 20.0, 30.0), ())


def test_catch_up_all_runs_a_tick_exactly_at_the_grace_edge_and_misses_the_one_beyond():
    options = ScheduleOptions(catch_up="all", misfire_grace=20)
    plan = plan_catch_up([10.0 - EPSILON, 10.0, 20.0], 30.0, options)
    assert plan == CatchUpPlan((10.0, 20.0), (late(10.0 - EPSILON),))


def test_catch_up_skip_runs_nothing_when_several_ticks_are_due():
    plan = plan_catch_up([10.0, 20.0], 20.0, ScheduleOptions(catch_up="skip"))
    assert plan == CatchUpPlan(
        (), (MissedTick(10.0, MissReason.BEHIND), MissedTick(20.0, MissReason.BEHIND))
    )


def test_catch_up_skip_still_reports_ticks_beyond_grace_as_late():
    options = ScheduleOptions(catch_up="skip", misfire_grace=5)
    plan = plan_catch_up([10.0, 20.0], 20.0, options)
    assert plan.missed == (late(10.0), MissedTick(20.0, MissReason.BEHIND))


def test_catch_up_skip_runs_a_single_due_tick_within_grace():
    options = ScheduleOptions(catch_up="skip", misfire_grace=5)
    assert plan_catch_up([10.0], 15.0, options).to_run == (10.0,)


def test_catch_up_skip_misses_a_single_due_tick_beyond_grace_as_late():
    options = ScheduleOptions(catch_up="skip", misfire_grace=5)
    assert plan_catch_up([10.0], 15.0 + EPSILON, options) == CatchUpPlan((), (late(10.0),))


def test_an_empty_batch_plans_nothing():
    assert plan_catch_up([], 10.0, ScheduleOptions()) == CatchUpPlan((), ())


def test_a_plan_unpacks_as_to_run_and_missed():
    to_run, missed = plan_catch_up([10.0, 20.0], 20.0, ScheduleOptions())
    assert (to_run, missed) == ((20.0,), (MissedTick(10.0, MissReason.COALESCED),))


def test_plan_catch_up_works_on_wall_clock_datetimes():
    ticks = [utc(2026, 1, 1, 8), utc(2026, 1, 2, 8)]
    plan = plan_catch_up(ticks, utc(2026, 1, 2, 9), ScheduleOptions())
    assert plan.to_run == (utc(2026, 1, 2, 8),)


def test_plan_catch_up_rejects_due_times_out_of_order():
    with pytest.raises(
        ValueError, match=re.escape("due times must be in ascending order, got 20.0 then 10.0")
    ):
        plan_catch_up([20.0, 10.0], 30.0, ScheduleOptions())


def test_plan_catch_up_rejects_a_due_time_after_now():
    with pytest.raises(
        ValueError,
        match=re.escape("due time 30.0 is after now (20.0): pass only ticks that have come due"),
    ):
        plan_catch_up([10.0, 30.0], 20.0, ScheduleOptions())


def test_plan_catch_up_rejects_mixing_monotonic_seconds_and_datetimes():
    with pytest.raises(TypeError, match="must both be monotonic seconds or both be datetimes"):
        plan_catch_up([10.0], utc(2026, 1, 1), ScheduleOptions())  # type: ignore[type-var]


def test_plan_catch_up_rejects_naive_datetimes():
    with pytest.raises(ValueError, match=re.escape("plan_catch_up() time must be timezone-aware")):
        plan_catch_up([datetime(2026, 1, 1)], utc(2026, 1, 2), ScheduleOptions())


_BATCHES = st.lists(st.floats(min_value=0, max_value=1000), max_size=20).map(sorted)


@given(
    due_times=_BATCHES,
    extra=st.floats(min_value=0, max_value=100),
    grace=st.one_of(st.none(), st.floats(min_value=0, max_value=500)),
    catch_up=st.sampled_from(CatchUp),
)
def test_property_every_due_tick_is_either_run_or_missed_exactly_once(
    due_times: list[float], extra: float, grace: float | None, catch_up: CatchUp
):
    now = (due_times[-1] if due_times else 0.0) + extra
    options = ScheduleOptions(misfire_grace=grace, catch_up=catch_up)
    to_run, missed = plan_catch_up(due_times, now, options)
    assert sorted([*to_run, *(tick.due for tick in missed)]) == due_times
    assert all(grace is None or now - due <= grace for due in to_run)
    assert list(to_run) == sorted(to_run)
    assert len(to_run) <= (len(due_times) if catch_up is CatchUp.ALL else 1)


# --------------------------------------------------------------------------- jitter


class _NoDraws:
    def uniform(self, a: float, b: float) -> float:
        raise AssertionError("jitter_delay drew a random number with jitter 0")


def test_zero_jitter_adds_no_delay_and_draws_nothing():
    assert jitter_delay(ScheduleOptions(), _NoDraws()) == 0.0


def test_jitter_delay_is_drawn_uniformly_from_zero_to_jitter():
    seen: list[tuple[float, float]] = []

    class Recorder:
        def uniform(self, a: float, b: float) -> float:
            seen.append((a, b))
            return b

    assert jitter_delay(ScheduleOptions(jitter=7.5), Recorder()) == 7.5
    assert seen == [(0.0, 7.5)]


@given(jitter=st.floats(min_value=0, max_value=3600), seed=st.integers())
def test_property_jitter_delay_stays_within_zero_and_jitter(jitter: float, seed: int):
    delay = jitter_delay(ScheduleOptions(jitter=jitter), random.Random(seed))
    assert 0.0 <= delay <= jitter


def test_jitter_delay_is_reproducible_from_a_seeded_rng():
    options = ScheduleOptions(jitter=10)
    assert jitter_delay(options, random.Random(42)) == jitter_delay(options, random.Random(42))

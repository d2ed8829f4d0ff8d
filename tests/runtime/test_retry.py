"""Retry: validation at construction, should_retry, and the delay maths."""

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arborist.runtime.workflow import Retry
from arborist.supervision import Backoff

# --- construction and validation -------------------------------------------------------------


def test_the_default_policy_is_a_single_attempt_without_delay():
    policy = Retry()
    assert (policy.attempts, policy.backoff, policy.delay, policy.jitter) == (
        1,
        "constant",
        0.0,
        False,
    )
    assert policy.retry_on == (Exception,)


def test_exponential_backoff_without_a_delay_starts_from_a_tenth_of_a_second():
    assert Retry(attempts=5, backoff="exponential").delay == 0.1


def test_an_explicit_delay_overrides_the_exponential_default():
    assert Retry(backoff="exponential", delay=0.0).delay == 0.0


def test_attempts_below_one_are_rejected_with_the_fix():
    with pytest.raises(ValueError, match=r"attempts=0\): attempts counts every try .* attempts=1"):
        Retry(attempts=0)


def test_attempts_must_be_an_int():
    with pytest.raises(TypeError, match=r"attempts must be an int"):
        Retry(attempts=2.5)  # type: ignore[arg-type]


def test_an_unknown_backoff_is_rejected():
    with pytest.raises(ValueError, match=r"backoff must be 'constant', 'exponential' or a Backoff"):
        Retry(backoff="linear")  # type: ignore[arg-type]


def test_a_negative_delay_is_rejected():
    with pytest.raises(ValueError, match=r"Retry\(delay=-1\): delay must be a finite number"):
        Retry(delay=-1)


def test_an_infinite_delay_is_rejected():
    with pytest.raises(ValueError, match=r"delay must be a finite number of seconds >= 0"):
        Retry(delay=float("inf"))


def test_a_factor_below_one_is_rejected():
    with pytest.raises(ValueError, match=r"factor must be a finite number >= 1"):
        Retry(backoff="exponential", factor=0.5)


def test_a_cap_below_the_base_delay_is_rejected_with_the_fix():
    with pytest.raises(
        ValueError, match=r"max_delay=1.0\): .* below delay=2.0; raise max_delay or lower delay"
    ):
        Retry(delay=2.0, max_delay=1.0)


@pytest.mark.parametrize("jitter", [0, 0.0, 1.5, -0.1])
def test_a_jitter_fraction_outside_zero_to_one_is_rejected(jitter):
    with pytest.raises(ValueError, match=r"jitter fraction must be in \(0, 1\]"):
        Retry(jitter=jitter)


def test_jitter_must_be_a_bool_or_a_number():
    with pytest.raises(TypeError, match=r"jitter must be True \(full jitter\), False"):
        Retry(jitter="full")  # type: ignore[arg-type]


def test_a_single_exception_class_becomes_a_tuple():
    assert Retry(retry_on=ConnectionError).retry_on == (ConnectionError,)  # type: ignore[arg-type]


def test_a_list_of_exception_classes_becomes_a_tuple():
    policy = Retry(retry_on=[ConnectionError, TimeoutError])  # type: ignore[arg-type]
    assert policy.retry_on == (ConnectionError, TimeoutError)


def test_retry_on_rejects_base_exceptions_that_must_stop_a_step():
    with pytest.raises(TypeError, match=r"takes Exception subclasses, got KeyboardInterrupt"):
        Retry(retry_on=(KeyboardInterrupt,))


def test_retry_on_rejects_non_classes():
    with pytest.raises(TypeError, match=r"takes Exception subclasses, got 'boom'"):
        Retry(retry_on=("boom",))  # type: ignore[arg-type]


def test_an_empty_retry_on_is_rejected():
    with pytest.raises(ValueError, match=r"an empty retry_on never retries"):
        Retry(retry_on=())


def test_a_policy_is_frozen():
    policy = Retry()
    with pytest.raises(AttributeError):
        policy.attempts = 3  # type: ignore[misc]


# --- should_retry ----------------------------------------------------------------------------


def test_should_retry_until_the_last_attempt():
    policy = Retry(attempts=3)
    assert [policy.should_retry(ValueError(), attempt) for attempt in (1, 2, 3)] == [
        True,
        True,
        False,
    ]


def test_should_retry_only_the_listed_exceptions():
    policy = Retry(attempts=3, retry_on=(ConnectionError,))
    assert policy.should_retry(ConnectionRefusedError(), 1)
    assert not policy.should_retry(ValueError(), 1)


def test_should_never_retry_a_base_exception():
    assert not Retry(attempts=3).should_retry(KeyboardInterrupt(), 1)


# --- delays ----------------------------------------------------------------------------------


def test_constant_backoff_waits_the_same_delay_every_time():
    policy = Retry(attempts=4, delay=0.5)
    assert [policy.delay_for(n) for n in (1, 2, 3)] == [0.5, 0.5, 0.5]


def test_exponential_backoff_multiplies_by_the_factor():
    policy = Retry(attempts=5, backoff="exponential", delay=1.0, factor=3.0)
    assert [policy.delay_for(n) for n in (1, 2, 3, 4)] == [1.0, 3.0, 9.0, 27.0]


def test_exponential_backoff_is_capped_at_max_delay():
    policy = Retry(attempts=5, backoff="exponential", delay=1.0, max_delay=5.0)
    assert [policy.delay_for(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]


def test_exponential_backoff_survives_huge_attempt_numbers():
    policy = Retry(backoff="exponential", delay=1.0, max_delay=60.0)
    assert policy.delay_for(5000) == 60.0


def test_delay_for_rejects_attempt_zero():
    with pytest.raises(ValueError, match=r"attempt numbers start at 1"):
        Retry().delay_for(0)


def test_full_jitter_varies_the_delay():
    policy = Retry(delay=1.0, jitter=True)
    rng = random.Random(7)
    assert len({policy.delay_for(1, rng) for _ in range(20)}) == 20


def test_partial_jitter_varies_the_delay_above_its_floor():
    policy = Retry(delay=1.0, jitter=0.25)
    rng = random.Random(7)
    delays = [policy.delay_for(1, rng) for _ in range(20)]
    assert len(set(delays)) == 20
    assert all(0.75 <= d <= 1.0 for d in delays)


def test_jitter_is_reproducible_with_a_seeded_generator():
    policy = Retry(backoff="exponential", delay=1.0, jitter=True)
    first = [policy.delay_for(n, random.Random(3)) for n in (1, 2, 3)]
    again = [policy.delay_for(n, random.Random(3)) for n in (1, 2, 3)]
    assert first == again


policies = st.builds(
    Retry,
    attempts=st.integers(1, 20),
    backoff=st.sampled_from(["constant", "exponential"]),
    delay=st.floats(0, 10),
    factor=st.floats(1, 4),
    jitter=st.one_of(st.booleans(), st.floats(0.01, 1)),
)


@given(policy=policies, attempt=st.integers(1, 200), seed=st.integers(0, 2**32))
def test_every_delay_lies_between_its_jitter_floor_and_the_unjittered_delay(policy, attempt, seed):
    plain = Retry(
        backoff=policy.backoff, delay=policy.delay, factor=policy.factor, max_delay=policy.max_delay
    ).delay_for(attempt)
    jittered = policy.delay_for(attempt, random.Random(seed))
    floor = 0.0 if policy.jitter is True else plain * (1 - float(policy.jitter))
    tolerance = 1e-9 * max(1.0, plain)
    assert floor - tolerance <= jittered <= plain + tolerance


@given(
    delay=st.floats(0, 10),
    factor=st.floats(1, 4),
    attempts=st.lists(st.integers(1, 100), min_size=2, max_size=10),
)
def test_exponential_delays_without_jitter_never_shrink(delay, factor, attempts):
    policy = Retry(backoff="exponential", delay=delay, factor=factor)
    delays = [policy.delay_for(n) for n in sorted(attempts)]
    assert delays == sorted(delays)


@given(
    delay=st.floats(0, 5),
    extra=st.floats(0, 50),
    jitter=st.one_of(st.booleans(), st.floats(0.01, 1)),
    attempt=st.integers(1, 2000),
)
def test_no_delay_exceeds_max_delay(delay, extra, jitter, attempt):
    cap = delay + extra
    policy = Retry(backoff="exponential", delay=delay, max_delay=cap, jitter=jitter)
    assert 0.0 <= policy.delay_for(attempt, random.Random(attempt)) <= cap


# --- one vocabulary with the supervisors' Backoff ----------------------------------------------


def test_a_retry_takes_a_supervisor_backoff_value_for_its_waits():
    waits = Backoff(initial=0.5, factor=3.0, max=4.0, jitter=0.0)
    policy = Retry(attempts=5, backoff=waits)

    assert policy.policy is waits
    assert [policy.delay_for(n) for n in (1, 2, 3)] == [0.5, 1.5, 4.0]
    assert policy.delay == 0.5


def test_the_shorthand_describes_the_same_backoff_value():
    policy = Retry(attempts=4, backoff="exponential", delay=0.5, factor=2.0, max_delay=1.5)

    assert policy.policy == Backoff(initial=0.5, factor=2.0, max=1.5, jitter=0.0)


def test_a_constant_shorthand_is_a_backoff_with_factor_one():
    assert Retry(attempts=2, delay=3.0).policy == Backoff.constant(3.0)


def test_full_jitter_means_the_same_in_a_retry_and_in_a_backoff():
    shorthand = Retry(attempts=3, backoff="exponential", delay=1.0, jitter=True)
    value = Retry(attempts=3, backoff=Backoff.exponential(1.0, max=math.inf, jitter=True))

    assert [shorthand.delay_for(n, random.Random(7)) for n in (1, 2, 3)] == [
        value.delay_for(n, random.Random(7)) for n in (1, 2, 3)
    ]


@pytest.mark.parametrize(
    ("option", "value"), [("delay", 1.0), ("factor", 3.0), ("max_delay", 2.0), ("jitter", True)]
)
def test_a_backoff_value_and_the_shorthand_together_is_an_error_naming_the_option(option, value):
    with pytest.raises(ValueError, match=rf"give the waits in it .* not as {option}="):
        Retry(attempts=2, backoff=Backoff.constant(0.5), **{option: value})

"""The shared argument checks: each names the parameter, shows the value, says what is allowed."""

import gc
import inspect
import math
import re
import weakref

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arborist.actors._checks import (
    MIN_PERIOD,
    check_args_fit,
    check_bool,
    check_int,
    check_seconds,
    check_timeout,
)


def three(a, b, c=3, *, d=4):
    return a, b, c, d


def keyword_needed(a, *, key):
    return a, key


def any_number(*args):
    return args


def keywords_too(a, /, b, *args, c, **kwargs):
    return a, b, args, c, kwargs


class Built:
    def __init__(self, a, b=2):
        self.a, self.b = a, b


SIGNATURES = [
    three,
    keyword_needed,
    any_number,
    keywords_too,
    Built,
    lambda: None,
    lambda a, /, b=1: (a, b),
]


@given(
    fn=st.sampled_from(SIGNATURES),
    count=st.integers(0, 5),
    names=st.sets(st.sampled_from(["a", "b", "c", "d", "e", "key"]), max_size=3),
    partial=st.booleans(),
)
def test_args_fit_exactly_when_the_signature_binds_them(fn, count, names, partial):
    args = tuple(range(count))
    kwargs = dict.fromkeys(names, 0)
    signature = inspect.signature(fn)
    bind = signature.bind_partial if partial else signature.bind
    try:
        bind(*args, **kwargs)
    except TypeError:
        binds = False
    else:
        binds = True

    try:
        check_args_fit(fn, args, kwargs, what="test", partial=partial)
    except TypeError:
        fits = False
    else:
        fits = True

    assert fits == binds


def test_args_that_do_not_fit_name_the_caller_the_args_and_the_signature():
    with pytest.raises(TypeError) as caught:
        check_args_fit(three, (1, 2, 3, 4), what="start_child")

    message = str(caught.value)
    assert message.startswith("start_child: args (1, 2, 3, 4) do not fit three(a, b, c=3, *, d=4)")
    assert "too many positional arguments" in message


def test_an_unknown_keyword_does_not_fit_even_when_missing_arguments_may_come_later():
    with pytest.raises(TypeError, match=r"kwargs \{'e': 5\}.*unexpected keyword argument 'e'"):
        check_args_fit(three, (), {"e": 5}, what="child 'c'", partial=True)


def test_a_callable_whose_signature_cannot_be_read_is_not_checked():
    check_args_fit(max, (1, 2, 3), what="test")


def test_checking_a_function_does_not_keep_it_alive():
    def job(x):
        return x

    check_args_fit(job, (1,), what="test")
    ref = weakref.ref(job)
    del job
    gc.collect()

    assert ref() is None


@pytest.mark.parametrize("value", ["5", None, True, [1]])
def test_seconds_refuse_what_is_not_a_number_as_a_type_error(value):
    with pytest.raises(
        TypeError, match=re.escape(f"delay must be a number of seconds >= 0; got {value!r}")
    ):
        check_seconds(value, "delay")


@pytest.mark.parametrize("value", [-1, math.nan, -math.inf])
def test_seconds_refuse_a_negative_or_nan_number_as_a_value_error(value):
    with pytest.raises(ValueError, match=f"got {value!r}"):
        check_seconds(value, "delay")


def test_seconds_may_have_to_be_finite_and_above_a_bound():
    with pytest.raises(ValueError, match=r"period must be a finite number of seconds > 0; got inf"):
        check_seconds(math.inf, "period", strict=True, finite=True)
    with pytest.raises(ValueError, match=r">= 0.001; got 0.0001"):
        check_seconds(0.0001, "period", least=MIN_PERIOD)

    assert check_seconds(MIN_PERIOD, "period", least=MIN_PERIOD) == 0.001


def test_seconds_take_none_only_when_told_what_it_means():
    assert check_seconds(None, "timeout", none="for no limit") is None
    with pytest.raises(TypeError, match="timeout must be a number of seconds >= 0; got None"):
        check_seconds(None, "timeout")


@pytest.mark.parametrize("value", [None, 0, 2, 0.5, math.inf])
def test_a_timeout_may_be_none_zero_or_any_positive_number(value):
    check_timeout(value)


@pytest.mark.parametrize(
    ("value", "error"),
    [("5", TypeError), (True, TypeError), (-1, ValueError), (math.nan, ValueError)],
)
def test_a_timeout_refuses_a_str_a_bool_a_negative_and_nan(value, error):
    with pytest.raises(error, match=f"or None to wait forever; got {value!r}"):
        check_timeout(value, "ask timeout")


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (1.5, TypeError), (True, TypeError)])
def test_a_positive_int_refuses_zero_a_float_and_a_bool(value, error):
    with pytest.raises(error, match=f"size must be a positive int; got {value!r}"):
        check_int(value, "size")


@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_a_flag_must_be_a_real_bool(value):
    with pytest.raises(TypeError, match=f"concurrent must be True or False; got {value!r}"):
        check_bool(value, "concurrent")

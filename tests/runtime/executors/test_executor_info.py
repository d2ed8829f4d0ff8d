"""RemoteStepInfo is frozen and picklable; check_sendable names the step and the value."""

import pickle
import threading

import attrs
import cloudpickle
import pytest
import trio

from arborist.runtime.executors import NotSendableError, RemoteStepInfo, check_sendable


def test_the_idempotency_key_is_the_same_for_every_attempt_of_an_element():
    first = RemoteStepInfo.for_attempt("r1", "etl", "parse", 1, element=3)
    retry = RemoteStepInfo.for_attempt("r1", "etl", "parse", 2, element=3)

    assert first.idempotency_key == retry.idempotency_key == "etl/r1/parse[3]"
    assert first != retry


def test_a_plain_step_has_no_element_in_its_key():
    info = RemoteStepInfo.for_attempt("r1", "etl", "load", 1)

    assert info.element is None
    assert info.idempotency_key == "etl/r1/load"


def test_remote_step_info_survives_pickle_and_cloudpickle():
    info = RemoteStepInfo.for_attempt("r1", "etl", "parse", 2, element=0)

    assert pickle.loads(pickle.dumps(info)) == info
    assert cloudpickle.loads(cloudpickle.dumps(info)) == info


def test_remote_step_info_is_frozen():
    info = RemoteStepInfo.for_attempt("r1", "etl", "parse", 1)

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        info.attempt = 2  # type: ignore[misc]


@pytest.mark.parametrize(("field", "value"), [("attempt", 0), ("element", -1)])
def test_remote_step_info_refuses_bad_numbers(field, value):
    kwargs = {"run_id": "r", "workflow": "w", "step": "s", "attempt": 1, "idempotency_key": "k"}
    kwargs[field] = value

    with pytest.raises(ValueError, match=f"{field} must be"):
        RemoteStepInfo(**kwargs)


def test_a_lambda_and_plain_values_are_sendable():
    offset = 3
    check_sendable("step 'add'", lambda x: x + offset, (1,), {"scale": [1, 2]})


def test_a_lock_argument_is_named_with_the_step():
    with pytest.raises(NotSendableError, match=r"step 'save' .* argument 'guard' \(<unlocked"):
        check_sendable("step 'save'", len, (), {"guard": threading.Lock()})


def test_a_positional_argument_is_named_by_its_position():
    with pytest.raises(NotSendableError, match="argument 1"):
        check_sendable("step 'save'", None, (1, threading.Lock()))


def test_a_function_closing_over_a_lock_is_named_as_the_function():
    guard = threading.Lock()

    def uses_guard():
        return guard.locked()

    with pytest.raises(NotSendableError, match="the function") as info:
        check_sendable("step 'save'", uses_guard)

    assert info.value.name == "the function"
    assert isinstance(info.value.__cause__, TypeError)


async def test_a_trio_object_gets_a_hint_to_keep_trio_work_local():
    with pytest.raises(NotSendableError, match="trio objects belong to the local trio loop"):
        check_sendable("element 4 of map 'parse'", len, (trio.Event(),))


async def test_a_trio_channel_is_refused_although_it_pickles():
    send, _ = trio.open_memory_channel(1)

    with pytest.raises(NotSendableError, match="MemorySendChannel works only in this process"):
        check_sendable("step 'notify'", len, (), {"channel": send})

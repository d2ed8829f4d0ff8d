"""The event bus: handlers in order, filtered by class, and whether an event has a taker."""

from __future__ import annotations

import gc

import attrs
import pytest

from arborist.supervision._events import EventBus


@attrs.frozen
class Started:
    name: str


@attrs.frozen
class Finished:
    name: str


@attrs.frozen
class FinishedLate(Finished):
    pass


def test_a_handler_subscribed_with_only_gets_just_those_classes_and_their_subclasses():
    bus: EventBus[object] = EventBus()
    got: list[object] = []
    bus.subscribe(got.append, only=Finished)

    for event in (Started("a"), Finished("b"), FinishedLate("c")):
        bus.emit(event)

    assert got == [Finished("b"), FinishedLate("c")]


def test_only_takes_a_union_or_a_tuple_of_classes():
    bus: EventBus[object] = EventBus()
    union: list[object] = []
    pair: list[object] = []
    bus.subscribe(union.append, only=Started | Finished)
    bus.subscribe(pair.append, only=(Started,))

    bus.emit(Started("a"))
    bus.emit(Finished("b"))

    assert union == [Started("a"), Finished("b")]
    assert pair == [Started("a")]


def test_wants_says_whether_any_handler_would_take_an_event_of_that_class():
    bus: EventBus[object] = EventBus()
    assert not bus.wants(Started)

    unsubscribe = bus.subscribe(print, only=Finished)
    assert not bus.wants(Started)
    assert bus.wants(Finished)
    assert bus.wants(FinishedLate)

    everything = bus.subscribe(print)
    assert bus.wants(Started)

    everything()
    unsubscribe()
    assert not bus.wants(Finished)
    assert not bus


def test_wanted_is_one_read_only_mapping_that_follows_every_subscription():
    bus: EventBus[object] = EventBus()
    wanted = bus.wanted  # kept, as a producer asking on every operation keeps it
    assert not wanted[Started]

    unsubscribe = bus.subscribe(print, only=Finished)
    assert bus.wanted is wanted
    assert (wanted[Started], wanted[Finished], wanted[FinishedLate]) == (False, True, True)

    unsubscribe()
    assert not wanted[Finished]
    with pytest.raises(TypeError):
        wanted[Finished] = True  # type: ignore[index]


def test_a_bus_goes_with_its_last_reference_not_at_a_collectors_pass():
    def buses() -> int:
        return sum(1 for obj in gc.get_objects() if type(obj) is EventBus)

    gc.disable()  # a reference cycle would keep it until the next pass
    try:
        before = buses()
        bus: EventBus[object] = EventBus()
        bus.subscribe(print, only=Finished)
        assert bus.wanted[Finished]
        bus.emit(Started("a"))
        del bus
        assert buses() == before
    finally:
        gc.enable()


def test_unsubscribing_a_filtered_handler_stops_it_and_is_idempotent():
    bus: EventBus[object] = EventBus()
    got: list[object] = []
    unsubscribe = bus.subscribe(got.append, only=Started)
    bus.emit(Started("a"))

    unsubscribe()
    unsubscribe()
    bus.emit(Started("b"))

    assert got == [Started("a")]


def test_only_that_is_not_a_class_is_refused_with_what_to_pass():
    bus: EventBus[object] = EventBus()

    with pytest.raises(TypeError, match=r"only= takes an event class.*only=RunFinished"):
        bus.subscribe(print, only="Finished")


def test_handlers_with_and_without_only_run_in_subscription_order():
    bus: EventBus[object] = EventBus()
    got: list[tuple[str, object]] = []
    bus.subscribe(lambda event: got.append(("all", event)))
    bus.subscribe(lambda event: got.append(("finished", event)), only=Finished)
    bus.subscribe(lambda event: got.append(("all again", event)))

    bus.emit(Finished("a"))
    bus.emit(Started("b"))

    assert got == [
        ("all", Finished("a")),
        ("finished", Finished("a")),
        ("all again", Finished("a")),
        ("all", Started("b")),
        ("all again", Started("b")),
    ]


def test_the_same_handler_subscribed_twice_is_unsubscribed_one_subscription_at_a_time():
    bus: EventBus[object] = EventBus()
    got: list[object] = []
    for_finished = bus.subscribe(got.append, only=Finished)
    bus.subscribe(got.append, only=Started)

    for_finished()
    bus.emit(Finished("a"))
    bus.emit(Started("b"))

    assert got == [Started("b")]
    assert not bus.wants(Finished)


def test_a_subscription_made_during_an_emit_takes_the_next_event():
    bus: EventBus[object] = EventBus()
    got: list[object] = []

    def subscribe_more(event: object) -> None:
        bus.subscribe(got.append, only=Finished)

    bus.subscribe(subscribe_more, only=Finished)
    bus.emit(Finished("a"))
    bus.emit(Finished("b"))

    assert got == [Finished("b")]


def test_a_failing_filtered_handler_is_logged_under_its_own_name(caplog):
    bus: EventBus[object] = EventBus()

    def broken(event: object) -> None:
        raise ValueError("no")

    bus.subscribe(broken, only=Finished)
    bus.emit(Finished("a"))

    (record,) = caplog.records
    assert "broken" in record.getMessage()  # the handler's own name, not a wrapper's
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "no"

"""The event bus: handlers in order, filtered by class, and whether an event has a taker."""

from __future__ import annotations

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

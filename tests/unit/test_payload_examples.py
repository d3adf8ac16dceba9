"""The examples the API documentation offers for ``POST /messages``: each type's declared
example, or one made from its Struct that the type's decoder accepts; and the order of a
rocket's life they are shown in."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
import pytest

from rockets import Event, EventType, RocketState
from rockets.app import load_plugins
from rockets.core.payload_examples import example_life, example_payload, made_example
from rockets.core.registry import build_registry
from rockets.errors import PluginError

from ..conftest import core_settings


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Part(msgspec.Struct, rename="camel"):
    serial_number: Annotated[str, msgspec.Meta(min_length=12, max_length=12)]
    weight: Annotated[float, msgspec.Meta(gt=0, lt=0.5)]


class Docked(msgspec.Struct, rename="camel"):
    """A payload with a constraint of every kind a made example has to meet."""

    port: Annotated[int, msgspec.Meta(ge=100, le=200, multiple_of=7)]
    crew: Annotated[int, msgspec.Meta(gt=-5, lt=0)]
    ratio: Annotated[float, msgspec.Meta(ge=2.5)]
    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]+$", max_length=3)]
    tag: Annotated[str, msgspec.Meta(pattern=r"^\d$")]
    hatch: Literal["open", "shut"]
    colour: Colour
    at: dt.datetime
    naive: Annotated[dt.datetime, msgspec.Meta(tz=False)]
    station: uuid.UUID
    parts: Annotated[list[Part], msgspec.Meta(min_length=2)]
    spares: set[int]
    notes: dict[str, int]
    chosen: Annotated[int, msgspec.Meta(ge=10, examples=[42])]
    pilot: str | None
    flag: bool = False


class Coded(msgspec.Struct):
    code: Annotated[str, msgspec.Meta(pattern=r"^[a-f]{6}-\d{4}$")]


def unchanged(state: RocketState, event: Event[Any]) -> RocketState:
    return state


def registry_of(*types: EventType[Any], plugin: str = "p") -> Any:
    return build_registry([(plugin, list(types))])


def test_a_made_example_meets_every_constraint_of_its_struct() -> None:
    made = made_example(Docked)
    assert made is not None
    decoded = msgspec.convert(made, Docked)  # what POST /messages would accept
    assert decoded.chosen == 42  # a field's own example in its schema is taken as it is
    assert len(decoded.parts) == 2
    assert made["hatch"] == "open"


def test_no_made_example_for_a_pattern_no_plain_word_fits() -> None:
    assert made_example(Coded) is None
    # The type still has an example when its plugin declares one, checked at start.
    declared = Coded(code="abcdef-1234")
    registry = registry_of(EventType(schema=Coded, apply=unchanged, example=declared))
    assert example_payload(registry["Coded"]) == {"code": "abcdef-1234"}


def test_a_declared_example_that_its_schema_refuses_stops_the_start() -> None:
    with pytest.raises(PluginError, match=r"plugin 'p': the example of 'Coded' does not pass"):
        registry_of(EventType(schema=Coded, apply=unchanged, example=Coded(code="nope")))
    wrong: Any = Part(serial_number="0" * 12, weight=0.1)
    with pytest.raises(PluginError, match=r"the example of 'Coded' must be a Coded, got Part"):
        registry_of(EventType(schema=Coded, apply=unchanged, example=wrong))


def test_the_standard_types_tell_a_rockets_life() -> None:
    registry = load_plugins(core_settings()).registry()
    life = example_life(registry, "r")
    names = [message.message_type for message in life]
    assert sorted(names) == registry.names  # every type once
    assert names[0] == "RocketLaunched"  # what tells the most of a new rocket
    assert names[-1] == "RocketExploded"  # after which nothing changes
    assert life[0].payload == {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"}


def test_a_type_without_an_example_is_shown_with_a_made_one() -> None:
    def dock(state: RocketState, event: Event[Docked]) -> RocketState:
        return msgspec.structs.replace(state, status="docked", speed=event.message.port)

    types: Sequence[EventType[Any]] = [
        EventType(schema=Coded, apply=unchanged),  # no example can be made: left out
        EventType(schema=Docked, apply=dock),
    ]
    life = example_life(registry_of(*types), "r")
    assert [message.message_type for message in life] == ["Docked"]
    msgspec.convert(life[0].payload, Docked)

"""The plugin: message types RocketRefueled and RocketFuelBurned, and the state field ``fuel``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Count, Event, EventType, RocketState, fields, hookimpl


class FuelState(RocketState, frozen=True, kw_only=True):
    """The state field this plugin owns. SDK users decode rocket states into this class to read
    ``fuel`` with its type: ``RocketsClient(url, state_type=FuelState)``."""

    fuel: int = 0


class RocketRefueled(msgspec.Struct, frozen=True):
    """The payload of RocketRefueled."""

    amount: Count


class RocketFuelBurned(msgspec.Struct, frozen=True):
    """The payload of RocketFuelBurned."""

    amount: Count


def refuel(state: RocketState, event: Event[RocketRefueled]) -> RocketState:
    if state.status == "exploded":
        return state
    # The app's state holds every plugin's fields; fields() reads ours, typed (an int).
    fuel = fields(state, FuelState).fuel
    return msgspec.structs.replace(state, fuel=fuel + event.message.amount)


def burn(state: RocketState, event: Event[RocketFuelBurned]) -> RocketState:
    if state.status == "exploded":
        return state
    fuel = fields(state, FuelState).fuel
    return msgspec.structs.replace(state, fuel=max(0, fuel - event.message.amount))


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [
        EventType(
            schema=RocketRefueled,
            apply=refuel,
            description="Adds `amount` to the rocket's fuel.",
        ),
        EventType(
            schema=RocketFuelBurned,
            apply=burn,
            description="Takes `amount` from the rocket's fuel, which stops at 0.",
        ),
    ]


@hookimpl
def extend_rocket_state() -> type[RocketState]:
    return FuelState

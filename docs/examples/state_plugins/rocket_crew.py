"""A drop-in plugin with a state field: the crew aboard (docs/sdk.md reads it, with the fuel
plugin's field, through one client)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Count, Event, EventType, RocketState, fields, hookimpl


class CrewState(RocketState, frozen=True, kw_only=True):
    """The state field this plugin owns."""

    crew: int = 0


class RocketCrewBoarded(msgspec.Struct, frozen=True):
    """The payload: how many people boarded."""

    count: Count


def board(state: RocketState, event: Event[RocketCrewBoarded]) -> RocketState:
    if state.status == "exploded":
        return state
    crew = fields(state, CrewState).crew
    return msgspec.structs.replace(state, crew=crew + event.message.count)


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [EventType(schema=RocketCrewBoarded, apply=board, description="Adds to the crew.")]


@hookimpl
def extend_rocket_state() -> type[RocketState]:
    return CrewState

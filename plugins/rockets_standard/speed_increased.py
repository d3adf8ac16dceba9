"""RocketSpeedIncreased: the speed goes up by ``by``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from rockets_client.standard import RocketSpeedIncreased

from rockets import Event, EventType, RocketState, hookimpl
from rockets_standard.status import EXPLODED


def apply(state: RocketState, event: Event[RocketSpeedIncreased]) -> RocketState:
    if state.status == EXPLODED:
        return state
    return msgspec.structs.replace(state, speed=state.speed + event.message.by)


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [
        EventType(
            schema=RocketSpeedIncreased,
            apply=apply,
            description="Adds `by` to the speed.",
            example=RocketSpeedIncreased(by=300),
        )
    ]

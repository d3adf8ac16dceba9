"""RocketSpeedDecreased: the speed goes down by ``by``, never below zero."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from rockets_client.standard import RocketSpeedDecreased

from rockets import Event, EventType, RocketState, hookimpl
from rockets_standard.status import EXPLODED


def apply(state: RocketState, event: Event[RocketSpeedDecreased]) -> RocketState:
    if state.status == EXPLODED:
        return state
    return msgspec.structs.replace(state, speed=max(0, state.speed - event.message.by))


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [
        EventType(
            schema=RocketSpeedDecreased,
            apply=apply,
            description="Subtracts `by` from the speed, which stops at 0.",
            example=RocketSpeedDecreased(by=200),
        )
    ]

"""RocketLaunched: a rocket takes off with a type, a speed and a mission."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from rockets_client.standard import RocketLaunched

from rockets import Event, EventType, RocketState, hookimpl
from rockets_standard.status import EXPLODED, FLYING


def apply(state: RocketState, event: Event[RocketLaunched]) -> RocketState:
    if state.status == EXPLODED:
        return state
    launch = event.message
    return msgspec.structs.replace(
        state,
        type=launch.type,
        mission=launch.mission,
        speed=launch.launch_speed,
        status=FLYING,
        launched_at=event.message_time,
    )


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [
        EventType(
            schema=RocketLaunched,
            apply=apply,
            description="Sets type, mission and speed; the rocket is flying.",
            example=RocketLaunched(type="Falcon-9", launch_speed=500, mission="ARTEMIS"),
        )
    ]

"""RocketLaunched: a rocket takes off with a type, a speed and a mission."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

import msgspec

from rockets import Event, EventType, RocketState, hookimpl
from rockets_standard.status import EXPLODED, FLYING, Text

Speed = Annotated[int, msgspec.Meta(ge=0, le=2**53 - 1)]


class RocketLaunched(msgspec.Struct, frozen=True, rename="camel"):
    """The ``message`` payload of a RocketLaunched message."""

    message_type: ClassVar[str] = "RocketLaunched"

    type: Text
    launch_speed: Speed
    mission: Text


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
            name=RocketLaunched.message_type,
            schema=RocketLaunched,
            apply=apply,
            description="Sets type, mission and speed; the rocket is flying.",
        )
    ]

"""RocketSpeedIncreased: the speed goes up by ``by``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

import msgspec

from rockets import Event, EventType, RocketState, hookimpl
from rockets_standard.status import EXPLODED


class RocketSpeedIncreased(msgspec.Struct, frozen=True):
    """The ``message`` payload of a RocketSpeedIncreased message."""

    message_type: ClassVar[str] = "RocketSpeedIncreased"

    by: Annotated[int, msgspec.Meta(ge=0, le=2**53 - 1)]


def apply(state: RocketState, event: Event[RocketSpeedIncreased]) -> RocketState:
    if state.status == EXPLODED:
        return state
    return msgspec.structs.replace(state, speed=state.speed + event.message.by)


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [
        EventType(
            name=RocketSpeedIncreased.message_type,
            schema=RocketSpeedIncreased,
            apply=apply,
            description="Adds `by` to the speed.",
        )
    ]

"""RocketExploded: the rocket is lost; later events are kept but change nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from rockets_client.standard import RocketExploded

from rockets import Event, EventType, RocketState, hookimpl
from rockets_standard.status import EXPLODED


def apply(state: RocketState, event: Event[RocketExploded]) -> RocketState:
    if state.status == EXPLODED:
        return state
    return msgspec.structs.replace(state, status=EXPLODED, reason=event.message.reason)


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [
        EventType(
            schema=RocketExploded,
            apply=apply,
            description="The rocket is exploded, with `reason`; no later event changes it.",
            example=RocketExploded(reason="PRESSURE_VESSEL_FAILURE"),
        )
    ]

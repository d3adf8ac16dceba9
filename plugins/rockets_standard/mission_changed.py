"""RocketMissionChanged: the rocket takes on a new mission (any string, kept as sent)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, EventType, RocketState, hookimpl
from rockets_standard.status import EXPLODED, Text


class RocketMissionChanged(msgspec.Struct, frozen=True, rename="camel"):
    """The ``message`` payload of a RocketMissionChanged message."""

    new_mission: Text


def apply(state: RocketState, event: Event[RocketMissionChanged]) -> RocketState:
    if state.status == EXPLODED:
        return state
    return msgspec.structs.replace(state, mission=event.message.new_mission)


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [
        EventType(
            schema=RocketMissionChanged,
            apply=apply,
            description="Replaces the mission with `newMission`.",
        )
    ]

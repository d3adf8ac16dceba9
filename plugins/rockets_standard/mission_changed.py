"""RocketMissionChanged: the rocket takes on a new mission (any string, kept as sent)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from rockets_client.standard import RocketMissionChanged

from rockets import Event, EventType, RocketState, hookimpl
from rockets_standard.status import EXPLODED


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
            example=RocketMissionChanged(new_mission="SHUTTLE_MIR"),
        )
    ]

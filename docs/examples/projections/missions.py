"""A projection as a drop-in plugin: how many events each mission has seen, and the last one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, ProjectionType, RocketState, hookimpl


class MissionLog(msgspec.Struct, frozen=True, rename="camel"):
    """The value: events seen per mission, and the channel of the last one."""

    events: dict[str, int] = msgspec.field(default_factory=dict)
    last_channel: str | None = None


def apply(value: MissionLog, event: Event[Any], state: RocketState) -> MissionLog:
    if state.mission is None:
        return value
    events = {**value.events, state.mission: value.events.get(state.mission, 0) + 1}
    return MissionLog(events=events, last_channel=state.channel)


@hookimpl
def register_projections() -> Sequence[ProjectionType[Any]]:
    return [
        ProjectionType(
            name="missions",
            initial=MissionLog(),
            apply=apply,
            description="Events seen per mission, and the channel of the last one.",
        )
    ]

"""A deliberately wrong RocketSpeedIncreased, for showing that `rockets launch --verify` fails.

Loaded with ROCKETS_BLOCKED_PLUGINS=rocket_speed_increased, in place of the standard plugin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from rockets_standard.speed_increased import RocketSpeedIncreased

from rockets import Event, EventType, RocketState, hookimpl


def apply(state: RocketState, event: Event[RocketSpeedIncreased]) -> RocketState:
    return msgspec.structs.replace(state, speed=state.speed + event.message.by + 1)


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [EventType(name="RocketSpeedIncreased", schema=RocketSpeedIncreased, apply=apply)]

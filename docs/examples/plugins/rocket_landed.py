"""A drop-in plugin: put this file in the directory named by ROCKETS_PLUGINS_DIR."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, EventType, RocketState, hookimpl


class RocketLanded(msgspec.Struct, frozen=True):
    """The payload: where the rocket came down."""

    site: str


def apply(state: RocketState, event: Event[RocketLanded]) -> RocketState:
    if state.status != "flying":
        return state  # only a flying rocket can land; returning `state` means "no change"
    return msgspec.structs.replace(state, status="landed", speed=0)


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [
        EventType(
            schema=RocketLanded,
            apply=apply,
            description="A flying rocket touches down: speed 0, status landed.",
        )
    ]

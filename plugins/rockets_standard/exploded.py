"""RocketExploded: the rocket is lost; later events are kept but change nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, EventType, RocketState, hookimpl
from rockets_standard.status import EXPLODED, Text


class RocketExploded(msgspec.Struct, frozen=True):
    """The ``message`` payload of a RocketExploded message."""

    reason: Text


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
        )
    ]

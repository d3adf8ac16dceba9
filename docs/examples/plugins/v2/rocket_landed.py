"""Version 2 of the drop-in RocketLanded: ``site`` became ``landingSite``, and a landing pad.

Events stored by version 1 keep their bytes; the upcaster brings them up to date whenever they
are read (the states rebuilt at start, ``?at=N``, ``/events``, the projections).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, EventType, RocketState, hookimpl


class RocketLanded(msgspec.Struct, frozen=True, rename="camel"):
    """The payload, version 2: where the rocket came down, and on which pad."""

    landing_site: str
    pad: str | None = None


def from_version_1(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"site": …}`` (version 1) → ``{"landingSite": …}`` (version 2)."""
    return {"landingSite": payload["site"]}


def apply(state: RocketState, event: Event[RocketLanded]) -> RocketState:
    if state.status != "flying":
        return state
    return msgspec.structs.replace(state, status="landed", speed=0)


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [
        EventType(
            schema=RocketLanded,
            apply=apply,
            version=2,
            upcasters={1: from_version_1},
            description="A flying rocket touches down: speed 0, status landed.",
        )
    ]

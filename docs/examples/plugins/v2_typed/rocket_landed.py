"""Version 2 of the drop-in RocketLanded, its upcaster typed: ``site`` became ``landingSite``.

The upcaster is declared from the Struct version 1 wrote: a stored payload is decoded into
``RocketLandedV1`` first, strictly, so an upcaster declared from the wrong Struct fails on the
first event it reads, naming the plugin and the version, instead of giving other states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, EventType, RocketState, hookimpl


class RocketLandedV1(msgspec.Struct, frozen=True):
    """The payload as version 1 wrote it, kept to read the events stored then."""

    site: str


class RocketLanded(msgspec.Struct, frozen=True, rename="camel"):
    """The payload, version 2: where the rocket came down, and on which pad."""

    landing_site: str
    pad: str | None = None


def from_version_1(old: RocketLandedV1) -> RocketLanded:
    return RocketLanded(landing_site=old.site)


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
            upcasters={1: (RocketLandedV1, from_version_1)},
            description="A flying rocket touches down: speed 0, status landed.",
        )
    ]

"""A projection with a handler per message type: launches and explosions per rocket type.

Each handler receives the event typed with its own payload (``Event[RocketLaunched]``), so a
type checker knows ``event.message.type``; an event of another type leaves the value as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from rockets_standard.messages import RocketExploded, RocketLaunched

from rockets import Event, ProjectionType, RocketState, hookimpl


class Launches(msgspec.Struct, frozen=True):
    """The value: rockets launched and rockets exploded, per rocket type."""

    launched: dict[str, int] = msgspec.field(default_factory=dict)
    exploded: dict[str, int] = msgspec.field(default_factory=dict)


def on_launched(value: Launches, event: Event[RocketLaunched], state: RocketState) -> Launches:
    kind = event.message.type
    launched = {**value.launched, kind: value.launched.get(kind, 0) + 1}
    return msgspec.structs.replace(value, launched=launched)


def on_exploded(value: Launches, event: Event[RocketExploded], state: RocketState) -> Launches:
    kind = state.type or "unknown"  # the rocket's type, from its launch
    exploded = {**value.exploded, kind: value.exploded.get(kind, 0) + 1}
    return msgspec.structs.replace(value, exploded=exploded)


@hookimpl
def register_projections() -> Sequence[ProjectionType[Any]]:
    return [
        ProjectionType(
            name="launches",
            initial=Launches(),
            handlers={RocketLaunched: on_launched, RocketExploded: on_exploded},
            description="Rockets launched and rockets exploded, per rocket type.",
        )
    ]

"""A message type with a validator: both on the ingest path, both timed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, EventType, RocketState, hookimpl


class RocketPinged(msgspec.Struct, frozen=True):
    level: int


def apply(state: RocketState, event: Event[RocketPinged]) -> RocketState:
    return state


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [EventType(schema=RocketPinged, apply=apply)]


@hookimpl
def validate_message(event: Event[Any]) -> str | None:
    return None

"""A message of free text without a length bound, as the docs' example's ``site`` is: ``Note``
changes nothing in the state (a drop-in file of ``ROCKETS_PLUGINS_DIR``, for
benchmarks/memory.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, EventType, RocketState, hookimpl


class Note(msgspec.Struct, frozen=True):
    text: str


def apply(state: RocketState, event: Event[Note]) -> RocketState:
    return state


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [EventType(schema=Note, apply=apply, description="Free text; changes nothing.")]

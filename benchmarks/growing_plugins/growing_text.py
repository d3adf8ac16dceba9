"""A plugin whose state grows with every event: ``NoteAppended`` adds its text to the state field
``notes``, without a bound (a drop-in file of ``ROCKETS_PLUGINS_DIR``, for
benchmarks/growing_state.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, EventType, RocketState, fields, hookimpl


class NotesState(RocketState, frozen=True, kw_only=True):
    notes: str = ""


class NoteAppended(msgspec.Struct, frozen=True):
    text: str


def append(state: RocketState, event: Event[NoteAppended]) -> RocketState:
    notes = fields(state, NotesState).notes
    return msgspec.structs.replace(state, notes=notes + event.message.text)


@hookimpl
def register_event_types() -> Sequence[EventType[Any]]:
    return [EventType(schema=NoteAppended, apply=append, description="Appends to `notes`.")]


@hookimpl
def extend_rocket_state() -> type[RocketState]:
    return NotesState

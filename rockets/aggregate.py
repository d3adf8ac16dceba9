"""The rocket aggregate: a state is the fold of its channel's events through the plugins' apply.

The live projection and every replay call the same :func:`apply_record`, so the state served
after live ingestion and the state rebuilt from the log cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from rockets.errors import SequenceError
from rockets.records import Record
from rockets.registry import Registry
from rockets.state import Event, RocketState

__all__ = [
    "apply_record",
    "apply_records",
    "event_of",
    "fold",
    "initial_state",
    "same_message",
    "upcast",
]


def initial_state(registry: Registry, channel: str) -> RocketState:
    """The state of a channel before its first event (of the app's state type)."""
    return registry.state.initial(channel)


def event_of(registry: Registry, record: Record) -> Event[Any]:
    """The :class:`Event` a plugin sees for a record: its payload decoded (by the codec
    already, for a record that came in a request; here, for one read back from a store)."""
    message = record.message
    if message is None:
        message = registry[record.message_type].payload_of(record.payload, record.version)
    return Event(
        channel=record.channel,
        message_number=record.message_number,
        message_type=record.message_type,
        message_time=record.message_time,
        received_at=record.received_at,
        message=message,
    )


def upcast(registry: Registry, record: Record) -> Record:
    """``record`` with its payload in the current version of its type's schema (itself when it
    is already): what ``/events`` shows, and what a new delivery is compared with."""
    registered = registry[record.message_type]
    if record.version == registered.version:
        return record
    message = registered.payload_of(record.payload, record.version)
    return msgspec.structs.replace(
        record,
        payload=msgspec.json.encode(message),
        message=message,
        version=registered.version,
    )


def same_message(registry: Registry, kept: Record, received: Record) -> bool:
    """Whether ``received`` is a duplicate of ``kept`` (same type and payload), whichever
    version of the payload's schema ``kept`` was written in."""
    if kept.same_message(received):
        return True
    return kept.version != received.version and upcast(registry, kept).same_message(received)


def apply_record(registry: Registry, state: RocketState, record: Record) -> RocketState:
    """Apply one stored event to ``state`` through its message type's plugin.

    The core, not the plugin, enforces that events come in order: ``record`` must be the
    event right after ``state.lastMessageNumber``.
    """
    if record.message_number != state.last_message_number + 1 or record.channel != state.channel:
        raise SequenceError(
            f"event {record.channel}#{record.message_number} cannot follow "
            f"{state.channel}#{state.last_message_number}"
        )
    registered = registry[record.message_type]
    new = registered.event_type.apply(state, event_of(registry, record))
    if new is state:
        return msgspec.structs.replace(state, last_message_number=record.message_number)
    if type(new) is not type(state):
        raise TypeError(
            f"apply of {record.message_type!r} (plugin {registered.plugin!r}) returned a "
            f"{type(new).__name__}, not the state it was given changed with "
            "msgspec.structs.replace"
        )
    return msgspec.structs.replace(
        new,
        channel=state.channel,
        last_message_number=record.message_number,
        updated_at=record.message_time,
        pending=state.pending,
        waiting_since=state.waiting_since,
    )


def apply_records(registry: Registry, state: RocketState, records: Iterable[Record]) -> RocketState:
    """Apply ``records`` (the events right after ``state``, in order) one after the other."""
    for record in records:
        state = apply_record(registry, state, record)
    return state


def fold(registry: Registry, channel: str, records: Iterable[Record]) -> RocketState:
    """Replay ``records`` (the channel's events from number 1, in order) into a state."""
    return apply_records(registry, initial_state(registry, channel), records)

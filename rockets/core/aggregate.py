"""The rocket aggregate: a state is the fold of its channel's events through the plugins' apply.

The live projection and every replay call the same :func:`apply_record`, so the state served
after live ingestion and the state rebuilt from the log cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from rockets.core.registry import RegisteredType, Registry
from rockets.errors import SequenceError, UnreadableEventError
from rockets.records import Record
from rockets.state import Event, RocketState, SetAside

__all__ = [
    "apply_record",
    "apply_records",
    "event_of",
    "fold",
    "initial_state",
    "same_message",
    "set_aside_of",
    "shown",
    "upcast",
]


def initial_state(registry: Registry, channel: str) -> RocketState:
    """The state of a channel before its first event (of the app's state type)."""
    return registry.state.initial(channel)


def _registered(registry: Registry, record: Record) -> RegisteredType:
    registered = registry.lookup(record.message_type)
    if registered is None:
        raise UnreadableEventError(
            f"event {record.channel}#{record.message_number} is a {record.message_type}, which "
            "no loaded plugin registers: every process serving this store (and rockets rebuild) "
            "needs the plugins that wrote its events"
        )
    return registered


def _payload(registered: RegisteredType, record: Record) -> Any:
    """The payload of a stored record in the current version of its schema."""
    try:
        return registered.payload_of(record.payload, record.version)
    except Exception as exc:
        raise UnreadableEventError(
            f"event {record.channel}#{record.message_number} ({record.message_type}, payload "
            f"version {record.version}) cannot be read by plugin {registered.plugin!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def event_of(registry: Registry, record: Record) -> Event[Any]:
    """The :class:`Event` a plugin sees for a record: its payload decoded (by the codec
    already, for a record that came in a request; here, for one read back from a store).

    Raises:
        UnreadableEventError: a stored record this app's plugins cannot read.
    """
    message = record.message
    if message is None:
        message = _payload(_registered(registry, record), record)
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
    is already): what ``/events`` shows, and what a new delivery is compared with.

    Raises:
        UnreadableEventError: a stored record this app's plugins cannot read.
    """
    registered = _registered(registry, record)
    if record.version == registered.version:
        return record
    message = _payload(registered, record)
    return msgspec.structs.replace(
        record,
        payload=msgspec.json.encode(message),
        message=message,
        version=registered.version,
    )


def shown(registry: Registry, record: Record) -> tuple[Record, UnreadableEventError | None]:
    """``record`` as the API shows it: brought up to date when this app's plugins can read it,
    as stored otherwise (with the reason), so that one event a process cannot read (a type it
    does not load, a newer version of a payload during an upgrade) never hides the others."""
    try:
        return upcast(registry, record), None
    except UnreadableEventError as exc:
        return record, exc


def same_message(registry: Registry, kept: Record, received: Record) -> bool:
    """Whether ``received`` is a duplicate of ``kept`` (same type and payload), whichever
    version of the payload's schema ``kept`` was written in."""
    if kept.same_message(received):
        return True
    if kept.version == received.version:
        return False
    current, unreadable = shown(registry, kept)
    # What cannot be read cannot be shown equal: the first one stays, as for any conflict.
    return unreadable is None and current.same_message(received)


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
    registered = _registered(registry, record)
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
        set_aside=state.set_aside,
    )


def set_aside_of(registry: Registry, record: Record, exc: BaseException) -> SetAside:
    """What a channel shows of ``record``, kept but not applied because its apply raised
    ``exc``: its number and type, the plugin that registers the type (None: no loaded plugin
    does) and the error."""
    registered = registry.lookup(record.message_type)
    return SetAside(
        message_number=record.message_number,
        message_type=record.message_type,
        plugin=None if registered is None else registered.plugin,
        error=f"{type(exc).__name__}: {exc}",
    )


def apply_records(registry: Registry, state: RocketState, records: Iterable[Record]) -> RocketState:
    """Apply ``records`` (the events right after ``state``, in order) one after the other."""
    for record in records:
        state = apply_record(registry, state, record)
    return state


def fold(registry: Registry, channel: str, records: Iterable[Record]) -> RocketState:
    """Replay ``records`` (the channel's events from number 1, in order) into a state."""
    return apply_records(registry, initial_state(registry, channel), records)

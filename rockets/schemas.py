"""The JSON shapes of the HTTP API that are not the rocket state or an error.

The SDK decodes responses with these very Structs, so the server and its clients share one
definition of each shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

import msgspec

from rockets.records import Record
from rockets.state import RocketState

__all__ = [
    "MAX_CHANNEL_LENGTH",
    "MAX_MESSAGE_NUMBER",
    "Ack",
    "AckStatus",
    "Envelope",
    "EventView",
    "Health",
    "Metadata",
    "StalledChannel",
    "StatePoint",
    "StreamReset",
    "StreamedEvent",
]

MAX_CHANNEL_LENGTH = 128
MAX_MESSAGE_NUMBER = 2**53 - 1
"""The largest messageNumber: the largest integer every JSON client represents exactly."""

# A channel becomes a URL path segment (/rockets/{channel}), so it may not hold a slash or a
# control character.
Channel = Annotated[
    str, msgspec.Meta(max_length=MAX_CHANNEL_LENGTH, pattern=r"^[^/\x00-\x1f\x7f]*$")
]
MessageNumber = Annotated[int, msgspec.Meta(le=MAX_MESSAGE_NUMBER)]

S = TypeVar("S", bound=RocketState)

AckStatus = Literal["accepted", "duplicate", "conflict", "rejected"]


class Metadata(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    """The ``metadata`` object of a message as a sender writes it.

    An empty or missing ``channel`` gets a generated UUID; a missing or non-positive
    ``messageNumber`` gets the number after the highest seen on the channel; a missing or
    unparsable ``messageTime`` becomes the time of receipt.
    """

    message_type: str
    channel: Channel | None = None
    message_number: MessageNumber | None = None
    message_time: str | None = None


class Envelope(msgspec.Struct, frozen=True):
    """One message on the wire: metadata plus the payload, decoded later by its type's schema."""

    metadata: Metadata
    message: msgspec.Raw


class Ack(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    """The answer for one posted message.

    ``accepted``: stored (applied, or waiting behind a gap); ``duplicate``: already received,
    nothing changed; ``conflict``: the number was taken by a different message (batch only; a
    single message gets a 409 error); ``rejected``: refused, ``detail`` says why (batch only).
    """

    channel: str
    message_number: int
    status: AckStatus
    detail: str | None = None


class EventView(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One applied event as ``GET /rockets/{channel}/events`` lists it."""

    message_number: int
    message_type: str
    message_time: datetime
    received_at: datetime
    message: msgspec.Raw

    @classmethod
    def of(cls, record: Record) -> EventView:
        return cls(
            message_number=record.message_number,
            message_type=record.message_type,
            message_time=record.message_time,
            received_at=record.received_at,
            message=msgspec.Raw(record.payload),
        )


class StatePoint(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A rocket's state right after one of its events (``GET /rockets/{channel}/history``)."""

    message_number: int
    message_time: datetime
    state: RocketState


class StreamReset(msgspec.Struct, frozen=True):
    """The ``data`` of a ``reset`` event of ``GET /stream``: some events were missed."""

    detail: str


class StreamedEvent(msgspec.Struct, Generic[S], frozen=True, kw_only=True):
    """The ``data`` of an ``applied`` event of ``GET /stream``: the event and the rocket's state
    right after it."""

    channel: str
    event: EventView
    state: S


class StalledChannel(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A channel whose gap has stayed open: messages wait for ``awaitedNumber``."""

    channel: str
    awaited_number: int
    pending: int
    waiting_since: datetime
    waiting_seconds: float


class Health(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    """The answer of ``GET /health``."""

    status: Literal["ok", "unavailable"]
    store: str
    rockets: int | None
    workers: int
    queued: int
    message_types: list[str]
    detail: str | None = None

"""Every JSON shape that crosses the HTTP boundary, in both directions.

The server encodes its answers with these Structs and the SDK decodes them with the very same
ones (the server's ``rockets.wire`` re-exports this module), so client and server share one
definition of each shape. msgspec, ``typing_extensions`` and the standard library only.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Protocol

import msgspec
from typing_extensions import TypeVar

from rockets_client.state import RocketState, SetAside

__all__ = [
    "CHANNEL_PATTERN",
    "MAX_CHANNEL_LENGTH",
    "MAX_COUNT",
    "MAX_MESSAGE_NUMBER",
    "PRINTABLE_PATTERN",
    "UNPRINTABLE",
    "Ack",
    "AckStatus",
    "Channel",
    "ConflictDetail",
    "Count",
    "Envelope",
    "ErrorBody",
    "ErrorKind",
    "EventView",
    "Health",
    "MessageNumber",
    "MessageSummary",
    "MessageTypeInfo",
    "Metadata",
    "PluginDescription",
    "PluginSource",
    "PluginsReport",
    "Printable",
    "ProjectionInfo",
    "Recorded",
    "RocketQuery",
    "StalledChannel",
    "StateFieldInfo",
    "StatePoint",
    "Stopped",
    "StreamReset",
    "StreamedEvent",
    "message_type_of",
]

MAX_CHANNEL_LENGTH = 128
MAX_COUNT = 2**53 - 1
"""The largest integer every JSON client (JavaScript's numbers included) represents exactly."""
MAX_MESSAGE_NUMBER = MAX_COUNT
"""The largest messageNumber."""

Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]
"""A non-negative integer that every JSON client reads back exactly: use it for payload fields
such as a speed or an amount."""

# What "printable" excludes: C0 controls, DEL and C1 controls; the line and paragraph
# separators, which end a line in JavaScript and in log viewers; and the bidi embedding,
# override and isolate controls, which make text display in another order than it is stored.
_UNPRINTABLE = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
UNPRINTABLE = re.compile(f"[{_UNPRINTABLE}]")
"""One character that printable text may not hold."""
# A pattern is searched, and Python's "$" also matches before a final newline: "(?![\s\S])" is
# the end of the text in Python and in the JSON Schema's (ECMAScript's) dialect alike.
PRINTABLE_PATTERN = rf"^[^{_UNPRINTABLE}]*(?![\s\S])"
"""Printable text: what a channel, a path segment and a filter value of the API may hold."""
CHANNEL_PATTERN = rf"^[^/{_UNPRINTABLE}]*(?![\s\S])"
"""A channel: printable text without a slash, since it is a path segment of the API."""

Printable = Annotated[str, msgspec.Meta(pattern=PRINTABLE_PATTERN)]
Channel = Annotated[str, msgspec.Meta(max_length=MAX_CHANNEL_LENGTH, pattern=CHANNEL_PATTERN)]

MessageNumber = Annotated[int, msgspec.Meta(le=MAX_MESSAGE_NUMBER)]

S = TypeVar("S", bound=RocketState, default=RocketState)
"""The state type of an answer: ``RocketState``, or the app's (and a client's) subclass."""

AckStatus = Literal["accepted", "duplicate", "conflict", "rejected", "setAside"]

ErrorKind = Literal[
    "bad_request",
    "malformed_json",
    "invalid_message",
    "unknown_message_type",
    "numbers_exhausted",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "request_timeout",
    "conflict",
    "too_large",
    "unsupported_media_type",
    "rejected",
    "too_many_requests",
    "pending_full",
    "internal",
    "unavailable",
    "error",
]
"""The machine-readable ``error`` of an :class:`ErrorBody`."""


def message_type_of(payload_type: type[Any]) -> str:
    """The messageType a payload Struct declares: its ``message_type`` class attribute when it
    has one (for a name that is not a Python identifier), else its class name."""
    declared = getattr(payload_type, "message_type", None)
    return declared if isinstance(declared, str) else payload_type.__name__


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

    ``accepted``: stored (applied, or waiting behind a gap); ``setAside``: stored but not
    applied, since its type's ``apply`` failed: the channel waits at it until a plugin that
    applies it is loaded, ``detail`` names the plugin and the error; ``duplicate``: already
    received, nothing changed; ``conflict``: the number was taken by a different message
    (batch only; a single message gets a 409 error); ``rejected``: refused, ``detail`` says why
    (batch only).
    """

    channel: str
    message_number: int
    status: AckStatus
    detail: str | None = None


class MessageSummary(msgspec.Struct, frozen=True, rename="camel"):
    """A message's type and payload, as named in a conflict."""

    message_type: str
    message: msgspec.Raw


class ConflictDetail(msgspec.Struct, frozen=True, rename="camel"):
    """Both sides of a conflict: the message kept and the one refused."""

    existing: MessageSummary
    received: MessageSummary


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    """The JSON body of every 4xx and 5xx answer.

    ``error`` is a stable machine-readable kind, ``detail`` a sentence for people and ``path`` the
    JSON path of the offending value in the request body (``$.message.by``, ``$[3].metadata``).
    """

    status: int
    error: ErrorKind
    detail: str
    path: str | None = None
    known_types: list[str] | None = None
    channel: str | None = None
    message_number: int | None = None
    conflict: ConflictDetail | None = None
    plugin: str | None = None


class Recorded(Protocol):
    """What :meth:`EventView.of` reads of a stored message: the server's ``Record`` has it."""

    @property
    def message_number(self) -> int: ...
    @property
    def message_type(self) -> str: ...
    @property
    def message_time(self) -> datetime: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def payload(self) -> bytes: ...


class EventView(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One applied event as ``GET /rockets/{channel}/events`` lists it."""

    message_number: int
    message_type: str
    message_time: datetime
    received_at: datetime
    message: msgspec.Raw

    @classmethod
    def of(cls, record: Recorded) -> EventView:
        """The view of a stored message (the server's ``Record``)."""
        return cls(
            message_number=record.message_number,
            message_type=record.message_type,
            message_time=record.message_time,
            received_at=record.received_at,
            message=msgspec.Raw(record.payload),
        )


class StatePoint(msgspec.Struct, Generic[S], frozen=True, kw_only=True, rename="camel"):
    """A rocket's state right after one of its events (``GET /rockets/{channel}/history``)."""

    message_number: int
    message_time: datetime
    state: S


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
    """A channel whose gap has stayed open: messages wait for ``awaitedNumber``; or one that
    waits at ``awaitedNumber`` itself, kept but set aside (``setAside`` says why; absent
    otherwise)."""

    channel: str
    awaited_number: int
    pending: int
    waiting_since: datetime
    waiting_seconds: float
    set_aside: SetAside | msgspec.UnsetType = msgspec.UNSET


class Stopped(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    """Something that stopped because of a failure, and is stopped still: a projection, a
    listener, a channel waiting at a message set aside, a background task of the service.

    Attributes:
        what: what stopped, as the log names it (``projection 'fleet'``, ``listener of
            'audit'``, ``the log follower``).
        plugin: the plugin whose code failed (absent: the service's own work).
        error: the exception, as ``Type: message``.
        event: the event it failed on (``position 7``, ``r1#3``; absent: none).
        since: when it stopped.
    """

    what: str
    plugin: str | None = None
    error: str
    event: str | None = None
    since: datetime


class Health(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    """The answer of ``GET /health``.

    ``ok`` (200): everything runs. ``degraded`` (200): ingestion goes on, but something it does
    not need has stopped — a projection, a listener, the stream's follower, a channel waiting
    at a message set aside —, each listed in ``stopped``. ``unavailable`` (503): ingestion
    cannot go on; ``failing`` names the dependency that is down (the store, by its name:
    ``postgresql``, ``sqlite``, or what stopped) and ``detail`` says what it answered.
    """

    status: Literal["ok", "degraded", "unavailable"]
    store: str
    rockets: int | None
    workers: int
    queued: int
    message_types: list[str]
    detail: str | None = None
    failing: str | None = None
    stopped: list[Stopped] = msgspec.field(default_factory=list)


class ProjectionInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    """A projection, as ``GET /projections`` and ``GET /plugins`` describe it: the position of
    the last event it took, and whether it runs (``stopped``: it could not take the event at
    ``failedAt``, its value stays that of ``position``; ``error`` says why)."""

    name: str
    plugin: str
    version: int
    description: str
    position: int
    status: Literal["running", "stopped"]
    error: str | None = None
    failed_at: int | None = None


PluginSource = Literal["builtin", "entrypoint", "module", "file", "registered"]
"""Where a loaded plugin came from: ``builtin`` (shipped with rockets), ``entrypoint`` (another
installed distribution), ``module`` (named in ``ROCKETS_PLUGINS``), ``file`` (a drop-in file) or
``registered`` (registered by code)."""


class MessageTypeInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A message type: who registered it, the JSON Schema of its ``message`` payload, and the
    version of that schema (events written in an older one are upcast when read)."""

    name: str
    plugin: str
    description: str
    payload_schema: dict[str, Any]
    version: int = 1


class StateFieldInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A state field a plugin adds: its JSON name, type (as JSON Schema) and default."""

    name: str
    plugin: str
    value_schema: dict[str, Any]
    default: Any


class PluginDescription(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One loaded plugin."""

    name: str
    source: PluginSource
    version: str | None
    distribution: str | None
    module: str | None
    file: str | None
    hooks: list[str]
    message_types: list[str]
    state_fields: list[str]
    stopped: list[Stopped] = msgspec.field(default_factory=list)
    """What this plugin's code stopped and is stopped still (see ``Health.stopped``)."""


class PluginsReport(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The answer of ``GET /plugins``: the loaded plugins, their message types (with the version
    of each payload's schema), the state fields and the projections they add."""

    plugins: list[PluginDescription]
    message_types: list[MessageTypeInfo]
    state_fields: list[StateFieldInfo]
    projections: list[ProjectionInfo] = msgspec.field(default_factory=list)


class RocketQuery(msgspec.Struct, frozen=True, kw_only=True):
    """What ``GET /rockets`` asks for: exact-match filters, then sort, then page.

    ``sort`` is a state field's JSON name; ``where`` holds exact-match filters on any other
    field (plugins' fields included), by JSON name, with values of the field's type.
    """

    sort: str = "channel"
    order: Literal["asc", "desc"] = "asc"
    status: str | None = None
    type: str | None = None
    mission: str | None = None
    where: dict[str, Any] = msgspec.field(default_factory=dict)
    limit: int | None = None
    offset: int = 0

    def filters(self) -> dict[str, Any]:
        """Every exact-match filter, by JSON field name."""
        named = {"status": self.status, "type": self.type, "mission": self.mission}
        return {**{k: v for k, v in named.items() if v is not None}, **self.where}

"""rockets-client: the typed Python SDK of the rockets telemetry server, sync and async, over
httpx.

Responses decode into the very Structs the server encodes (``RocketState``, ``EventView``,
``Ack``, ``Health``, ``ErrorBody``, ``StatePoint``, ``PluginsReport``, ``ProjectionInfo``,
``StalledChannel``; a stream item's ``data`` is a ``StreamedEvent`` or a ``StreamReset``), and
messages are built from the same ``Envelope`` the server decodes: the server takes its shapes
from this package (:mod:`rockets_client.wire`, :mod:`rockets_client.state`), so client and
server share one definition of each. Every type a user of the SDK meets is importable from
here, with the errors, the standard types' payloads (:mod:`rockets_client.standard`) and what
the clients take (``RetryPolicy``, ``RocketQuery``).

A payload is any msgspec Struct whose class names its ``message_type`` (such as the standard
``RocketLaunched``), or a plain mapping with an explicit ``message_type=`` for a type the SDK
does not know. Given payload Structs (``payload_types=``), a client decodes events' messages
into them (``client.payload(event)``). Given a plugin's state class (``state_type=``), or
several joined by :func:`compose_state`, it decodes rocket states with the plugins' fields; a
drop-in plugin's file is imported by its path with :func:`import_plugin_file`, as the server
imports it. ``docs/sdk.md`` has worked examples.

Inside: :mod:`~rockets_client.core` builds every request and reads every answer, free of I/O,
with :mod:`~rockets_client.retries`, :mod:`~rockets_client.stream` and
:mod:`~rockets_client.paging`; :mod:`~rockets_client.aio` only sends them, as does
:mod:`~rockets_client.sync`, which is generated from it. It depends on httpx, httpx-sse,
msgspec and typing-extensions, and on nothing of the server.
"""

from __future__ import annotations

from rockets_client.aio import AsyncRocketsClient
from rockets_client.core import DEFAULT_URL, Page, Projected, message
from rockets_client.dropin import import_file as import_plugin_file
from rockets_client.errors import (
    ApiError,
    BadRequestError,
    ClientError,
    ConflictError,
    ConnectionFailedError,
    InvalidResponseError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    RejectedError,
    ServerError,
    StreamIdleError,
    UnavailableError,
)
from rockets_client.retries import Attempt, RetryPolicy
from rockets_client.standard import (
    PAYLOAD_TYPES,
    RocketExploded,
    RocketLaunched,
    RocketMissionChanged,
    RocketSpeedDecreased,
    RocketSpeedIncreased,
)
from rockets_client.state import RocketState, SetAside
from rockets_client.states import as_state, compose_state
from rockets_client.stream import StreamItem
from rockets_client.sync import RocketsClient
from rockets_client.wire import (
    Ack,
    AckStatus,
    ConflictDetail,
    Count,
    Envelope,
    ErrorBody,
    ErrorKind,
    EventView,
    Health,
    MessageSummary,
    MessageTypeInfo,
    Metadata,
    PluginDescription,
    PluginSource,
    PluginsReport,
    ProjectionInfo,
    RocketQuery,
    StalledChannel,
    StateFieldInfo,
    StatePoint,
    Stopped,
    StreamedEvent,
    StreamReset,
)

__all__ = [
    "DEFAULT_URL",
    "PAYLOAD_TYPES",
    "Ack",
    "AckStatus",
    "ApiError",
    "AsyncRocketsClient",
    "Attempt",
    "BadRequestError",
    "ClientError",
    "ConflictDetail",
    "ConflictError",
    "ConnectionFailedError",
    "Count",
    "Envelope",
    "ErrorBody",
    "ErrorKind",
    "EventView",
    "Health",
    "InvalidResponseError",
    "MessageSummary",
    "MessageTypeInfo",
    "Metadata",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "PluginDescription",
    "PluginSource",
    "PluginsReport",
    "Projected",
    "ProjectionInfo",
    "RateLimitedError",
    "RejectedError",
    "RetryPolicy",
    "RocketExploded",
    "RocketLaunched",
    "RocketMissionChanged",
    "RocketQuery",
    "RocketSpeedDecreased",
    "RocketSpeedIncreased",
    "RocketState",
    "RocketsClient",
    "ServerError",
    "SetAside",
    "StalledChannel",
    "StateFieldInfo",
    "StatePoint",
    "Stopped",
    "StreamIdleError",
    "StreamItem",
    "StreamReset",
    "StreamedEvent",
    "UnavailableError",
    "as_state",
    "compose_state",
    "import_plugin_file",
    "message",
]

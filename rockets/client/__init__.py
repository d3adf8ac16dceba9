"""The rockets SDK: typed sync and async clients over httpx.

Responses decode into the very Structs the server encodes (``RocketState``, ``EventView``,
``Ack``, ``Health``, ``ErrorBody``, ``StatePoint``, ``PluginsReport``, ``ProjectionInfo``,
``StalledChannel``; a stream item's ``data`` is a ``StreamedEvent`` or a ``StreamReset``), and
messages are built from the same ``Envelope`` the server decodes, so client and server share
one definition of every shape; all are importable from here, with ``RocketQuery`` (what
``GET /rockets`` asks for) and the errors.

A payload is any msgspec Struct whose class names its ``message_type`` (the standard types'
Structs are in ``rockets_standard.messages``), or a plain mapping with an explicit
``message_type=`` for a type the SDK does not know. Given payload Structs
(``payload_types=``), a client decodes events' messages into them (``client.payload(event)``).
Given a plugin's state class (``state_type=``), or several joined by :func:`compose_state`, it
decodes rocket states with the plugins' fields; a drop-in plugin's file is imported by its
path with :func:`import_plugin_file`, as the server imports it. A projection's value decodes
into the type given (``client.projection("fleet", Fleet)``), with the log position it stands
at (:class:`Projected`). ``docs/sdk.md`` has worked examples.

The package imports ``rockets.wire``, ``rockets.state`` and ``rockets.dropin`` and nothing else
of rockets: :mod:`~rockets.client.core` builds every request and reads every answer, free of
I/O, and :mod:`~rockets.client.aio` only sends them, as does :mod:`~rockets.client.sync`, which
is generated from it.
"""

from __future__ import annotations

from rockets.client.aio import AsyncRocketsClient
from rockets.client.core import DEFAULT_URL, Page, Projected, RetryPolicy, StreamItem, message
from rockets.client.errors import (
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
    UnavailableError,
)
from rockets.client.states import as_state, compose_state
from rockets.client.sync import RocketsClient
from rockets.dropin import import_file as import_plugin_file
from rockets.state import RocketState, SetAside
from rockets.wire import (
    Ack,
    Envelope,
    ErrorBody,
    EventView,
    Health,
    PluginsReport,
    ProjectionInfo,
    RocketQuery,
    StalledChannel,
    StatePoint,
    StreamedEvent,
    StreamReset,
)

__all__ = [
    "DEFAULT_URL",
    "Ack",
    "ApiError",
    "AsyncRocketsClient",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "ConnectionFailedError",
    "Envelope",
    "ErrorBody",
    "EventView",
    "Health",
    "InvalidResponseError",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "PluginsReport",
    "Projected",
    "ProjectionInfo",
    "RateLimitedError",
    "RejectedError",
    "RetryPolicy",
    "RocketQuery",
    "RocketState",
    "RocketsClient",
    "ServerError",
    "SetAside",
    "StalledChannel",
    "StatePoint",
    "StreamItem",
    "StreamReset",
    "StreamedEvent",
    "UnavailableError",
    "as_state",
    "compose_state",
    "import_plugin_file",
    "message",
]

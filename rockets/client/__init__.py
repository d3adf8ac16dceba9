"""The rockets SDK: typed sync and async clients over httpx.

Responses decode into the very Structs the server encodes (``RocketState``, ``EventView``,
``Ack``, ``Health``, ``ErrorBody``), and messages are built from the same ``Envelope`` the
server decodes, so client and server share one definition of every shape.

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

__all__ = [
    "DEFAULT_URL",
    "ApiError",
    "AsyncRocketsClient",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "ConnectionFailedError",
    "InvalidResponseError",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "Projected",
    "RateLimitedError",
    "RejectedError",
    "RetryPolicy",
    "RocketsClient",
    "ServerError",
    "StreamItem",
    "UnavailableError",
    "as_state",
    "compose_state",
    "import_plugin_file",
    "message",
]

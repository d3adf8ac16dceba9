"""Every error rockets raises on purpose, and the JSON body an HTTP client receives for it."""

from __future__ import annotations

import msgspec

__all__ = [
    "ConflictDetail",
    "ErrorBody",
    "InputError",
    "MessageSummary",
    "PluginError",
    "RocketsError",
    "SettingsError",
    "StoreError",
    "TransientStoreError",
]


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
    error: str
    detail: str
    path: str | None = None
    known_types: list[str] | None = None
    channel: str | None = None
    message_number: int | None = None
    conflict: ConflictDetail | None = None
    plugin: str | None = None


class RocketsError(Exception):
    """Base class of the errors rockets raises on purpose."""


class PluginError(RocketsError):
    """A plugin could not be loaded or registered something invalid; the app cannot start."""


class SettingsError(RocketsError):
    """A configuration value from the environment is invalid; the app cannot start."""


class StoreError(RocketsError):
    """The store could not be reached or refused a commit; nothing of the commit was kept."""


class TransientStoreError(StoreError):
    """A concurrent writer got in the way (a deadlock, a serialization failure): nothing was
    kept, and running the same group again is expected to succeed."""


class InputError(RocketsError):
    """A request the client must change before sending it again (a 4xx)."""

    def __init__(self, body: ErrorBody) -> None:
        super().__init__(body.detail)
        self.body = body

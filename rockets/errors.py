"""Every exception the server raises on purpose (the SDK's own are in ``rockets.client``).

What a client is told about each is decided in :mod:`rockets.http.answers`; the JSON body it gets is
:class:`rockets.wire.ErrorBody`.
"""

from __future__ import annotations

from rockets.wire import ErrorBody

__all__ = [
    "EventNotAppliedError",
    "InputError",
    "NotFoundError",
    "PluginError",
    "PoolClosedError",
    "PoolFullError",
    "RocketsError",
    "SequenceError",
    "SettingsError",
    "StoreError",
    "TransientStoreError",
    "UnknownChannelError",
    "UnknownProjectionError",
    "UnreadableEventError",
    "ValidatorRefusedError",
]


class RocketsError(Exception):
    """Base class of the errors rockets raises on purpose."""


class PluginError(RocketsError):
    """A plugin could not be loaded, registered something invalid, or failed in a hook that
    must not fail; the message names the plugin."""


class UnreadableEventError(PluginError):
    """A stored event this app's plugins cannot read: its type is registered by no loaded
    plugin, it was written by a newer version of its payload than the plugin knows, or an
    upcaster failed on it. The message names the event and, where there is one, the plugin."""


class SettingsError(RocketsError):
    """A configuration value from the environment is invalid; the app cannot start."""


class StoreError(RocketsError):
    """The store could not be reached or refused a commit; nothing of the commit was kept."""


class TransientStoreError(StoreError):
    """A concurrent writer got in the way (a deadlock, a serialization failure): nothing was
    kept, and running the same group again is expected to succeed."""


class PoolClosedError(RocketsError):
    """The worker pool is shutting down and takes no new work."""


class PoolFullError(RocketsError):
    """A worker's queue is at its bound: the service is over capacity."""


class SequenceError(RocketsError):
    """An event was offered out of order to the aggregate: a bug in the caller, never a client
    error."""


class InputError(RocketsError):
    """A request the client must change before sending it again (a 4xx)."""

    def __init__(self, body: ErrorBody) -> None:
        super().__init__(body.detail)
        self.body = body


class NotFoundError(RocketsError):
    """A read of something the service does not have; the message says what, in a sentence a
    client can be shown.

    Attributes:
        channel: the channel the read was about, if any.
        message_number: the event the read was about, if any.
    """

    channel: str | None = None
    message_number: int | None = None


class UnknownChannelError(NotFoundError):
    """No message was ever received on the channel."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"no rocket on channel {channel!r}")
        self.channel = channel


class EventNotAppliedError(NotFoundError):
    """The channel has not applied the event asked for (yet)."""

    def __init__(self, channel: str, number: int, last: int) -> None:
        super().__init__(f"channel {channel!r} has no event {number} yet (last applied: {last})")
        self.channel = channel
        self.message_number = number


class UnknownProjectionError(NotFoundError):
    """No loaded plugin registered a projection of that name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no projection {name!r}; known: {', '.join(known) or 'none'}")


class ValidatorRefusedError(RocketsError):
    """A plugin's validator refused a message of the request (none of it was taken).

    Attributes:
        plugin: the plugin whose validator refused.
        reason: what it said.
        channel: the refused message's channel.
        message_number: its number as sent (None when it was sent without one).
        path: where it stands in the request body (``$`` or ``$[i]``).
    """

    def __init__(
        self, plugin: str, reason: str, channel: str, message_number: int | None, path: str
    ) -> None:
        super().__init__(f"plugin {plugin!r} refused the message at {path}: {reason}")
        self.plugin = plugin
        self.reason = reason
        self.channel = channel
        self.message_number = message_number
        self.path = path

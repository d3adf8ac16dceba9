"""Every exception the server raises on purpose (the SDK's own are in ``rockets.client``).

What a client is told about each is decided in :mod:`rockets.http.answers`; the JSON body it gets is
:class:`rockets.wire.ErrorBody`.
"""

from __future__ import annotations

from rockets.wire import ErrorBody

__all__ = [
    "InputError",
    "PluginError",
    "PoolClosedError",
    "PoolFullError",
    "RocketsError",
    "SequenceError",
    "SettingsError",
    "StoreError",
    "TransientStoreError",
    "UnreadableEventError",
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

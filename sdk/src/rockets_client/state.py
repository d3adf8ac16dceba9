"""A rocket's state, as the server keeps it and every answer carries it."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ["INITIAL_STATUS", "RocketState", "SetAside"]

INITIAL_STATUS = "unknown"
"""The status of a channel before any applied event has set one."""


class SetAside(msgspec.Struct, frozen=True, kw_only=True, rename="camel", gc=False):
    """A message kept but not applied: its type's ``apply`` raised (or no loaded plugin can
    read it). Its channel waits at it, as at a gap, until plugins that apply it are loaded.

    Attributes:
        message_number: its number; the channel's events stop right before it.
        message_type: its type.
        plugin: the plugin that registers the type (None: no loaded plugin does).
        error: what it raised, as ``Type: message``.
    """

    message_number: int
    message_type: str
    plugin: str | None
    error: str


class RocketState(msgspec.Struct, frozen=True, kw_only=True, rename="camel", gc=False):
    """A rocket's current state: the fold of its applied events.

    ``lastMessageNumber`` and ``updatedAt`` are kept by the core. ``pending``,
    ``waitingSince`` and ``setAside`` are bookkeeping, not part of the fold: how many received
    messages wait in the channel (behind a gap, or behind a message set aside), since when the
    oldest of them waits, and the message the channel waits at because it could not be
    applied (absent, not null, when there is none: a state without one is written as before).
    """

    channel: str
    type: str | None = None
    mission: str | None = None
    speed: int = 0
    status: str = INITIAL_STATUS
    reason: str | None = None
    launched_at: datetime | None = None
    updated_at: datetime | None = None
    last_message_number: int = 0
    pending: int = 0
    waiting_since: datetime | None = None
    set_aside: SetAside | msgspec.UnsetType = msgspec.UNSET

    # The server keeps the bookkeeping with these; they live on the class, which the server and
    # its plugins share with the SDK.
    def with_backlog(self, pending: int, waiting_since: datetime | None) -> RocketState:
        """This state with another backlog (itself when it is the same)."""
        if pending == self.pending and waiting_since == self.waiting_since:
            return self
        return msgspec.structs.replace(self, pending=pending, waiting_since=waiting_since)

    def with_set_aside(self, set_aside: SetAside | msgspec.UnsetType) -> RocketState:
        """This state waiting at ``set_aside`` (``msgspec.UNSET``: at none); itself when the
        same."""
        if set_aside == self.set_aside:
            return self
        return msgspec.structs.replace(self, set_aside=set_aside)

    def with_bookkeeping(self, of: RocketState) -> RocketState:
        """This state with the bookkeeping (backlog and set-aside message) of ``of``."""
        return self.with_backlog(of.pending, of.waiting_since).with_set_aside(of.set_aside)

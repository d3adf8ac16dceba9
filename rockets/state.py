"""The read model: what the service knows about one rocket right now."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

import msgspec

__all__ = ["INITIAL_STATUS", "Event", "RocketState"]

INITIAL_STATUS = "unknown"
"""The status of a channel before any applied event has set one."""

P = TypeVar("P")


class RocketState(msgspec.Struct, frozen=True, kw_only=True, rename="camel", gc=False):
    """A rocket's current state: the fold of its applied events.

    ``lastMessageNumber`` and ``updatedAt`` are kept by the core. ``pending`` and
    ``waitingSince`` are bookkeeping, not part of the fold: how many received messages wait
    behind a gap in the channel, and since when the oldest of them waits.
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

    def with_backlog(self, pending: int, waiting_since: datetime | None) -> RocketState:
        """This state with another backlog (itself when it is the same)."""
        if pending == self.pending and waiting_since == self.waiting_since:
            return self
        return msgspec.structs.replace(self, pending=pending, waiting_since=waiting_since)


class Event(msgspec.Struct, Generic[P], frozen=True, kw_only=True):
    """An event as a plugin's ``apply`` function receives it: metadata plus the typed payload."""

    channel: str
    message_number: int
    message_type: str
    message_time: datetime
    received_at: datetime
    message: P

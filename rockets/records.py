"""The stored form of a received message, shared by the sequencer, the aggregate and every store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from rockets.state import RocketState

__all__ = ["Applied", "Record"]


class Record(msgspec.Struct, frozen=True, gc=False):
    """One accepted message, exactly as it is kept in a store.

    ``payload`` is the message body re-encoded from its validated Struct: unknown fields are
    gone and the key order is fixed, so two deliveries of the same message compare equal byte
    for byte whatever whitespace or extra fields the sender used.

    ``version`` is the version of its type's payload schema the payload was written in (the
    type's version when it was received); an older one is upcast when the record is read.

    ``message`` is that payload decoded into its type's Struct, when it is at hand: the codec
    sets it, so that validators, ``apply`` and listeners share one decode of the body. A record
    read back from a store has None there, and is decoded when it is applied. Stores keep
    ``payload`` only.
    """

    channel: str
    message_number: int
    message_type: str
    message_time: datetime
    received_at: datetime
    payload: bytes
    message: Any = None
    version: int = 1

    def same_message(self, other: Record) -> bool:
        """Whether ``other`` carries the same type and payload (a duplicate, not a conflict)."""
        return self.message_type == other.message_type and self.payload == other.payload


class Applied(msgspec.Struct, frozen=True, gc=False):
    """An event as the log holds it: its store-wide ``position`` (monotonic in commit order,
    no gap a reader sees), the record, and the rocket's state right after it."""

    position: int
    record: Record
    state: RocketState

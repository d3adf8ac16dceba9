"""The stored form of a received message, shared by the sequencer, the aggregate and every store."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ["Record"]


class Record(msgspec.Struct, frozen=True, gc=False):
    """One accepted message, exactly as it is kept in a store.

    ``payload`` is the message body re-encoded from its validated Struct: unknown fields are
    gone and the key order is fixed, so two deliveries of the same message compare equal byte
    for byte whatever whitespace or extra fields the sender used.
    """

    channel: str
    message_number: int
    message_type: str
    message_time: datetime
    received_at: datetime
    payload: bytes

    def same_message(self, other: Record) -> bool:
        """Whether ``other`` carries the same type and payload (a duplicate, not a conflict)."""
        return self.message_type == other.message_type and self.payload == other.payload

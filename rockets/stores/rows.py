"""A message as a row of the SQL stores' ``messages`` table, and back.

SQLite and PostgreSQL keep the same columns: channel, number, type, message time and receipt
time (ISO 8601 text, so that both read back exactly what was written), payload, and the version
of the type's payload schema it was written in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rockets.records import Record

__all__ = ["COLUMNS", "MessageRow", "message_row", "record_of"]

MessageRow = tuple[str, int, str, str, str, bytes, int]
COLUMNS = "channel, number, type, message_time, received_at, payload, version"
"""The columns of a message row, in the order of :data:`MessageRow`."""


def message_row(record: Record) -> MessageRow:
    """The row that keeps ``record``."""
    return (
        record.channel,
        record.message_number,
        record.message_type,
        record.message_time.isoformat(),
        record.received_at.isoformat(),
        record.payload,
        record.version,
    )


def record_of(row: Sequence[Any]) -> Record:
    """The record a row keeps (the payload may come back as a memoryview)."""
    channel, number, kind, message_time, received_at, payload, version = row
    return Record(
        channel,
        number,
        kind,
        datetime.fromisoformat(message_time),
        datetime.fromisoformat(received_at),
        bytes(payload),
        version=version,
    )

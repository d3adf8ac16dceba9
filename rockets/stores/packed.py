"""One channel's event log packed in a few bytes an event: what the memory store keeps.

A log of Record objects costs a quarter of a kilobyte an event (the Struct, two datetimes, the
payload's bytes object, a list slot); here an event is its fields encoded with MessagePack one
after the other in one bytearray, with an array of where each ends: about fifty bytes, plus
the payload's JSON. The channel is the log's, the number is the place in it (a log is the
prefix 1..n), the type an index into the store's table of types, and the times MessagePack's
timestamps with the offset of the message's clock beside, so that a time reads back exactly as
it was written.
"""

from __future__ import annotations

import functools
from array import array
from datetime import datetime, timedelta, timezone

import msgspec

from rockets.records import Record

__all__ = ["PackedLog", "TypeTable"]

_SECOND = timedelta(seconds=1)


class _Packed(msgspec.Struct, array_like=True, gc=False):
    kind: int
    time: datetime  # MessagePack's timestamp, in UTC: the offset is kept beside it
    offset: int
    received: datetime
    payload: bytes
    version: int


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Packed).decode


class TypeTable:
    """The message types of a store's logs, each kept once: a log holds their index."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._index: dict[str, int] = {}

    def index(self, name: str) -> int:
        found = self._index.get(name)
        if found is None:
            found = self._index[name] = len(self.names)
            self.names.append(name)
        return found


class PackedLog:
    """The applied events of one channel, 1 to ``len(log)``, packed."""

    __slots__ = ("_data", "_ends", "channel", "types")

    def __init__(self, channel: str, types: TypeTable) -> None:
        self.channel = channel
        self.types = types
        self._data = bytearray()
        self._ends = array("I")

    def __len__(self) -> int:
        return len(self._ends)

    def append(self, record: Record) -> None:
        """Keep ``record``, the event after the last one (its number is not checked here)."""
        moment = record.message_time
        offset = moment.utcoffset()
        self._data += _encode(
            _Packed(
                self.types.index(record.message_type),
                moment,
                0 if offset is None else offset // _SECOND,
                record.received_at,
                record.payload,
                record.version,
            )
        )
        self._ends.append(len(self._data))

    def get(self, number: int) -> Record:
        """Event ``number`` (1 to ``len(self)``)."""
        start = self._ends[number - 2] if number > 1 else 0
        packed = _decode(memoryview(self._data)[start : self._ends[number - 1]])
        return Record(
            self.channel,
            number,
            self.types.names[packed.kind],
            packed.time if not packed.offset else packed.time.astimezone(_zone(packed.offset)),
            packed.received,
            packed.payload,
            version=packed.version,
        )

    def slice(self, start: int, stop: int) -> list[Record]:
        """Events ``start`` to ``stop``, both included, those the log has."""
        return [self.get(number) for number in range(max(start, 1), min(stop, len(self)) + 1)]


@functools.cache
def _zone(offset: int) -> timezone:
    return timezone(timedelta(seconds=offset))

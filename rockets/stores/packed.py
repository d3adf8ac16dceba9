"""One channel's event log packed in a few bytes an event: what the memory store keeps.

A log of Record objects costs a quarter of a kilobyte an event (the Struct, two datetimes, the
payload's bytes object, a list slot); here an event is its fields encoded with MessagePack one
after the other in one bytearray, with an array of where each ends: about fifty bytes, plus
the payload's JSON. The channel is the log's, the number is the place in it (a log is the
prefix 1..n), the type an index into the store's table of types, and the times MessagePack's
timestamps with the offset of the message's clock beside, so that a time reads back exactly as
it was written.

A large payload is kept compressed when it compresses well (text; see :data:`COMPRESS_FROM`):
the memory store keeps every payload for as long as it runs, and large ones are most of what it
holds. (Kept apart, each in a bytes object of its own, they took more of the heap, not less:
pinned among the request's passing objects, 536 MB against 470 for 10,000 events of 60 KB.)
"""

from __future__ import annotations

import functools
import zlib
from array import array
from datetime import datetime, timedelta, timezone

import msgspec

from rockets.records import Record

__all__ = ["COMPRESS_FROM", "SAMPLE_BYTES", "SAMPLE_SHRINKS", "PackedLog", "TypeTable"]

_SECOND = timedelta(seconds=1)

COMPRESS_FROM = 16 * 1024
"""Payloads of this many bytes or more are kept compressed (zlib, its fastest level) when their
first :data:`SAMPLE_BYTES` shrink by :data:`SAMPLE_SHRINKS` or more. 60 KB of English prose
keeps 0.4 of its size for about 0.6 ms of compression (the rest of its ingest costs about 0.35
ms in process) and 0.1 ms of decompression when it is read; smaller payloads would pay the same
share of CPU for little memory."""
SAMPLE_BYTES = 1024
"""What is compressed first to tell whether a payload compresses: one that does not (random
letters, base64) costs this much compression (about 12 µs), not its whole (60 KB: 1.2 ms, to
keep three quarters of it)."""
SAMPLE_SHRINKS = 0.3
"""How much the sample must shrink: prose shrinks by 40-46% there, numbers in JSON by 49%,
random letters and base64 by 21-22% (they keep 77% whole)."""
_ZLIB = 1
"""The MessagePack extension type of a compressed payload."""


class _Packed(msgspec.Struct, array_like=True, gc=False):
    kind: int
    time: datetime  # MessagePack's timestamp, in UTC: the offset is kept beside it
    offset: int
    received: datetime
    payload: bytes | msgspec.msgpack.Ext  # Ext: compressed
    version: int


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Packed).decode


def _compressed(payload: bytes) -> bytes | msgspec.msgpack.Ext:
    """A large ``payload`` as a log keeps it: compressed when it compresses well."""
    view = memoryview(payload)
    compressor = zlib.compressobj(1)
    head = compressor.compress(view[:SAMPLE_BYTES]) + compressor.flush(zlib.Z_SYNC_FLUSH)
    if len(head) > SAMPLE_BYTES * (1 - SAMPLE_SHRINKS):
        return payload
    whole = head + compressor.compress(view[SAMPLE_BYTES:]) + compressor.flush()
    return msgspec.msgpack.Ext(_ZLIB, whole) if len(whole) < len(payload) else payload


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

    @property
    def nbytes(self) -> int:
        """The bytes its events take, packed."""
        return len(self._data)

    def append(self, record: Record) -> None:
        """Keep ``record``, the event after the last one (its number is not checked here)."""
        moment = record.message_time
        offset = moment.utcoffset()
        payload = record.payload
        self._data += _encode(
            _Packed(
                self.types.index(record.message_type),
                moment,
                0 if offset is None else offset // _SECOND,
                record.received_at,
                payload if len(payload) < COMPRESS_FROM else _compressed(payload),
                record.version,
            )
        )
        self._ends.append(len(self._data))

    def get(self, number: int) -> Record:
        """Event ``number`` (1 to ``len(self)``)."""
        start = self._ends[number - 2] if number > 1 else 0
        packed = _decode(memoryview(self._data)[start : self._ends[number - 1]])
        payload = packed.payload
        if isinstance(payload, msgspec.msgpack.Ext):
            payload = zlib.decompress(payload.data)
        return Record(
            self.channel,
            number,
            self.types.names[packed.kind],
            packed.time if not packed.offset else packed.time.astimezone(_zone(packed.offset)),
            packed.received,
            payload,
            version=packed.version,
        )

    def slice(self, start: int, stop: int) -> list[Record]:
        """Events ``start`` to ``stop``, both included, those the log has."""
        return [self.get(number) for number in range(max(start, 1), min(stop, len(self)) + 1)]


@functools.cache
def _zone(offset: int) -> timezone:
    return timezone(timedelta(seconds=offset))

"""The live stream: every applied event with the rocket's new state, numbered, kept for a while.

The hub keeps the last ``history`` events in a ring, each with a position (``<epoch>-<n>``: the
epoch names this process's run, so that a position from an earlier run is recognised), and no
more of them than ``max_bytes`` hold (their payloads and states: see :data:`ENTRY_BYTES`), so
that large events cost a bounded share of memory too. A subscriber reads the ring by position,
so a slow subscriber costs no memory: it either keeps up, or falls behind the oldest kept event
and is told so with a ``reset`` event, after which it continues from the oldest event still
kept. Nothing is lost or repeated while the ring holds what a reconnecting client missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TypeVar

import msgspec

from rockets.records import Applied, Record
from rockets.state import RocketState

__all__ = [
    "BATCH_BYTES",
    "BATCH_EVENTS",
    "ENTRY_BYTES",
    "PING_SECONDS",
    "Position",
    "StreamHub",
    "with_pings",
]

PING_SECONDS = 15.0
"""How often an idle stream sends a comment, so that proxies keep the connection open."""
BATCH_EVENTS = 100
"""The most events one write to a subscriber carries: a subscriber that does not read holds
this much of the server's memory, not everything it missed (it waits on the transport, and
the ring moves on without it)."""
BATCH_BYTES = 64 * 1024
"""The most bytes of events one write carries, as the ring counts them (the write ends after the
event that crossed them): what a subscriber that does not read holds when events are large. A
hundred standard events stay below it; 200 subscribers stuck over events of 60 KB of text hold
about 40 MB (at 256 KiB, 160 MB)."""
ENTRY_BYTES = 400
"""What a kept event costs beyond its payload and its state's JSON (its record, the ring's
slot), rounded up: 330 bytes measured for the standard types (10,000 events kept in a hub),
190 beyond its ``data`` once encoded."""


T = TypeVar("T")


class Position(msgspec.Struct, frozen=True):
    """Where a subscriber is: the run (epoch) and the number of the last event it got."""

    epoch: str
    number: int

    def __str__(self) -> str:
        return f"{self.epoch}-{self.number}"

    @classmethod
    def parse(cls, text: str | None) -> Position | None:
        if not text:
            return None
        epoch, _, number = text.strip().rpartition("-")
        if not epoch or not number.isdigit():
            return None
        return cls(epoch, int(number))


class _Entry(msgspec.Struct, gc=False):
    number: int
    channel: str
    # Until the event is encoded (once, for every subscriber); then ``data`` alone is kept.
    record: Record | None
    state: RocketState | None
    size: int  # the bytes counted for it in the hub's total
    data: str | None = None


class StreamHub:
    """Keeps the recent applied events and hands them to subscribers.

    Args:
        history: how many events are kept for reconnecting and slow subscribers.
        encode: how an applied event becomes the ``data`` of its SSE event (done once per
            event, whatever the number of subscribers).
        max_bytes: how many bytes the kept events may hold: each is counted as its payload,
            its state's JSON and :data:`ENTRY_BYTES`, or, once encoded, as its ``data`` and
            :data:`ENTRY_BYTES`. The newest event is kept whatever its size.
    """

    def __init__(
        self,
        history: int,
        encode: Callable[[Record, RocketState], str] | None = None,
        *,
        max_bytes: int,
    ) -> None:
        self.encode = encode or (lambda record, state: "")
        self.epoch = uuid.uuid4().hex[:10]
        self.history = history
        self.max_bytes = max_bytes
        self.held_bytes = 0
        """What the kept events hold, as counted against ``max_bytes``."""
        self._ring: deque[_Entry] = deque(maxlen=history)
        self._measure = msgspec.json.Encoder().encode_into
        self._measured = bytearray()
        self._next = 1  # the position the next event will have
        self._changed = asyncio.Event()
        self._closed = False
        self.subscribers = 0
        self.delivered = 0

    @property
    def last(self) -> int:
        """The position of the newest event (0 before the first)."""
        return self._next - 1

    @property
    def kept(self) -> int:
        """How many events are kept."""
        return len(self._ring)

    def start_at(self, position: int) -> None:
        """Begin after ``position``, the newest event when the hub starts: older ones are not
        kept here, and a client that asks for them is told it missed them."""
        self._ring.clear()
        self.held_bytes = 0
        self._next = position + 1

    def publish(self, events: Iterable[Applied]) -> None:
        """Append events just stored, in position order (the log's follower calls it); events
        at or before the newest kept one are skipped."""
        ring = self._ring
        number = self._next
        held = self.held_bytes
        measure, measured = self._measure, self._measured
        for applied in events:
            if applied.position < number:
                continue
            number = applied.position
            record, state = applied.record, applied.state
            if record.message is not None:
                # The decoded payload is not needed to encode the event, and may weigh several
                # times the payload (numbers do): dropped, so that the payload is what is held.
                record = msgspec.structs.replace(record, message=None)
            # A state's JSON tells its size: states differ by what plugins keep in them, which
            # may grow with every event.
            try:
                measure(state, measured)
                size = ENTRY_BYTES + len(record.payload) + len(measured)
            except Exception:  # a plugin put what JSON cannot hold: it must not stop the follower
                size = ENTRY_BYTES + len(record.payload)
            if len(ring) == self.history:
                held -= ring[0].size  # the ring drops it as the new one comes in
            ring.append(_Entry(number, record.channel, record, state, size))
            held += size
            number += 1
        if number != self._next:
            self.held_bytes = held
            self._trim()
            self._next = number
            self._wake()

    def _trim(self) -> None:
        """Drop the oldest events while they hold more than ``max_bytes`` (the newest stays: a
        subscriber waiting for it gets it)."""
        ring = self._ring
        while self.held_bytes > self.max_bytes and len(ring) > 1:
            self.held_bytes -= ring.popleft().size

    def _encoded(self, entry: _Entry) -> str:
        """``entry``'s data, encoded now; from now on the entry holds (and counts) it alone."""
        assert entry.record is not None
        assert entry.state is not None
        data = entry.data = self.encode(entry.record, entry.state)
        entry.record = entry.state = None
        size = ENTRY_BYTES + sys.getsizeof(data)
        self.held_bytes += size - entry.size
        entry.size = size
        return data

    def close(self) -> None:
        """End every subscription (at shutdown)."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def subscribe(
        self, after: Position | None, channel: str | None = None
    ) -> AsyncIterator[tuple[str, str, str]]:
        """``(kind, id, data)`` for every event after ``after`` (live ones included): kind
        ``applied`` with the encoded event (see ``encode``), or ``reset`` with a sentence.
        Ends when the hub closes."""
        async for batch in self.batches(after, channel):
            for item in batch:
                yield item

    async def batches(
        self, after: Position | None, channel: str | None = None
    ) -> AsyncIterator[list[tuple[str, str, str]]]:
        """What :meth:`subscribe` yields, as lists of what is available at once, at most
        :data:`BATCH_EVENTS` events each (so that a busy stream is written in few chunks rather
        than one per event, and none of them large)."""
        self.subscribers += 1
        try:
            if after is None or after.epoch != self.epoch or after.number > self.last:
                # A new client, or one from an earlier run: live events from now on. A client
                # that knew an earlier run is told it may have missed some.
                seen = self.last
                if after is not None:
                    detail = "a new server run: reload the state"
                    yield [("reset", f"{self.epoch}-{seen}", detail)]
            else:
                seen = after.number
            while not self._closed:
                changed = self._changed
                ring = self._ring
                batch: list[tuple[str, str, str]] = []
                if ring and seen < ring[0].number - 1:
                    missed = ring[0].number - 1 - seen
                    seen = ring[0].number - 1
                    detail = f"{missed} events are no longer kept"
                    batch.append(("reset", f"{self.epoch}-{seen}", detail))
                if ring and seen < ring[-1].number:
                    # Copied first: the ring moves on while the subscriber takes its time.
                    start = len(ring) - (ring[-1].number - seen)
                    stop = start + BATCH_EVENTS
                    size = 0
                    for entry in list(itertools.islice(ring, start, stop)):
                        seen = entry.number
                        if channel is None or entry.channel == channel:
                            data = entry.data
                            if data is None:
                                data = self._encoded(entry)
                            batch.append(("applied", f"{self.epoch}-{seen}", data))
                            size += sys.getsizeof(data)  # a character may take 4 bytes
                            if size >= BATCH_BYTES:
                                break
                    self._trim()  # an event encoded may hold more than it was counted for
                if batch:
                    self.delivered += sum(1 for kind, _, _ in batch if kind == "applied")
                    yield batch
                    continue
                if ring and seen < ring[-1].number:
                    continue  # a whole slice of other channels' events: on to the next one
                await changed.wait()
        finally:
            self.subscribers -= 1


async def with_pings(items: AsyncIterator[T], every: float) -> AsyncIterator[T | None]:
    """``items``, with a None whenever ``every`` seconds pass without one.

    The pending ``__anext__`` is kept across pings rather than cancelled, so that waiting for
    the next event is never interrupted.
    """
    iterator = aiter(items)
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=every)
            if not done:
                yield None
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()

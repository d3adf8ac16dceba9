"""The live stream: the hub's bookkeeping, the SSE route, and the SDK's resuming iterators."""

from __future__ import annotations

import asyncio
import weakref
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from rockets import EventType, hookimpl
from rockets.app import build_service
from rockets.records import Applied, Record
from rockets.runtime.stream_hub import BATCH_BYTES, Position, StreamHub
from rockets.settings import Settings
from rockets.state import RocketState

from ..gated_store import HANG_GUARD

T = datetime(2022, 2, 2, tzinfo=UTC)


def applied(channel: str, number: int, position: int = 0) -> Applied:
    """Event ``number`` of ``channel`` at ``position`` in the log (``number`` itself when the
    test's log holds one channel)."""
    record = Record(channel, number, "X", T, T, b"{}")
    state = RocketState(channel=channel, last_message_number=number)
    return Applied(position or number, record, state)


async def take(
    hub: StreamHub, after: Position | None, n: int, channel: str | None = None
) -> list[tuple[str, str, Any]]:
    items = []
    async for item in hub.subscribe(after, channel):
        items.append(item)
        if len(items) == n:
            break
    return items


def numbers(items: list[tuple[str, str, Any]]) -> list[int]:
    return [int(data.split("#")[1]) for kind, _, data in items if kind == "applied"]


def hub_of(history: int, max_bytes: int = 2**30) -> StreamHub:
    return StreamHub(
        history,
        lambda record, state: f"{record.channel}#{record.message_number}",
        max_bytes=max_bytes,
    )


class Reader:
    """A subscription read in its own task, and a wait for its n-th item."""

    def __init__(self, hub: StreamHub, after: Position | None, channel: str | None = None) -> None:
        self.items: list[tuple[str, str, Any]] = []
        self._arrived = asyncio.Event()
        self.task = asyncio.create_task(self._read(hub, after, channel))

    async def _read(self, hub: StreamHub, after: Position | None, channel: str | None) -> None:
        async for item in hub.subscribe(after, channel):
            self.items.append(item)
            self._arrived.set()

    async def has(self, n: int) -> list[tuple[str, str, Any]]:
        """Wait until ``n`` items have arrived; all of them so far."""
        async with asyncio.timeout(HANG_GUARD):
            while len(self.items) < n:
                self._arrived.clear()
                await self._arrived.wait()
        return self.items

    async def end(self) -> None:
        """Wait for the subscription to end (the hub is closed)."""
        async with asyncio.timeout(HANG_GUARD):
            await self.task


async def registered(hub: StreamHub, subscribers: int) -> None:
    """Let the loop run until ``subscribers`` subscriptions are registered with the hub."""
    async with asyncio.timeout(HANG_GUARD):
        while hub.subscribers < subscribers:
            await asyncio.sleep(0)  # a turn of the loop, not a pause


@pytest.mark.anyio
async def test_hub_replays_after_a_position_then_goes_live() -> None:
    hub = hub_of(100)
    hub.publish([applied("a", n) for n in range(1, 6)])
    reader = Reader(hub, Position(hub.epoch, 2))
    assert numbers(await reader.has(3)) == [3, 4, 5]  # replayed
    hub.publish([applied("a", 6), applied("a", 7)])  # published after the replay: live
    items = await reader.has(5)
    assert numbers(items) == [3, 4, 5, 6, 7]
    assert [position for _, position, _ in items] == [f"{hub.epoch}-{n}" for n in range(3, 8)]
    hub.close()
    await reader.end()
    assert len(reader.items) == 5
    assert hub.subscribers == 0


@pytest.mark.anyio
async def test_hub_filters_by_channel() -> None:
    hub = hub_of(100)
    hub.publish([applied("a", 1, 1), applied("b", 1, 2), applied("a", 2, 3)])
    items = await take(hub, Position(hub.epoch, 0), 2, channel="a")
    assert [data.split("#")[0] for _, _, data in items] == ["a", "a"]


@pytest.mark.anyio
async def test_hub_says_reset_when_events_are_no_longer_kept() -> None:
    hub = hub_of(3)
    hub.publish([applied("a", n) for n in range(1, 11)])
    items = await take(hub, Position(hub.epoch, 2), 4)
    kind, position, detail = items[0]
    assert (kind, position) == ("reset", f"{hub.epoch}-7")
    assert "5 events are no longer kept" in detail
    assert numbers(items) == [8, 9, 10]


@pytest.mark.anyio
async def test_hub_says_reset_to_a_client_of_an_earlier_run() -> None:
    hub = hub_of(10)
    hub.publish([applied("a", 1)])
    reader = Reader(hub, Position("an-old-run", 99))
    (kind, position, _), *_ = await reader.has(1)  # subscribed: told at once
    assert (kind, position) == ("reset", f"{hub.epoch}-1")
    hub.publish([applied("a", 2)])
    items = await reader.has(2)
    assert numbers(items) == [2]
    hub.close()
    await reader.end()


@pytest.mark.anyio
async def test_a_slow_subscriber_costs_no_memory_and_close_ends_it() -> None:
    hub = hub_of(50)
    subscription = hub.subscribe(None)
    first = asyncio.create_task(anext(subscription))
    await registered(hub, 1)  # from now on, it is owed every event
    for n in range(1, 10_001):
        hub.publish([applied("a", n)])
    assert len(hub._ring) == 50  # bounded, however far behind the subscriber is
    kind, _, detail = await first
    assert (kind, detail) == ("reset", "9950 events are no longer kept")
    hub.close()
    rest = [item async for item in subscription]
    assert numbers(rest) == list(range(9951, 10_001))
    assert hub.subscribers == 0


def large(channel: str, number: int, payload_bytes: int = 0, state_bytes: int = 0) -> Applied:
    """Event ``number`` of ``channel`` with a payload and a state of about these sizes."""
    record = Record(channel, number, "X", T, T, b"p" * payload_bytes, message=object())
    state = RocketState(channel=channel, last_message_number=number, reason="s" * state_bytes)
    return Applied(number, record, state)


@pytest.mark.anyio
async def test_the_ring_holds_at_most_its_bytes_and_a_resume_before_them_is_told_reset() -> None:
    hub = hub_of(100, max_bytes=35_000)
    hub.publish([large("a", n, payload_bytes=10_000) for n in range(1, 11)])
    assert hub.kept == 3  # 100 by count, 3 of 10,000 bytes and more by bytes
    assert hub.held_bytes <= 35_000
    # As when the count had dropped them: a reset saying how many, then what is kept.
    items = await take(hub, Position(hub.epoch, 2), 4)
    kind, position, detail = items[0]
    assert (kind, position) == ("reset", f"{hub.epoch}-7")
    assert "5 events are no longer kept" in detail
    assert numbers(items) == [8, 9, 10]


@pytest.mark.anyio
async def test_states_count_toward_the_bytes_as_payloads_do() -> None:
    hub = hub_of(100, max_bytes=35_000)
    hub.publish([large("a", n, state_bytes=10_000) for n in range(1, 11)])
    assert hub.kept == 3
    items = await take(hub, Position(hub.epoch, 0), 4)
    assert items[0][2] == "7 events are no longer kept"
    assert numbers(items) == [8, 9, 10]


@pytest.mark.anyio
async def test_the_newest_event_is_kept_whatever_its_size() -> None:
    hub = hub_of(100, max_bytes=1_000)
    reader = Reader(hub, None)
    await registered(hub, 1)
    hub.publish([large("a", 1, payload_bytes=50_000)])
    assert hub.kept == 1
    assert numbers(await reader.has(1)) == [1]  # a live subscriber gets it
    hub.publish([large("a", 2, payload_bytes=50_000)])
    assert hub.kept == 1
    assert numbers(await reader.has(2)) == [1, 2]
    hub.close()
    await reader.end()


def test_the_decoded_payload_is_not_kept() -> None:
    class Message:  # a decoded payload, which the hub is told of and must let go
        pass

    message = Message()
    gone = weakref.ref(message)
    record = Record("a", 1, "X", T, T, b"{}", message=message)
    hub = hub_of(10)
    hub.publish([Applied(1, record, RocketState(channel="a", last_message_number=1))])
    del message, record
    assert gone() is None


@pytest.mark.anyio
async def test_an_encoded_event_is_counted_as_its_data_and_the_bound_holds() -> None:
    # Each event encodes to 20,000 characters, more than its record and state were counted.
    hub = StreamHub(100, lambda record, state: "d" * 20_000, max_bytes=50_000)
    hub.publish([large("a", n) for n in range(1, 11)])
    assert hub.kept == 10
    items = await take(hub, Position(hub.epoch, 0), 10)
    assert [kind for kind, _, _ in items] == ["applied"] * 10  # taken before any was dropped
    assert hub.held_bytes <= 50_000
    assert hub.kept == 2


@pytest.mark.anyio
async def test_one_write_to_a_subscriber_holds_a_bounded_number_of_bytes() -> None:
    hub = StreamHub(1000, lambda record, state: "d" * 60_000, max_bytes=2**30)
    hub.publish([large("a", n) for n in range(1, 101)])
    taken = 0
    async for batch in hub.batches(Position(hub.epoch, 0)):
        size = sum(len(data) for _, _, data in batch)
        assert size < BATCH_BYTES + 60_000  # the write ends after the event that crossed it
        taken += len(batch)
        if taken == 100:
            hub.close()  # which ends the subscription
    assert taken == 100


class Note(msgspec.Struct, frozen=True):
    """A payload with free text of any length, as a plugin may have."""

    text: str


class Notes:
    @hookimpl
    def register_event_types(self) -> list[EventType[Any]]:
        return [EventType(schema=Note, apply=lambda state, event: state)]


@pytest.mark.anyio
async def test_the_setting_bounds_the_stream_of_a_service() -> None:
    settings = Settings(stream_history_bytes=100_000)
    service = build_service(settings, plugins=[Notes()])
    await service.start()
    try:
        for number in range(1, 6):
            metadata = {"channel": "n", "messageNumber": number, "messageType": "Note"}
            body = msgspec.json.encode({"metadata": metadata, "message": {"text": "t" * 30_000}})
            assert (await service.ingest(body)).all_taken
        hub = service.hub
        async with asyncio.timeout(HANG_GUARD):
            while hub.last < 5:  # the log's follower hands the events on
                await asyncio.sleep(0)  # a turn of the loop, not a pause
        assert hub.kept == 3
        items = await take(hub, Position(hub.epoch, 1), 3)
        assert items[0][2] == "1 events are no longer kept"
        decoded = [msgspec.json.decode(data) for kind, _, data in items[1:]]
        assert [event["event"]["messageNumber"] for event in decoded] == [3, 4]
    finally:
        await service.stop()


def test_positions_parse() -> None:
    assert Position.parse("abc123-42") == Position("abc123", 42)
    assert str(Position("abc123", 42)) == "abc123-42"
    for bad in (None, "", "42", "abc-", "abc-x"):
        assert Position.parse(bad) is None


# --- through the real server -------------------------------------------------------------------

"""The live stream: the hub's bookkeeping, the SSE route, and the SDK's resuming iterators."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
from rockets_standard.messages import RocketLaunched, RocketSpeedIncreased

from rockets.client import AsyncRocketsClient, RocketsClient, message
from rockets.records import Record
from rockets.state import RocketState
from rockets.stream import Position, StreamHub
from rockets.wire import StreamedEvent, StreamReset

from .server import BIN, Server, free_port, running

T = datetime(2022, 2, 2, tzinfo=UTC)


def applied(channel: str, number: int) -> tuple[Record, RocketState]:
    record = Record(channel, number, "X", T, T, b"{}")
    return record, RocketState(channel=channel, last_message_number=number)


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


def hub_of(history: int) -> StreamHub:
    return StreamHub(history, lambda record, state: f"{record.channel}#{record.message_number}")


@pytest.mark.anyio
async def test_hub_replays_after_a_position_then_goes_live() -> None:
    hub = hub_of(100)
    hub.publish([applied("a", n) for n in range(1, 6)])
    after = Position(hub.epoch, 2)
    reader = asyncio.create_task(take(hub, after, 5))
    await asyncio.sleep(0)
    hub.publish([applied("a", 6), applied("a", 7)])
    items = await reader
    assert numbers(items) == [3, 4, 5, 6, 7]
    assert [position for _, position, _ in items] == [f"{hub.epoch}-{n}" for n in range(3, 8)]


@pytest.mark.anyio
async def test_hub_filters_by_channel() -> None:
    hub = hub_of(100)
    hub.publish([applied("a", 1), applied("b", 1), applied("a", 2)])
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
    reader = asyncio.create_task(take(hub, Position("an-old-run", 99), 2))
    await asyncio.sleep(0)
    hub.publish([applied("a", 2)])
    kind, _, _ = (items := await reader)[0]
    assert kind == "reset"
    assert numbers(items) == [2]


@pytest.mark.anyio
async def test_a_slow_subscriber_costs_no_memory_and_close_ends_it() -> None:
    hub = hub_of(50)
    subscription = hub.subscribe(None)
    first = asyncio.create_task(anext(subscription))
    await asyncio.sleep(0)
    for n in range(1, 10_001):
        hub.publish([applied("a", n)])
    assert len(hub._ring) == 50  # bounded, however far behind the subscriber is
    kind, _, detail = await first
    assert (kind, detail) == ("reset", "9950 events are no longer kept")
    hub.close()
    rest = [item async for item in subscription]
    assert numbers(rest) == list(range(9951, 10_001))
    assert hub.subscribers == 0


def test_positions_parse() -> None:
    assert Position.parse("abc123-42") == Position("abc123", 42)
    assert str(Position("abc123", 42)) == "abc123-42"
    for bad in (None, "", "42", "abc-", "abc-x"):
        assert Position.parse(bad) is None


# --- through the real server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    port = free_port()
    with running([str(BIN / "rockets"), "serve", "--port", str(port)], port) as started:
        yield started


def launch(client: RocketsClient, channel: str, steps: int) -> None:
    client.send(RocketLaunched(type="F9", launch_speed=0, mission="M"), channel=channel, number=1)
    client.send_batch(
        [
            message(RocketSpeedIncreased(by=1), channel=channel, number=n)
            for n in range(2, steps + 1)
        ]
    )


def launch_at(url: str, channel: str, steps: int) -> None:
    with RocketsClient(url) as client:
        launch(client, channel, steps)


class CutOnce(httpx.BaseTransport):
    """The network, except that the first stream is cut after ``after`` lines."""

    def __init__(self, after: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.after = after
        self.cuts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != "/stream" or self.cuts:
            return response
        self.cuts += 1
        stream, limit = response.stream, self.after

        class Cut(httpx.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                lines = 0
                for chunk in stream:  # type: ignore[union-attr]
                    yield chunk
                    lines += chunk.count(b"\n")
                    if lines >= limit:
                        raise httpx.ReadError("connection reset by the test")

            def close(self) -> None:
                stream.close()  # type: ignore[union-attr]

        return httpx.Response(
            response.status_code, headers=response.headers, stream=Cut(), request=request
        )


def test_the_sdk_stream_resumes_after_a_dropped_connection_without_loss(server: Server) -> None:
    transport = CutOnce(after=40)
    got: list[tuple[str, int]] = []
    ready = threading.Event()

    def consume() -> None:
        with RocketsClient(server.url, transport=transport) as client:
            ready.set()
            for item in client.stream(channel="resume"):
                assert isinstance(item.data, StreamedEvent)
                got.append((item.id, item.data.event.message_number))
                if len(got) == 60:
                    return

    consumer = threading.Thread(target=consume)
    consumer.start()
    ready.wait()
    with RocketsClient(server.url) as client:
        for _ in range(50):
            if client.health().status == "ok" and transport.cuts == 1:
                break
            threading.Event().wait(0.05)
        launch(client, "resume", 60)
    consumer.join(timeout=30)
    assert not consumer.is_alive()
    assert transport.cuts == 1  # the stream was cut, and resumed
    assert [n for _, n in got] == list(range(1, 61))  # nothing lost, nothing repeated
    assert len({position for position, _ in got}) == 60


@pytest.mark.anyio
async def test_the_async_sdk_stream_replays_from_an_id(server: Server) -> None:
    async with AsyncRocketsClient(server.url) as client:
        collected: list[int] = []
        marker: str | None = None

        async def first_half() -> None:
            nonlocal marker
            async for item in client.stream(channel="async"):
                assert isinstance(item.data, StreamedEvent)
                collected.append(item.data.event.message_number)
                marker = item.id
                if len(collected) == 10:
                    return

        reader = asyncio.create_task(first_half())
        await asyncio.sleep(0.5)
        await asyncio.to_thread(launch_at, server.url, "async", 30)
        await asyncio.wait_for(reader, 30)
        # Disconnected after 10 events; the rest comes from the id of the last one seen.
        async for item in client.stream(channel="async", last_event_id=marker):
            assert isinstance(item.data, StreamedEvent)
            collected.append(item.data.event.message_number)
            if len(collected) == 30:
                break
    assert collected == list(range(1, 31))


def test_sse_wire_format(server: Server) -> None:
    with httpx.stream(
        "GET", f"{server.url}/stream", params={"channel": "wire"}, timeout=10
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        with RocketsClient(server.url) as client:
            client.send(
                RocketLaunched(type="F9", launch_speed=7, mission="M"), channel="wire", number=1
            )
        lines = []
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert "event: applied" in lines
    assert any(line.startswith("id: ") for line in lines)
    data = msgspec.json.decode(lines[-1].removeprefix("data: "))
    assert data["state"]["speed"] == 7
    assert data["event"]["messageType"] == "RocketLaunched"


def test_reset_reaches_the_sdk(server: Server) -> None:
    with RocketsClient(server.url) as client:
        stream = client.stream(channel="never", last_event_id="an-earlier-run-5")
        first = next(stream)
        assert isinstance(first.data, StreamReset)
        stream.close()

"""The live stream through a real server and the SDK: resuming, replaying, the wire format, resets,
the SDK's timeouts."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator

import httpx
import msgspec
import pytest
from rockets_client import (
    AsyncRocketsClient,
    RocketLaunched,
    RocketsClient,
    RocketSpeedIncreased,
    StreamedEvent,
    StreamIdleError,
    StreamReset,
    message,
)

from ..server import BIN, Server, free_port, running

HANG_GUARD = 30.0
"""Seconds after which a wait fails instead of hanging: a guard, never the verdict."""


@pytest.fixture
def server() -> Iterator[Server]:
    """A server of the test's own: its stream has no subscriber but the test's."""
    port = free_port()
    with running([str(BIN / "rockets"), "serve", "--port", str(port)], port) as started:
        yield started


def subscribers(server: Server) -> int:
    text = httpx.get(f"{server.url}/metrics", timeout=HANG_GUARD).text
    found = re.search(r"^rockets_stream_subscribers (\S+)$", text, re.M)
    assert found is not None
    return int(float(found.group(1)))


def subscribed(server: Server, count: int = 1) -> None:
    """Return once ``count`` streams are registered with the server's hub: from then on, each
    is owed every event applied. (Polled: each poll is a round trip, nothing sleeps.)"""
    deadline = time.monotonic() + HANG_GUARD  # a hang guard only
    while subscribers(server) < count:
        assert time.monotonic() < deadline, f"fewer than {count} streams after {HANG_GUARD} s"


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
        self.armed = threading.Event()  # set when the stream to be cut has begun

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != "/stream" or self.cuts:
            return response
        self.cuts += 1
        self.armed.set()
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

    def consume() -> None:
        with RocketsClient(server.url, transport=transport) as client:
            for item in client.stream(channel="resume"):
                assert isinstance(item.data, StreamedEvent)
                got.append((item.id, item.data.event.message_number))
                if len(got) == 60:
                    return

    consumer = threading.Thread(target=consume)
    consumer.start()
    assert transport.armed.wait(HANG_GUARD)  # the stream to be cut has begun
    subscribed(server)  # launched before the stream is registered, it would miss the first events
    launch_at(server.url, "resume", 60)
    consumer.join(timeout=HANG_GUARD)
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
        await asyncio.to_thread(subscribed, server)
        await asyncio.to_thread(launch_at, server.url, "async", 30)
        await asyncio.wait_for(reader, HANG_GUARD)
        # Disconnected after 10 events; the rest comes from the id of the last one seen.
        async with asyncio.timeout(HANG_GUARD):
            async for item in client.stream(channel="async", last_event_id=marker):
                assert isinstance(item.data, StreamedEvent)
                collected.append(item.data.event.message_number)
                if len(collected) == 30:
                    break
    assert collected == list(range(1, 31))


def test_sse_wire_format(server: Server) -> None:
    with httpx.stream(
        "GET", f"{server.url}/stream", params={"channel": "wire"}, timeout=HANG_GUARD
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        subscribed(server)
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


# --- the SDK's stream timeouts and events, against a real server -------------------------------


def test_an_idle_timeout_ends_a_stream_the_server_keeps_silent(server: Server) -> None:
    """No event and no keep-alive comment (the server sends one every 15 s) for the idle
    timeout: the stream raises, in both clients."""
    with RocketsClient(server.url) as client, pytest.raises(StreamIdleError):
        for _ in client.stream(channel="quiet", idle_timeout=0.3):
            pass

    async def follow() -> None:
        async with AsyncRocketsClient(server.url) as client:
            async for _ in client.stream(channel="quiet", idle_timeout=0.3):
                pass

    with pytest.raises(StreamIdleError):
        asyncio.run(asyncio.wait_for(follow(), HANG_GUARD))


def test_a_timeout_stops_the_stream_while_it_waits_for_the_next_event(server: Server) -> None:
    """The sync client's reads block on the socket: at the deadline the socket is shut down,
    and the iteration ends cleanly, after the events that came in time."""
    got: list[str] = []

    def consume() -> None:
        with RocketsClient(server.url) as client:
            for item in client.stream(channel="timed", timeout=5.0):
                assert isinstance(item.data, StreamedEvent)
                got.append(item.data.state.mission or "")

    consumer = threading.Thread(target=consume)
    consumer.start()
    subscribed(server)
    with RocketsClient(server.url) as client:
        # A mission with characters httpx's lines (not server-sent events) end a line at.
        mission = "LINE\u2028SEPARATED\x85NEXT"
        launched = RocketLaunched(type="F9", launch_speed=1, mission=mission)
        client.send(launched, channel="timed", number=1)
    consumer.join(timeout=HANG_GUARD)
    assert not consumer.is_alive()  # stopped by itself
    assert got == [mission]

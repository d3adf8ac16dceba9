"""rockets serve's HTTP protocol, driven in process: bytes in, the writes it makes out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from rockets.http.server import guarded_protocol
from rockets.settings import Settings

REQUEST = b"POST /messages HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}"


class Transport(asyncio.Transport):
    """Keeps every write, each as it was made."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = asyncio.Event()

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed.set()

    def is_closing(self) -> bool:
        return self.closed.is_set()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8088)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def exchange(app: Any, request: bytes = REQUEST) -> tuple[list[bytes], asyncio.Event]:
    """Feed ``request`` to the protocol serving ``app``; its writes once the app has answered."""
    config = uvicorn.Config(app, lifespan="off", log_level="warning")
    config.load()
    transport = Transport()
    # The app may look at the writes made so far through its scope's state.
    protocol = guarded_protocol(HttpToolsProtocol, Settings())(
        config=config, server_state=ServerState(), app_state={"writes": transport.writes}
    )
    protocol.connection_made(transport)
    answered = asyncio.Event()

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        finally:
            answered.set()

    protocol.app = watched
    protocol.data_received(request)
    await answered.wait()
    protocol.connection_lost(None)
    return transport.writes, transport.closed


async def sized(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 202, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})


def test_an_answer_that_declares_its_length_is_one_write() -> None:
    writes, _ = asyncio.run(exchange(sized))
    assert len(writes) == 1
    head, _, body = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 202 Accepted\r\n")
    assert b"content-length: 2" in head
    assert body == b"{}"


def test_a_streamed_answer_sends_its_head_at_once() -> None:
    # No length: a stream, whose head must not wait for an event that may be long to come.
    heads_before_body: list[int] = []

    async def streamed(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        heads_before_body.append(len(scope["state"]["writes"]))
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    writes, _ = asyncio.run(exchange(streamed))
    assert heads_before_body == [1]
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(writes) == 3


def test_a_connection_that_closes_after_the_answer_still_gets_it_whole() -> None:
    request = REQUEST.replace(b"host: x\r\n", b"host: x\r\nconnection: close\r\n")
    writes, closed = asyncio.run(exchange(sized, request))
    assert closed.is_set()
    assert len(writes) == 1
    assert writes[0].endswith(b"\r\n\r\n{}")


@pytest.mark.parametrize("status", [404, 500])
def test_every_status_is_written_once(status: int) -> None:
    async def answer(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        headers = [(b"content-length", b"0")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    writes, _ = asyncio.run(exchange(answer))
    assert len(writes) == 1
    assert writes[0].startswith(f"HTTP/1.1 {status} ".encode())

"""rockets serve's HTTP protocol: driven in process (bytes in, the writes it makes out), and
served on a real socket by the installed uvicorn, as ``rockets serve`` serves it."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from rockets.app import create_app
from rockets.http.server import (
    BoundServer,
    default_protocol_class,
    guarded_protocol,
    listen,
    server_config,
)
from rockets.settings import Settings

from ..conftest import core_settings

REQUEST = b"POST /messages HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}"


class Transport(asyncio.Transport):
    """Keeps every write, each as it was made."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = asyncio.Event()
        self.aborted = False
        self.eof = False
        self.protocol: asyncio.BaseProtocol | None = None

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed.set()

    def abort(self) -> None:
        self.aborted = True
        self.closed.set()

    def is_closing(self) -> bool:
        return self.closed.is_set()

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

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
    assert b"".join(writes).endswith(b"\r\n\r\n{}")


# --- answers given before the body is in: a lingering close ---------------------------------

BIG = b"POST /messages HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n" + b"x" * 1000
"""A request whose body is still coming after the read that brings its head."""


def refusing(close: bool) -> Any:
    """An app that answers 413 at once, without reading the body; with ``close``, saying the
    connection ends."""

    async def refuse(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    return refuse


async def answered(
    app: Any, request: bytes, settings: Settings, base: type[Any] = HttpToolsProtocol
) -> tuple[Any, Transport]:
    """The protocol serving ``app`` and its transport, once ``app`` has answered ``request``
    (the connection is left as the protocol left it)."""
    config = uvicorn.Config(app, lifespan="off", log_level="warning")
    config.load()
    transport = Transport()
    protocol = guarded_protocol(base, settings)(
        config=config, server_state=ServerState(), app_state={}
    )
    protocol.connection_made(transport)
    done = asyncio.Event()

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        finally:
            done.set()

    protocol.app = watched
    protocol.data_received(request)
    await done.wait()
    return protocol, transport


@pytest.mark.parametrize("base", [HttpToolsProtocol, H11Protocol])
@pytest.mark.parametrize("close", [True, False], ids=["closing", "kept-alive"])
def test_an_answer_before_the_body_is_in_lingers_instead_of_closing(
    base: type[Any], close: bool
) -> None:
    async def run() -> None:
        protocol, transport = await answered(refusing(close), BIG, Settings(), base)
        assert b"".join(transport.writes).startswith(b"HTTP/1.1 413 ")
        assert not transport.is_closing()  # not closed under a client still sending
        assert transport.eof  # the answer is all it gets: a client reading to the end ends
        assert protocol in protocol.connections  # still counted against the cap
        lingering = transport.protocol
        assert isinstance(lingering, asyncio.Protocol)
        lingering.data_received(b"x" * 99_000)  # the rest of the body: read, thrown away
        assert not transport.is_closing()
        assert not lingering.eof_received()  # the client stopped sending: the transport closes
        lingering.connection_lost(None)
        assert protocol not in protocol.connections

    asyncio.run(run())


def test_the_linger_ends_after_its_byte_budget() -> None:
    settings = Settings()
    assert settings.linger_bytes >= 2 * settings.max_body_bytes

    async def run() -> None:
        _, transport = await answered(refusing(True), BIG, settings)
        lingering = transport.protocol
        assert isinstance(lingering, asyncio.Protocol)
        lingering.data_received(b"x" * settings.linger_bytes)
        assert not transport.is_closing()
        lingering.data_received(b"x")
        assert transport.is_closing()

    asyncio.run(run())


def test_the_linger_ends_after_its_time() -> None:
    settings = Settings(request_timeout=0.05)
    assert settings.linger_seconds == 0.05

    async def run() -> None:
        _, transport = await answered(refusing(True), BIG, settings)
        lingering = transport.protocol
        assert isinstance(lingering, asyncio.Protocol)
        lingering.data_received(b"x")  # a client that keeps sending, slowly
        await asyncio.wait_for(transport.closed.wait(), GUARD)
        assert transport.aborted

    asyncio.run(run())


def test_a_head_over_the_limit_is_refused_then_lingers() -> None:
    settings = Settings(max_header_bytes=1024)

    async def run() -> None:
        config = uvicorn.Config(refusing(True), lifespan="off", log_level="warning")
        config.load()
        transport = Transport()
        protocol = guarded_protocol(HttpToolsProtocol, settings)(
            config=config, server_state=ServerState(), app_state={}
        )
        protocol.connection_made(transport)
        protocol.data_received(b"POST /messages HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 4096)
        assert b"".join(transport.writes).startswith(b"HTTP/1.1 431 ")
        assert transport.eof
        assert not transport.is_closing()
        lingering = transport.protocol
        assert isinstance(lingering, asyncio.Protocol)
        assert not lingering.eof_received()

    asyncio.run(run())


def test_a_request_that_comes_in_one_read_is_not_watched() -> None:
    # The fast path pays nothing: its answer goes straight to the transport.
    async def run() -> None:
        protocol, transport = await answered(sized, REQUEST, Settings())
        assert protocol.cycle.transport is transport
        assert transport.protocol is None

    asyncio.run(run())


# --- rockets serve's server, on a real socket, against the installed uvicorn -----------------

GUARD = 30  # seconds: only turns a hang into a failure, never decides a verdict


class Serving(BoundServer):
    """``rockets serve``'s server, telling the test when it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()


@contextmanager
def serving(settings: Settings, protocol: type[Any]) -> Iterator[tuple[str, int]]:
    """An app built as ``rockets serve`` builds it, served as it serves it (its config, its
    protocol, a socket bound beforehand) on a free port, in a thread of its own (where no
    signal handler is installed); the address it listens on."""
    app = create_app(settings, deadlines="server")
    assert not app.edge.deadlines.enabled  # the protocol keeps the deadline
    sock = listen("127.0.0.1", 0)
    host, port = sock.getsockname()[:2]
    config = server_config(
        app, settings, host=host, port=port, log_level="warning", protocol=protocol
    )
    server = Serving(config)
    thread = threading.Thread(target=asyncio.run, args=(server.serve(sockets=[sock]),))
    thread.start()
    try:
        assert server.listening.wait(GUARD)
        yield host, port
    finally:
        server.should_exit = True
        thread.join(GUARD)
        sock.close()


def answer_on(conn: socket.socket, request: bytes) -> tuple[bytes, bytes]:
    """Send ``request`` and read one answer (its head, and its body by Content-Length), or
    what comes until the server closes."""
    conn.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    while length and len(body) < int(length[1]):
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


def connected(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=GUARD)


def test_the_served_protocol_refuses_a_head_over_the_limit() -> None:
    settings = core_settings(max_header_bytes=1024)
    with serving(settings, default_protocol_class()) as address, connected(address) as conn:
        # A head that goes on and on: refused once it is over the limit, not when it ends.
        endless = b"GET /health HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 4096
        head, body = answer_on(conn, endless)
        assert head.startswith(b"HTTP/1.1 431 ")
        assert b"connection: close" in head.lower()
        refused = msgspec.json.decode(body)
        assert refused["error"] == "too_large"
        assert conn.recv(1) == b""  # closed


@pytest.mark.parametrize("protocol", [HttpToolsProtocol, H11Protocol])
def test_the_served_protocol_caps_the_connections(protocol: type[Any]) -> None:
    settings = core_settings(max_connections=1, max_streams=None)
    health = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n"
    with serving(settings, protocol) as address, connected(address) as first:
        head, _ = answer_on(first, health)  # answered: the server holds this connection
        assert head.startswith(b"HTTP/1.1 200 ")
        with connected(address) as second:
            head, body = answer_on(second, health)
            assert head.startswith(b"HTTP/1.1 503 ")
            assert b"retry-after: 1" in head.lower()
            assert msgspec.json.decode(body)["error"] == "unavailable"
        head, _ = answer_on(first, health)  # the first keeps its connection
        assert head.startswith(b"HTTP/1.1 200 ")

"""Slow and greedy clients against the real server process (uvicorn has no deadlines of its own).

Each test has a server of its own, configured for what it checks, and ends by showing that the
server still serves: no test relies on another having run first. Nothing is decided by a clock:
the server's answers (a 408, a 503, a closed connection) are read with socket timeouts that only
turn a hang into a failure.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import httpx
import pytest

from ..server import BIN, Server, free_port, running

HANG_GUARD = 30.0
"""Seconds a socket waits for the server before the test fails: a guard, never the verdict."""

BODY = b'{"metadata": {"channel": "slow", "messageType": "RocketExploded"}, "message": {"reason": "x"}}'

DEADLINE = {"ROCKETS_REQUEST_TIMEOUT": "1"}
"""A short deadline for a request to arrive whole, for the tests that wait for it to pass."""
PATIENT = {"ROCKETS_REQUEST_TIMEOUT": "600", "ROCKETS_KEEP_ALIVE_TIMEOUT": "600"}
"""Deadlines no test comes near, for the tests where the clients must not be cut off."""

Serve = Callable[[dict[str, str]], AbstractContextManager[Server]]


@pytest.fixture
def serve() -> Serve:
    """Start a server of the test's own with these environment variables."""

    def start(env: dict[str, str]) -> AbstractContextManager[Server]:
        port = free_port()
        return running([str(BIN / "rockets"), "serve", "--port", str(port)], port, env=env)

    return start


def connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=HANG_GUARD)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break  # closed on bytes the server did not read: what it said before still counts
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def read_response(sock: socket.socket) -> bytes:
    """One whole response (headers and Content-Length bytes of body), leaving the socket open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def answer(raw: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, json.loads(body)


def trickle(sock: socket.socket, data: Iterator[bytes], pause: float) -> None:
    """Send ``data`` a byte at a time until the server answers (or the data ends).

    ``pause`` only paces the sender (a byte every ``pause`` seconds, well inside the server's
    deadline, so that the client is never idle for long): it decides nothing, since the data
    never makes a whole request before the server cuts the client off.
    """
    deadline = time.monotonic() + HANG_GUARD  # a hang guard only
    for byte in data:
        answered, _, _ = select.select([sock], [], [], pause)
        if answered:
            return  # the server has said something, or hung up: that is the point
        try:
            sock.sendall(byte)
        except OSError:
            return
        assert time.monotonic() < deadline, f"still trickling after {HANG_GUARD} s"


def serves(server: Server) -> None:
    """The server is healthy and takes a message."""
    assert httpx.get(f"{server.url}/health", timeout=HANG_GUARD).json()["status"] == "ok"
    response = httpx.post(
        f"{server.url}/messages",
        content=BODY,
        headers={"content-type": "application/json"},
        timeout=HANG_GUARD,
    )
    assert response.status_code == 202


def test_silent_connection_gets_408(serve: Serve) -> None:
    with serve(DEADLINE) as server:
        with connect(server) as sock:
            raw = read_all(sock)  # returns once the server has closed the connection
        status, headers, body = answer(raw)
        assert status == 408
        assert body["error"] == "request_timeout"
        assert body["detail"] == "the request did not arrive whole within 1 s"
        assert headers["connection"] == "close"
        serves(server)


def test_trickled_headers_get_408(serve: Serve) -> None:
    # Header lines that never end the head: only the deadline stops the client.
    head = b"POST /messages HTTP/1.1\r\nHost: rockets\r\nContent-Type: application/json\r\n"
    padding = (b"X-Padding: %d\r\n" % n for n in range(1_000_000))
    data = (bytes([b]) for chunk in (head, *padding) for b in chunk)
    with serve(DEADLINE) as server:
        with connect(server) as sock:
            trickle(sock, data, pause=0.05)
            status, headers, body = answer(read_all(sock))
        assert status == 408
        assert headers["connection"] == "close"
        assert "did not arrive whole" in str(body["detail"])
        serves(server)


def test_trickled_body_gets_408_and_nothing_is_stored(serve: Serve) -> None:
    # A valid message padded with whitespace so long that no trickle finishes it.
    padded = BODY[:-1] + b" " * 1_000_000 + b"}"
    head = (
        b"POST /messages HTTP/1.1\r\nHost: rockets\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(padded)).encode() + b"\r\n\r\n"
    )
    with serve(DEADLINE) as server:
        with connect(server) as sock:
            sock.sendall(head)
            trickle(sock, (bytes([b]) for b in padded), pause=0.05)
            status, headers, _ = answer(read_all(sock))
        assert status == 408
        assert headers["connection"] == "close"
        assert httpx.get(f"{server.url}/rockets/slow", timeout=HANG_GUARD).status_code == 404
        serves(server)
        assert httpx.get(f"{server.url}/rockets/slow", timeout=HANG_GUARD).status_code == 200


def test_idle_keep_alive_connection_is_closed(serve: Serve) -> None:
    # No request deadline comes near: the close can only be the keep-alive timeout's.
    with serve({**PATIENT, "ROCKETS_KEEP_ALIVE_TIMEOUT": "1"}) as server:
        with connect(server) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: rockets\r\n\r\n")
            first = read_response(sock)
            assert first.startswith(b"HTTP/1.1 200")
            assert b"connection: close" not in first.lower()  # kept alive...
            assert read_all(sock) == b""  # ...until the server closes it, without a word
        serves(server)


def test_connections_beyond_the_cap_get_503_with_retry_after(serve: Serve) -> None:
    with serve({**PATIENT, "ROCKETS_MAX_CONNECTIONS": "8"}) as server:
        idle = [connect(server) for _ in range(8)]
        try:
            for sock in idle:  # each answered: the server counts it among its connections
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: rockets\r\n\r\n")
                assert read_response(sock).startswith(b"HTTP/1.1 200")
            with connect(server) as extra:
                status, headers, body = answer(read_all(extra))
            assert status == 503
            assert headers["retry-after"] == "1"
            assert headers["connection"] == "close"
            assert body["error"] == "unavailable"
            for sock in idle:  # hang up, and wait for the server to have let go
                sock.shutdown(socket.SHUT_WR)
                assert read_all(sock) == b""
        finally:
            for sock in idle:
                sock.close()
        # The server closes its side only after forgetting the connection, so all 8 places
        # are free again.
        serves(server)


def test_every_operation_declares_the_408_a_half_request_gets(serve: Serve) -> None:
    """What the OpenAPI document says of a request that does not arrive whole, against what
    the server answers on each of its paths (tests/unit/test_openapi.py checks every other
    status; this one needs the server's own deadline)."""
    with serve(DEADLINE) as server:
        document = httpx.get(f"{server.url}/schema/openapi.json", timeout=HANG_GUARD).json()
        operations = [
            (method, template)
            for template, methods in document["paths"].items()
            for method in methods
        ]
        # All at once: each waits for the one deadline, not one after the other.
        socks = []
        for method, template in operations:
            sock = connect(server)
            path = template.replace("{channel}", "r").encode()
            sock.sendall(method.upper().encode() + b" " + path + b" HTTP/1.1\r\nHost: x\r\n")
            socks.append(sock)
        for (method, template), sock in zip(operations, socks, strict=True):
            with sock:
                status, headers, body = answer(read_all(sock))
            assert status == 408, (method, template)
            declared = document["paths"][template][method]["responses"]["408"]
            assert headers["content-type"] in declared["content"], (method, template)
            assert body["error"] == "request_timeout"
        serves(server)

"""Slow and greedy clients against the real server process (uvicorn has no deadlines of its own)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from ..server import BIN, Server, free_port, running

BODY = b'{"metadata": {"channel": "slow", "messageType": "RocketExploded"}, "message": {"reason": "x"}}'


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    port = free_port()
    env = {
        "ROCKETS_REQUEST_TIMEOUT": "1",
        "ROCKETS_KEEP_ALIVE_TIMEOUT": "1",
        "ROCKETS_MAX_CONNECTIONS": "8",
    }
    with running([str(BIN / "rockets"), "serve", "--port", str(port)], port, env=env) as started:
        yield started


def connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def read_response(sock: socket.socket) -> bytes:
    """One whole response (headers and Content-Length bytes of body), leaving the socket open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
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


def trickle(sock: socket.socket, data: bytes, pause: float) -> None:
    for i in range(len(data)):
        try:
            sock.sendall(data[i : i + 1])
        except OSError:
            return  # the server hung up: that is the point
        time.sleep(pause)


def test_silent_connection_gets_408(server: Server) -> None:
    started = time.monotonic()
    with connect(server) as sock:
        status, headers, body = answer(read_all(sock))
    assert status == 408
    assert body["error"] == "request_timeout"
    assert headers["connection"] == "close"
    assert 0.9 < time.monotonic() - started < 5


def test_trickled_headers_get_408(server: Server) -> None:
    head = b"POST /messages HTTP/1.1\r\nHost: rockets\r\nContent-Type: application/json\r\n"
    with connect(server) as sock:
        trickle(sock, head, pause=0.2)
        status, _, body = answer(read_all(sock))
    assert status == 408
    assert "did not arrive whole" in str(body["detail"])


def test_trickled_body_gets_408_and_nothing_is_stored(server: Server) -> None:
    head = (
        b"POST /messages HTTP/1.1\r\nHost: rockets\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n"
    )
    with connect(server) as sock:
        sock.sendall(head)
        trickle(sock, BODY, pause=0.3)
        status, _, _ = answer(read_all(sock))
    assert status == 408
    assert httpx.get(f"{server.url}/rockets/slow").status_code == 404


def test_idle_keep_alive_connection_is_closed(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: rockets\r\n\r\n")
        first = read_response(sock)
        assert first.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert read_all(sock) == b""  # closed by the server after the keep-alive timeout
        assert time.monotonic() - started < 5


def test_connections_beyond_the_cap_get_503_with_retry_after(server: Server) -> None:
    idle = [connect(server) for _ in range(8)]
    try:
        time.sleep(0.2)
        with connect(server) as extra:
            status, headers, body = answer(read_all(extra))
        assert status == 503
        assert headers["retry-after"] == "1"
        assert body["error"] == "unavailable"
    finally:
        for sock in idle:
            sock.close()


def test_the_server_is_healthy_afterwards(server: Server) -> None:
    time.sleep(1.5)  # every idle connection of the other tests has timed out
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    response = httpx.post(
        f"{server.url}/messages", content=BODY, headers={"content-type": "application/json"}
    )
    assert response.status_code == 202

"""The bad-input battery against the real server: every case gets its documented 4xx, nothing
changes, and the server is healthy afterwards."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager

import httpx
import pytest

from ..server import BIN, Server, free_port, running

JSON = {"content-type": "application/json"}


def envelope(message: object, **metadata: object) -> bytes:
    return json.dumps(
        {
            "metadata": {"channel": "bad", "messageType": "RocketSpeedIncreased", **metadata},
            "message": message,
        }
    ).encode()


LAUNCH = {"type": "F9", "launchSpeed": 1, "mission": "M"}
DEEP = b"[" * 200_000 + b"]" * 200_000

CASES: list[tuple[str, bytes, dict[str, str], int, str]] = [
    # name, body, headers, status, error
    ("empty body", b"", JSON, 400, "malformed_json"),
    ("truncated", b'{"metadata": {"messageType": "RocketExploded"', JSON, 400, "malformed_json"),
    ("trailing garbage", envelope({"by": 1}) + b"}}", JSON, 400, "malformed_json"),
    ("single quotes", b"{'metadata': {}}", JSON, 400, "malformed_json"),
    ("NaN", envelope({"by": 1}).replace(b'"by": 1', b'"by": NaN'), JSON, 400, "malformed_json"),
    (
        "invalid UTF-8",
        b'{"metadata": {"messageType": "\xff\xfe"}, "message": {}}',
        JSON,
        400,
        "malformed_json",
    ),
    ("a string", b'"hello"', JSON, 400, "invalid_message"),
    ("a number", b"42", JSON, 400, "invalid_message"),
    ("null", b"null", JSON, 400, "invalid_message"),
    ("empty batch", b"[]", JSON, 400, "invalid_message"),
    (
        "batch of 1001",
        b"[" + b",".join([envelope({"by": 1})] * 1001) + b"]",
        JSON,
        400,
        "invalid_message",
    ),
    (
        "batch with one bad",
        b"[" + envelope({"by": 1}) + b"," + envelope({"by": -1}) + b"]",
        JSON,
        400,
        "invalid_message",
    ),
    ("metadata missing", b'{"message": {"by": 1}}', JSON, 400, "invalid_message"),
    (
        "message missing",
        b'{"metadata": {"messageType": "RocketExploded"}}',
        JSON,
        400,
        "invalid_message",
    ),
    ("type missing", b'{"metadata": {}, "message": {}}', JSON, 400, "invalid_message"),
    (
        "unknown type",
        envelope({}, messageType="RocketTeleported"),
        JSON,
        400,
        "unknown_message_type",
    ),
    ("type is a number", envelope({}, messageType=7), JSON, 400, "invalid_message"),
    ("by is a string", envelope({"by": "1"}), JSON, 400, "invalid_message"),
    ("by is a float", envelope({"by": 1.0}), JSON, 400, "invalid_message"),
    ("by is a bool", envelope({"by": True}), JSON, 400, "invalid_message"),
    ("by is negative", envelope({"by": -1}), JSON, 400, "invalid_message"),
    ("by is huge", envelope({"by": 2**64}), JSON, 400, "invalid_message"),
    ("by is null", envelope({"by": None}), JSON, 400, "invalid_message"),
    ("payload not an object", envelope([1, 2]), JSON, 400, "invalid_message"),
    (
        "launchSpeed negative",
        envelope({**LAUNCH, "launchSpeed": -5}, messageType="RocketLaunched"),
        JSON,
        400,
        "invalid_message",
    ),
    (
        "mission too long",
        envelope({**LAUNCH, "mission": "m" * 1000}, messageType="RocketLaunched"),
        JSON,
        400,
        "invalid_message",
    ),
    (
        "NUL in a string",
        envelope({"reason": "a\u0000b"}, messageType="RocketExploded"),
        JSON,
        400,
        "invalid_message",
    ),
    ("number is a string", envelope({"by": 1}, messageNumber="3"), JSON, 400, "invalid_message"),
    ("number too large", envelope({"by": 1}, messageNumber=2**53), JSON, 400, "invalid_message"),
    ("channel with a slash", envelope({"by": 1}, channel="a/b"), JSON, 400, "invalid_message"),
    ("channel too long", envelope({"by": 1}, channel="c" * 129), JSON, 400, "invalid_message"),
    ("channel with a newline", envelope({"by": 1}, channel="a\nb"), JSON, 400, "invalid_message"),
    ("time is a number", envelope({"by": 1}, messageTime=12345), JSON, 400, "invalid_message"),
    (
        "metadata twice",
        envelope({"by": 1})[:-1]
        + b', "metadata": {"channel": "other", "messageType": "RocketSpeedIncreased"}}',
        JSON,
        400,
        "malformed_json",
    ),
    (
        "channel with a bidi override",
        envelope({"by": 1}, channel="a\u202eb"),
        JSON,
        400,
        "invalid_message",
    ),
    (
        "deep nesting in message",
        b'{"metadata": {"messageType": "RocketExploded"}, "message": ' + DEEP + b"}",
        JSON,
        400,
        "malformed_json",
    ),
    (
        "deep nesting in metadata",
        b'{"metadata": {"x": '
        + DEEP
        + b', "messageType": "RocketExploded"}, "message": {"reason": "r"}}',
        JSON,
        400,
        "malformed_json",
    ),
    (
        "body over 1 MiB",
        envelope({"reason": "r" * (1024 * 1024)}, messageType="RocketExploded"),
        JSON,
        413,
        "too_large",
    ),
    (
        "text/plain",
        envelope({"by": 1}),
        {"content-type": "text/plain"},
        415,
        "unsupported_media_type",
    ),
    (
        "form",
        b"by=1",
        {"content-type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
    ),
    (
        "multipart",
        b"--x--",
        {"content-type": "multipart/form-data; boundary=x"},
        415,
        "unsupported_media_type",
    ),
]


HANG_GUARD = 30.0
"""Seconds a client waits for the server before the test fails: a guard, never the verdict."""


def serve(env: dict[str, str] | None = None) -> AbstractContextManager[Server]:
    port = free_port()
    return running([str(BIN / "rockets"), "serve", "--port", str(port)], port, env=env)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """The battery's server, with the default request deadline (no case comes near it)."""
    with serve() as started:
        yield started


@pytest.mark.parametrize(
    ("name", "body", "headers", "status", "error"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_message(
    server: Server, name: str, body: bytes, headers: dict[str, str], status: int, error: str
) -> None:
    response = httpx.post(f"{server.url}/messages", content=body, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["status"] == status
    assert answer["error"] == error
    assert answer["detail"]
    assert "Traceback" not in response.text
    assert "/rockets/" not in answer["detail"]  # no internal paths


def test_body_over_the_limit_without_a_length(server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    response = httpx.post(f"{server.url}/messages", content=chunks(), headers=JSON, timeout=30)
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("DELETE", "/rockets", 405),
        ("PUT", "/messages", 405),
        ("GET", "/rockets?limit=-1", 400),
        ("GET", "/rockets?sort=%00", 400),
        ("GET", "/rockets/x/events?from=0", 400),
        ("GET", "/rockets/x?at=abc", 400),
        ("GET", "/rockets/a%00b", 400),
        ("GET", "/rockets/a%E2%80%AEb/events", 400),
        ("GET", "/rockets?mission=a%00b", 400),
        ("GET", "/rockets?offset=9223372036854775808", 400),
        ("GET", "/rockets?limit=1e3", 400),
        ("GET", "/stream?channel=a%C2%85", 400),
        ("GET", "/dashboard/x%00", 404),
        ("HEAD", "/rockets/nobody", 404),
    ],
)
def test_bad_request_lines(server: Server, method: str, path: str, status: int) -> None:
    response = httpx.request(method, f"{server.url}{path}")
    assert response.status_code == status
    if method != "HEAD":
        assert response.json()["status"] == status


@pytest.mark.parametrize("path", ["/health", "/rockets", "/", "/dashboard/app.js"])
def test_head_gets_the_headers_of_get_and_no_body(server: Server, path: str) -> None:
    got = httpx.get(f"{server.url}{path}")
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=HANG_GUARD) as sock:
        sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b""  # the connection closed after the head
    assert f"content-length: {got.headers['content-length']}".encode() in head.lower()


def test_garbage_instead_of_http(server: Server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00 definitely not HTTP\r\n\r\n")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400")


def test_trickled_request_gets_408() -> None:
    # A server of its own, with a short deadline for a request to arrive whole.
    with serve({"ROCKETS_REQUEST_TIMEOUT": "1"}) as server:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=HANG_GUARD) as sock:
            # Header lines that never end the head, a byte every 0.1 s until the server answers:
            # the pause only paces the sender, the head is never whole whatever the pace.
            head = b"POST /messages HTTP/1.1\r\nHost: x\r\n" + b"".join(
                b"X-Padding: %d\r\n" % n for n in range(10_000)
            )
            deadline = time.monotonic() + HANG_GUARD  # a hang guard only
            for byte in head:
                answered, _, _ = select.select([sock], [], [], 0.1)
                if answered:
                    break  # the server has answered, or hung up
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    break
                assert time.monotonic() < deadline, f"still trickling after {HANG_GUARD} s"
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408")
        assert httpx.get(f"{server.url}/health").json()["status"] == "ok"


def test_nothing_changed_and_the_server_is_healthy() -> None:
    # The whole battery against a server of its own, whatever ran before or runs after.
    with serve() as server:
        for name, body, headers, status, _ in CASES:
            response = httpx.post(
                f"{server.url}/messages", content=body, headers=headers, timeout=HANG_GUARD
            )
            assert response.status_code == status, name
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=HANG_GUARD) as sock:
            sock.sendall(b"\x16\x03\x01\x02\x00 definitely not HTTP\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 400")
        assert httpx.get(f"{server.url}/rockets").json() == []
        assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
        ok = httpx.post(f"{server.url}/messages", content=envelope({"by": 1}), headers=JSON)
        assert ok.status_code == 202
        assert [r["channel"] for r in httpx.get(f"{server.url}/rockets").json()] == ["bad"]

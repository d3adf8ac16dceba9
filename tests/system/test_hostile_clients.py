"""Clients that try to take more than their share: huge headers, answers they never read,
streams they never close, and a stop while a stream is stuck. Each against a real server."""

from __future__ import annotations

import re
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import msgspec
import pytest

from ..conftest import ROOT
from ..server import BIN, Server, free_port, running

GUARD = 60  # seconds: only turns a hang into a failure, never decides a verdict
HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


def serve(port: int) -> list[str]:
    return [str(BIN / "rockets"), "serve", "--port", str(port)]


def litestar_run(port: int) -> list[str]:
    return [str(BIN / "litestar"), "run", "--port", str(port)]


SERVERS = {"rockets serve": serve, "litestar run": litestar_run}
LITESTAR_ENV = {"LITESTAR_APP": "rockets.app:create_app"}


@contextmanager
def server_of(kind: str, **env: str) -> Iterator[Server]:
    port = free_port()
    with running(SERVERS[kind](port), port, env={**LITESTAR_ENV, **env}, cwd=ROOT) as server:
        yield server


def connect(server: Server, source: str = "127.0.0.1", rcvbuf: int | None = None) -> socket.socket:
    """A raw connection from ``source`` (any 127.x address is this machine), with a small
    receive buffer when the test means not to read."""
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.settimeout(GUARD)
    sock.connect((host, int(port)))
    return sock


def answer_of(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one whole answer (Content-Length) or until the server closes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "-1"))
    while length >= 0 and len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split(" ")[1]), headers, body


def metric(server: Server, name: str, **labels: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=GUARD).text
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(name) and wanted in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# --- 1. headers -------------------------------------------------------------------------------


def test_a_huge_header_gets_431_before_it_is_buffered() -> None:
    with server_of("rockets serve") as server:
        before = server.rss_mb()
        sock = connect(server)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        refused = None
        # Up to 8 MB of one header line: the server must answer before taking it all.
        for _ in range(128):
            try:
                sock.sendall(b"a" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                break
        status, headers, body = answer_of(sock)
        refused = status
        sock.close()
        assert refused == 431
        assert msgspec.json.decode(body)["error"] == "too_large"
        assert headers["connection"] == "close"
        assert server.rss_mb() - before < 20
        assert httpx.get(f"{server.url}/health").status_code == 200


def test_a_large_head_in_one_read_gets_431() -> None:
    with server_of("rockets serve") as server:
        sock = connect(server)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 60_000 + b"\r\n\r\n")
        status, _, body = answer_of(sock)
        sock.close()
        assert status == 431
        assert msgspec.json.decode(body)["error"] == "too_large"


@pytest.mark.parametrize("kind", SERVERS)
def test_too_many_header_fields_get_431_under_both_servers(kind: str) -> None:
    with server_of(kind, ROCKETS_MAX_HEADERS="20") as server:
        fields = "".join(f"X-F{i}: {i}\r\n" for i in range(40))
        sock = connect(server)
        sock.sendall(f"GET /rockets HTTP/1.1\r\nHost: x\r\n{fields}\r\n".encode())
        status, headers, body = answer_of(sock)
        sock.close()
        assert status == 431
        assert msgspec.json.decode(body)["error"] == "too_large"
        assert headers["x-request-id"]
        assert httpx.get(f"{server.url}/rockets").status_code == 200


@pytest.mark.parametrize(
    ("request_line", "status", "error"),
    [
        (b"GET /\x00 HTTP/1.1", 400, "bad_request"),
        (b"GET /rockets?x=" + b"a" * 100_000 + b" HTTP/1.1", 431, "too_large"),
    ],
    ids=["NUL in the path", "a 100 KB URL"],
)
def test_a_request_uvicorn_would_refuse_in_plain_text_gets_json(
    request_line: bytes, status: int, error: str
) -> None:
    with server_of("rockets serve") as server:
        sock = connect(server)
        sock.sendall(request_line + b"\r\nHost: x\r\n\r\n")
        answered, headers, body = answer_of(sock)
        sock.close()
        assert answered == status
        assert headers["content-type"] == "application/json"
        assert msgspec.json.decode(body)["error"] == error


# --- 2. answers and streams nobody reads ------------------------------------------------------


def fill(server: Server, rockets: int) -> None:
    with httpx.Client(base_url=server.url, timeout=GUARD) as client:
        for first in range(0, rockets, 1000):
            batch = [
                {
                    "metadata": {
                        "channel": f"r{n:06d}",
                        "messageNumber": 1,
                        "messageType": "RocketLaunched",
                    },
                    "message": {"type": "Falcon-9", "launchSpeed": n, "mission": "ARTEMIS"},
                }
                for n in range(first, min(first + 1000, rockets))
            ]
            assert client.post("/messages", json=batch).status_code == 202


def test_listings_nobody_reads_do_not_take_memory() -> None:
    readers = 20
    with server_of("rockets serve") as server:
        fill(server, 100_000)  # a listing of about 24 MB
        before = server.rss_mb()
        socks = []
        for _ in range(readers):
            sock = connect(server, rcvbuf=4096)
            sock.sendall(b"GET /rockets HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(sock)
        for sock in socks:
            # Every answer has begun: the server has written what it would write unread.
            assert sock.recv(1, socket.MSG_PEEK) == b"H"
        during = server.rss_mb()
        for sock in socks:
            sock.close()
        in_progress = {"method": "GET", "path": "/rockets"}
        while metric(server, "rockets_http_requests_in_progress", **in_progress) > 0:
            pass
        # Written whole, each answer would hold about 24 MB until read.
        assert during - before < 100, (before, during)
        assert httpx.get(f"{server.url}/health").status_code == 200


def test_a_stream_subscriber_that_does_not_read_holds_one_piece() -> None:
    with server_of("rockets serve", ROCKETS_MAX_STREAMS_PER_CLIENT="50") as server:
        fill(server, 10_000)  # 10,000 events in the stream's history
        epoch = stream_epoch(server)
        before = server.rss_mb()
        socks = []
        for _ in range(40):
            sock = connect(server, rcvbuf=4096)
            # Resuming from the start of this run: every kept event is owed to it.
            sock.sendall(
                f"GET /stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: {epoch}-0\r\n\r\n".encode()
            )
            socks.append(sock)
        while metric(server, "rockets_stream_subscribers") < 40:
            pass
        during = server.rss_mb()
        for sock in socks:
            sock.close()
        while metric(server, "rockets_stream_subscribers") > 0:
            pass
        # Each owes about 4 MB of events; one piece of 100 is about 40 KB.
        assert during - before < 60, (before, during)


def stream_epoch(server: Server) -> str:
    """The run's epoch: the first part of the id of an event the stream shows."""
    with httpx.stream("GET", f"{server.url}/stream", timeout=GUARD) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("retry:")  # subscribed: what comes next is live
        launched = {
            "metadata": {"channel": "epoch", "messageNumber": 1, "messageType": "RocketLaunched"},
            "message": {"type": "t", "launchSpeed": 1, "mission": "m"},
        }
        assert httpx.post(f"{server.url}/messages", json=launched).status_code == 202
        for line in lines:
            if line.startswith("id: "):
                return line.removeprefix("id: ").rsplit("-", 1)[0]
    raise AssertionError("no event on the stream")


# --- 3. streams have a bound of their own -----------------------------------------------------


@pytest.mark.parametrize("kind", SERVERS)
def test_streams_are_bounded_per_client_and_in_all(kind: str) -> None:
    env = {"ROCKETS_MAX_STREAMS": "6", "ROCKETS_MAX_STREAMS_PER_CLIENT": "4"}
    with server_of(kind, **env) as server:
        held = []

        def open_stream(source: str) -> tuple[int, dict[str, str], bytes]:
            sock = connect(server, source)
            sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            held.append(sock)
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
            return int(lines[0].split(" ")[1]), headers, body

        try:
            assert [open_stream("127.0.0.2")[0] for _ in range(4)] == [200] * 4
            status, headers, _ = open_stream("127.0.0.2")
            assert (status, headers["retry-after"], headers["connection"]) == (503, "1", "close")
            assert [open_stream("127.0.0.3")[0] for _ in range(2)] == [200] * 2
            status, _, _ = open_stream("127.0.0.4")  # six open in all
            assert status == 503
            # Ingest and reads keep their share.
            assert httpx.get(f"{server.url}/health").status_code == 200
            assert httpx.get(f"{server.url}/rockets").status_code == 200
        finally:
            for sock in held:
                sock.close()
        while metric(server, "rockets_stream_subscribers") > 0:
            pass
        assert open_stream("127.0.0.2")[0] == 200
        held[-1].close()


# --- 5. a stop while a stream is stuck --------------------------------------------------------


@pytest.mark.parametrize("kind", SERVERS)
def test_a_stop_ends_a_stuck_stream_at_once(kind: str) -> None:
    # A graceful shutdown that waited for the stuck stream would wait for this long.
    with server_of(kind, ROCKETS_SHUTDOWN_TIMEOUT="600") as server:
        stuck = connect(server, rcvbuf=4096)
        stuck.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        while metric(server, "rockets_stream_subscribers") < 1:
            pass
        fill(server, 20_000)  # some 8 MB of events for a client that reads none of them
        server.process.send_signal(signal.SIGTERM)
        code, output = server.stop(timeout=GUARD)
        stuck.close()
    assert code in (0, -signal.SIGTERM), output
    assert "Traceback" not in output, output


# --- 11. tokens stay out of the access log ----------------------------------------------------


def test_the_read_token_in_a_query_is_not_logged() -> None:
    port = free_port()
    command = [*serve(port), "--access-log"]
    env = {"ROCKETS_READ_TOKEN": "s3cr3t-read"}
    with running(command, port, env=env) as server:
        assert httpx.get(f"{server.url}/rockets?access_token=s3cr3t-read").status_code == 200
        assert httpx.get(f"{server.url}/rockets?limit=1&access_token=wrong").status_code == 401
        _, output = server.stop()
    assert "s3cr3t-read" not in output
    assert re.search(r"GET /rockets\?access_token=\[redacted\]", output), output

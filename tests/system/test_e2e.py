"""End to end: the real server process, over real HTTP."""

from __future__ import annotations

import asyncio
import random
import signal
import socket
import subprocess

import httpx
import pytest

from ..conftest import ROOT
from ..histories import Message, api_fields, deliveries, expected, history
from ..server import BIN, free_port, running

ROCKETS = 120
MAX_MESSAGES = 40


async def post_all(url: str, traffic: list[Message], concurrency: int) -> list[int]:
    """Post ``traffic`` from ``concurrency`` concurrent senders, mixing single messages and
    small batches; return every status code."""
    queue: asyncio.Queue[list[Message]] = asyncio.Queue()
    rng = random.Random(5)
    i = 0
    while i < len(traffic):
        size = rng.choice([1, 1, 1, 5, 20])
        queue.put_nowait(traffic[i : i + size])
        i += size
    codes: list[int] = []

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            chunk = queue.get_nowait()
            body = [m.json() for m in chunk] if len(chunk) > 1 else chunk[0].json()
            codes.append((await client.post(f"{url}/messages", json=body)).status_code)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
    return codes


def test_real_server_applies_a_shuffled_duplicated_history() -> None:
    rng = random.Random(2022)
    lives = {
        f"e2e-{i:03d}": history(rng, f"e2e-{i:03d}", rng.randrange(1, MAX_MESSAGES + 1))
        for i in range(ROCKETS)
    }
    sent = [m for life in lives.values() for m in life]
    traffic = deliveries(rng, sent, duplicate_rate=0.3)
    port = free_port()
    with running([str(BIN / "rockets"), "serve", "--port", str(port)], port) as server:
        codes = asyncio.run(post_all(server.url, traffic, concurrency=16))
        assert set(codes) == {202}
        listing = httpx.get(f"{server.url}/rockets", timeout=10)
        assert listing.headers["x-total-count"] == str(ROCKETS)
        states = {s["channel"]: s for s in listing.json()}
        for channel, life in lives.items():
            assert api_fields(states[channel]) == expected(life).as_api(channel)
            assert states[channel]["pending"] == 0
            events = httpx.get(f"{server.url}/rockets/{channel}/events", timeout=10).json()
            assert [(e["messageNumber"], e["message"]) for e in events] == [
                (m.number, m.payload) for m in life
            ]
        code, output = server.stop(signal.SIGTERM)
    # uvicorn shuts down gracefully, then exits by the signal it received.
    assert code in (0, -signal.SIGTERM), output
    assert "rockets stopping: applying" in output
    assert f"rockets stopped: {ROCKETS} rockets" in output
    print(f"e2e: {ROCKETS} rockets, {len(sent)} messages, {len(traffic)} deliveries")


def test_sigint_also_shuts_down_cleanly() -> None:
    port = free_port()
    with running(
        [str(BIN / "rockets"), "serve", "--port", str(port), "--workers", "1"], port
    ) as server:
        assert httpx.get(f"{server.url}/health").json()["workers"] == 1
        code, output = server.stop(signal.SIGINT)
    assert code in (0, -signal.SIGINT), output
    assert "rockets stopped" in output


def test_bad_configuration_stops_with_a_clear_message() -> None:
    result = serve_command("--store", "redis://nowhere")
    assert result.returncode == 2
    assert "unknown store scheme 'redis'" in result.stderr


def serve_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "rockets"), "serve", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_a_port_out_of_range_stops_the_start_in_one_line(port: str) -> None:
    result = serve_command("--port", port)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("rockets serve: argument --port: "), line
    assert "rockets started" not in result.stdout + result.stderr


def test_a_port_in_use_stops_the_start_before_ready_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve_command("--port", str(port))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"rockets: cannot start: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert result.stdout == ""


def litestar_env(port: int, **extra: str) -> dict[str, str]:
    """The environment of ``litestar run`` in the repository root: what its .env file says.

    `litestar run` finds the app through the repository's .env file (python-dotenv loads it
    when the virtual environment is ./.venv). The same file is read here, so that the tests
    also hold in a virtual environment that lives elsewhere.
    """
    env = dict(
        line.split("=", 1)
        for line in (ROOT / ".env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert env["LITESTAR_PORT"] == "8088"
    return {**env, "LITESTAR_PORT": str(port), **extra}


def test_litestar_run_in_the_repo_root_serves_the_app() -> None:
    port = free_port()
    env = litestar_env(port)
    with running([str(BIN / "litestar"), "run"], port, env=env, cwd=ROOT) as server:
        health = httpx.get(f"{server.url}/health").json()
        assert health["status"] == "ok"
        assert "RocketLaunched" in health["messageTypes"]
        code, output = server.stop()
    assert code in (0, -signal.SIGTERM), output


def test_litestar_run_serves_the_same_front_door() -> None:
    """Under `litestar run`, POST /messages is answered by the app's own entry point (counted
    by its metrics), with the edge rules of `rockets serve`: a body that trickles in past the
    request deadline gets 408 from the ASGI-level deadline."""
    port = free_port()
    env = litestar_env(port, ROCKETS_REQUEST_TIMEOUT="1")
    with running([str(BIN / "litestar"), "run"], port, env=env, cwd=ROOT) as server:
        launched = {
            "metadata": {"channel": "door", "messageNumber": 1, "messageType": "RocketLaunched"},
            "message": {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"},
        }
        answer = httpx.post(f"{server.url}/messages", json=launched)
        assert answer.status_code == 202
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-request-id"]
        metrics = httpx.get(f"{server.url}/metrics").text
        ingest = 'rockets_http_requests_total{method="POST",path="/messages",status_code="202"}'
        assert f"{ingest} 1.0" in metrics
        with socket.create_connection(("127.0.0.1", port)) as sock:
            # The timeout only turns a hang into a failure: the verdict is the answer itself.
            sock.settimeout(30)
            sock.sendall(
                b"POST /messages HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                b"content-length: 100\r\n\r\n" + b'{"metadata": '
            )
            received = b""
            while b"\r\n\r\n" not in received or not received.endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), received
        assert b'"error":"request_timeout"' in body
        assert httpx.get(f"{server.url}/rockets/door").json()["speed"] == 500
        code, output = server.stop()
    assert code in (0, -signal.SIGTERM), output


def rockets_lines(output: str) -> list[str]:
    """The lines of the rockets logger a server wrote as it started and stopped."""
    return [
        line for line in output.splitlines() if "rockets started" in line or "rockets stop" in line
    ]


def test_rockets_lines_look_alike_under_both_servers() -> None:
    """The app gives the rockets logger the handler rockets serve gives it, so `litestar run`
    (which writes other loggers' lines in Litestar's format) writes them alike."""
    outputs = []
    port = free_port()
    with running([str(BIN / "rockets"), "serve", "--port", str(port)], port) as server:
        outputs.append(server.stop()[1])
    port = free_port()
    with running([str(BIN / "litestar"), "run"], port, env=litestar_env(port), cwd=ROOT) as server:
        outputs.append(server.stop()[1])
    served, run = (rockets_lines(output) for output in outputs)
    assert served == run, outputs
    assert served[0].startswith(
        "INFO:     rockets started: memory store (0 messages recovered, 0 rockets), 3 workers,"
    )
    assert served[-1] == "INFO:     rockets stopped: 0 rockets"

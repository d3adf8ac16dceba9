"""Shared pieces of the benchmarks: starting servers, driving them with wrk, reading results."""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from tests.server import BIN, Server, free_port, running

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA = HERE / "post_messages.lua"


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian's packages when missing (needs root)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing it from the distribution's packages", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


def serving(
    command: Sequence[str], port: int, env: dict[str, str] | None = None
) -> AbstractContextManager[Server]:
    """Run a server until the block ends, once it answers; its output is not kept."""
    return running(command, port, env=env, cwd=ROOT, timeout=60, quiet=True)


class RawHTTP:
    """A bare HTTP/1.1 keep-alive connection, for timings the client should add next to nothing
    to (an httpx client spends about 5 ms just reading a 2.4 MB body)."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host = host
        self.sock = socket.create_connection((host, int(port)))
        self._buffer = b""

    def __enter__(self) -> RawHTTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """The status and body of the answer (sent with a Content-Length, or chunked, as a
        long listing is)."""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode() + body)
        self._buffer = b""
        header = self._until(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        lowered = header.lower()
        if b"transfer-encoding: chunked" in lowered:
            parts = []
            while size := int(self._until(b"\r\n"), 16):
                parts.append(self._take(size))
                self._until(b"\r\n")
            self._until(b"\r\n")
            return status, b"".join(parts)
        length = int(lowered.split(b"content-length:")[1].split(b"\r\n")[0])
        return status, self._take(length)

    def _until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            self._buffer += self.sock.recv(1 << 20)
        found, _, self._buffer = self._buffer.partition(marker)
        return found

    def _take(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._buffer += self.sock.recv(1 << 20)
        taken, self._buffer = self._buffer[:size], self._buffer[size:]
        return taken


def rockets_server(port: int, store: str = "memory://", workers: int = 3) -> list[str]:
    return [
        *(str(BIN / "rockets"), "serve", "--port", str(port), "--store", store),
        *("--workers", str(workers), "--log-level", "warning"),
    ]


def litestar_run_server(port: int) -> tuple[list[str], dict[str, str]]:
    """``litestar run`` in the repository root, as a developer starts it: the command and the
    environment its .env file gives (set here too, for a virtual environment elsewhere)."""
    command = [str(BIN / "litestar"), "run", "--port", str(port)]
    return command, {"LITESTAR_APP": "rockets.app:create_app"}


@dataclass
class WrkResult:
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def errors(self) -> int:
        """Answers that were not 2xx, and connections that failed: any makes a rate suspect."""
        return self.non2xx + self.socket_errors

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_RESULT = re.compile(
    r"RESULT requests=(\d+) seconds=([\d.]+) non2xx=(\d+) socket_errors=(\d+) "
    r"p50_us=(\d+) p99_us=(\d+)"
)


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 50,
    threads: int = 1,
    batch: int = 1,
    delay_ms: int = 0,
) -> subprocess.Popen[str]:
    """Start wrk against ``url``/messages; read it with :func:`wrk_result`."""
    return subprocess.Popen(
        [
            ensure_wrk(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            "BATCH": str(batch),
            "DELAY_MS": str(delay_ms),
            "RUN": uuid.uuid4().hex[:12],
        },
    )


def wrk_result(process: subprocess.Popen[str]) -> WrkResult:
    output, _ = process.communicate()
    match = _RESULT.search(output)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    requests, secs, non2xx, errors, p50, p99 = match.groups()
    return WrkResult(
        int(requests), float(secs), int(non2xx), int(errors), int(p50) / 1000, int(p99) / 1000
    )


def paced_delay(urls: Sequence[str], rate: float, connections: int = 50) -> int:
    """The pause (ms) after each answer that keeps ``connections`` connections at about
    ``rate`` requests a second in all: a short run at a first guess tells how long an answer
    takes at that load, and the pause is shortened by that much."""
    rate = max(rate, 1)
    guess = max(1, round(1000 * connections / rate))
    trial = load(urls, seconds=2, connections=connections, delay_ms=guess)
    answer_ms = max(0.0, 1000 * connections / max(trial.rate, 1) - guess)
    return max(1, round(1000 * connections / rate - answer_ms))


def load(
    urls: Sequence[str],
    *,
    seconds: float,
    connections: int = 50,
    batch: int = 1,
    delay_ms: int = 0,
) -> WrkResult:
    """Drive every URL at once (connections split between them; each pausing ``delay_ms``
    between requests); the summed result."""
    each = max(1, connections // len(urls))
    runs = [wrk(u, seconds=seconds, connections=each, batch=batch, delay_ms=delay_ms) for u in urls]
    results = [wrk_result(r) for r in runs]
    return WrkResult(
        requests=sum(r.requests for r in results),
        seconds=max(r.seconds for r in results),
        non2xx=sum(r.non2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
    )


__all__ = [
    "RawHTTP",
    "Row",
    "Server",
    "WrkResult",
    "ensure_wrk",
    "free_port",
    "load",
    "median_reads",
    "paced_delay",
    "rockets_server",
    "serving",
    "wrk",
    "wrk_result",
]


def median_reads(url: str, paths: Mapping[str, str], samples: int) -> dict[str, float]:
    """Median milliseconds of a ``GET`` of each of ``paths`` (by name) over one keep-alive
    connection, after one warm-up each: the reads take turns, sample after sample, so that the
    machine's noise spreads over all of them. Every answer must be a 200."""
    timings: dict[str, list[float]] = {name: [] for name in paths}
    with RawHTTP(url) as http:
        for path in paths.values():
            status, body = http.request("GET", path)  # warm-up
            assert status == 200, body[:200]
        for _ in range(samples):
            for name, path in paths.items():
                started = time.perf_counter()
                status, body = http.request("GET", path)
                timings[name].append((time.perf_counter() - started) * 1000)
                assert status == 200, body[:200]
    return {name: statistics.median(values) for name, values in timings.items()}


@dataclass
class Row:
    """One line of ``make bench``'s table: what was measured, its target, and the verdict."""

    target: str
    measured: str
    wanted: str
    ok: bool | None  # None: reported, no target

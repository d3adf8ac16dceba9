"""The server's memory given large events and no subscriber: 10,000 events of 60 KB of text.

    .venv/bin/python -m benchmarks.memory [--events 10000] [--kb 60] [--store memory sqlite]
    .venv/bin/python -m benchmarks.memory --unread 200 [--events 2000]

A server (``rockets serve``, default settings) loads the drop-in
``benchmarks/large_plugins/notes.py`` (``Note``: free text without a length bound, changing
nothing); one connection posts ``events`` notes of ``kb`` KB each, ten a request, spread over
100 rockets, each request after the answer to the one before. The text is English prose: slices
of this project's own docs (``--noise`` posts random letters instead, which do not compress).
The server's RSS is read before the first post, after every tenth request (the peak is
``during``), and after the last answer and a ``GET /health`` (``after``).

With ``--unread N``, once the events are posted (memory store), N stream subscribers resume from
the first of them and never read (each socket's receive buffer 4 KiB, ten from an address):
RSS before they come, at most while they wait, and after they are gone.

What holds memory: the stream's history (bounded by ``ROCKETS_STREAM_HISTORY_BYTES``, 64 MiB by
default) and, on the memory store, every payload (large ones compressed when they compress,
see ``rockets/stores/packed.py``). Before the history had a byte bound, the memory store went
from 47 to 1,992 MB and SQLite from 49 to 1,409 MB.
"""

from __future__ import annotations

import argparse
import random
import re
import socket
import string
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from benchmarks.harness import HERE, ROOT, RawHTTP, free_port, rockets_server, serving

__all__ = ["TARGET_MB", "Memory", "measure", "unread_streams"]

PLUGINS = HERE / "large_plugins"
TARGET_MB = 400.0
"""The most RSS the server may reach over the whole run (issue 22)."""
PER_REQUEST = 10
"""Notes a request carries: 600 KB, within the 1 MiB body bound."""
ROCKETS = 100
SAMPLE_EVERY = 10
"""Requests between two readings of the RSS."""
PER_ADDRESS = 10
"""Streams opened from one address (``ROCKETS_MAX_STREAMS_PER_CLIENT`` is 16)."""


@dataclass
class Memory:
    """What one run measured (MB are MiB, as ``/proc`` counts them)."""

    store: str
    events: int
    payload_mb: float
    """The payloads posted, together."""
    before_mb: float
    during_mb: float
    """The highest RSS read while posting."""
    after_mb: float
    seconds: float
    """From the first post to the last answer."""
    cpu_seconds: float
    """The server's CPU time over the same span."""

    @property
    def ok(self) -> bool:
        return max(self.during_mb, self.after_mb) <= TARGET_MB


def _corpus(noise: bool) -> str:
    if noise:
        letters = string.ascii_letters + string.digits
        return "".join(random.Random(22).choices(letters, k=1_000_000))
    return "\n".join(path.read_text() for path in sorted((ROOT / "docs").glob("*.md")))


def _bodies(events: int, size: int, noise: bool) -> list[bytes]:
    corpus = _corpus(noise)
    if len(corpus) <= size:
        raise SystemExit(f"the text to slice holds {len(corpus):,} characters, fewer than {size:,}")
    bodies = []
    for first in range(0, events, PER_REQUEST):
        notes = []
        for n in range(first, min(first + PER_REQUEST, events)):
            start = n * 7919 % (len(corpus) - size)  # a different slice for every note
            metadata = {
                "channel": f"notes-{n % ROCKETS:03d}",
                "messageNumber": n // ROCKETS + 1,
                "messageType": "Note",
            }
            notes.append({"metadata": metadata, "message": {"text": corpus[start : start + size]}})
        bodies.append(msgspec.json.encode(notes))
    return bodies


def measure(
    store: str = "memory", events: int = 10_000, kb: int = 60, noise: bool = False
) -> Memory:
    """Post ``events`` notes of ``kb`` KB to a new server on ``store`` (``memory`` or
    ``sqlite``, in a directory made for the run); its RSS before, during and after."""
    bodies = _bodies(events, kb * 1000, noise)
    port = free_port()
    env = {"ROCKETS_PLUGINS_DIR": str(PLUGINS)}
    with tempfile.TemporaryDirectory() as folder:
        url = "memory://" if store == "memory" else f"sqlite:///{Path(folder) / 'memory.db'}"
        with serving(rockets_server(port, store=url), port, env=env) as server:
            before = during = server.rss_mb()
            cpu = server.cpu_seconds()
            started = time.perf_counter()
            with RawHTTP(server.url) as http:
                for index, body in enumerate(bodies):
                    status, answer = http.request("POST", "/messages", body)
                    assert status == 202, answer[:300]
                    if index % SAMPLE_EVERY == 0:
                        during = max(during, server.rss_mb())
                seconds = time.perf_counter() - started
                cpu = server.cpu_seconds() - cpu
                during = max(during, server.rss_mb())
                status, answer = http.request("GET", "/health")
                assert status == 200, answer[:300]
                after = server.rss_mb()
    # What the payloads weigh: each note's text, as the JSON of its message.
    payload = sum(len(body) for body in bodies) / 2**20
    return Memory(store, events, payload, before, during, after, seconds, cpu)


def unread_streams(subscribers: int = 200, events: int = 2000, kb: int = 60) -> tuple[float, ...]:
    """RSS in MB before, at most during and after ``subscribers`` streams that resume from the
    first of ``events`` notes of ``kb`` KB and never read (memory store)."""
    bodies = _bodies(events, kb * 1000, noise=False)
    port = free_port()
    env = {"ROCKETS_PLUGINS_DIR": str(PLUGINS)}
    with serving(rockets_server(port), port, env=env) as server:
        with RawHTTP(server.url) as http:
            for body in bodies:
                status, answer = http.request("POST", "/messages", body)
                assert status == 202, answer[:300]
        # The run's epoch: a stream from another run is told it with a reset, at once.
        with socket.create_connection(("127.0.0.1", port)) as probe:
            probe.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: other-1\r\n\r\n")
            seen = b""
            while (found := re.search(rb"\nid: (\S+)-\d+\n", seen)) is None:
                seen += probe.recv(4096)
        epoch = found.group(1).decode()
        before = during = server.rss_mb()
        streams = []
        for index in range(subscribers):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            # From addresses of their own: a client may hold only a few streams.
            sock.bind((f"127.0.0.{2 + index // PER_ADDRESS}", 0))
            sock.connect(("127.0.0.1", port))
            sock.sendall(
                f"GET /stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: {epoch}-0\r\n\r\n".encode()
            )
            streams.append(sock)
        server.wait_for_streams(subscribers)
        for _ in range(SAMPLE_EVERY):
            during = max(during, server.rss_mb())
        for sock in streams:
            sock.close()
        while server.streams():
            during = max(during, server.rss_mb())
        return before, during, server.rss_mb()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--kb", type=int, default=60)
    parser.add_argument("--store", nargs="+", default=["memory", "sqlite"])
    parser.add_argument("--noise", action="store_true", help="random letters instead of prose")
    parser.add_argument("--unread", type=int, help="this many streams that never read")
    args = parser.parse_args(argv)
    if args.unread:
        events = 2000 if args.events == 10_000 else args.events
        before, during, after = unread_streams(args.unread, events, args.kb)
        print(
            f"{args.unread} streams resuming over {events:,} events of {args.kb} KB, never read: "
            f"RSS {before:.0f} MB before, {during:.0f} MB at most with them, {after:.0f} MB after"
        )
        return 0
    for store in args.store:
        run = measure(store, args.events, args.kb, args.noise)
        verdict = "ok" if run.ok else "MISSED"
        print(
            f"{store}: {run.events:,} events of {args.kb} KB ({run.payload_mb:,.0f} MB posted): "
            f"RSS {run.before_mb:.0f} MB before, {run.during_mb:.0f} MB at most during, "
            f"{run.after_mb:.0f} MB after (target <= {TARGET_MB:.0f} MB: {verdict}); "
            f"{run.seconds:.1f} s, server CPU {run.cpu_seconds:.1f} s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

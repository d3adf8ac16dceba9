"""A rocket whose state grows with every event, on PostgreSQL: what the database keeps, and how
long the ingest takes.

    .venv/bin/python -m benchmarks.growing_state [--events 200] [--kib 10]

A server loads the drop-in ``benchmarks/growing_plugins/growing_text.py`` (``NoteAppended``
adds its text to the state field ``notes``) on a database made for the run (on the server
``ROCKETS_TEST_POSTGRES_URL`` names, else a throwaway cluster, see tests/pg.py), and one
connection posts ``events`` messages of ``kib`` KiB of random letters to one rocket, one
message a request, each after the answer to the one before: the state grows to ``events x kib``.
The database's size is read after ``VACUUM`` before and after (``VACUUM`` marks dead rows
reusable, it gives no space back to the system), and once more after ``VACUUM FULL`` (what is
kept); then ``GET /rockets/{channel}?at=`` and ``/history`` near the end are timed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import msgspec
import psycopg

from benchmarks.harness import HERE, RawHTTP, free_port, rockets_server, serving
from tests.pg import available, fresh_database, postgres_server

__all__ = ["GrowingState", "measure"]

PLUGINS = HERE / "growing_plugins"
CHANNEL = "growing-1"
_MB = 1024 * 1024


@dataclass
class GrowingState:
    """What one run measured."""

    events: int
    payload_mb: float
    """The payloads posted, together."""
    ingest_seconds: float
    """From the first post to the last answer."""
    grown_mb: float
    """The database's growth, each size read after ``VACUUM``."""
    kept_mb: float
    """The database's growth, the second size read after ``VACUUM FULL``."""
    rss_mb: float
    """The server's resident memory after the ingest."""
    at_ms: float
    """``GET /rockets/{channel}?at=`` a few events before the last, median."""
    history_ms: float
    """``GET /rockets/{channel}/history`` of the last ten events, median."""


def _body(number: int, text: str) -> bytes:
    return msgspec.json.encode(
        {
            "metadata": {
                "channel": CHANNEL,
                "messageNumber": number,
                "messageType": "NoteAppended",
            },
            "message": {"text": text},
        }
    )


def _launch() -> bytes:
    return msgspec.json.encode(
        {
            "metadata": {"channel": CHANNEL, "messageNumber": 1, "messageType": "RocketLaunched"},
            "message": {"type": "Falcon-9", "launchSpeed": 500, "mission": "NOTES"},
        }
    )


def _size(database: str, full: bool = False) -> int:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("VACUUM FULL" if full else "VACUUM")
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    assert row is not None
    return int(row[0])


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _median_ms(http: RawHTTP, path: str, samples: int) -> float:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        status, body = http.request("GET", path)
        times.append((time.perf_counter() - started) * 1000)
        assert status == 200, body[:200]
    return statistics.median(times)


def measure(events: int = 200, kib: int = 10, samples: int = 5) -> GrowingState | None:
    """Ingest ``events`` growing events into one rocket; None when no PostgreSQL server can be
    had."""
    if not available():
        print(
            "  PostgreSQL not measured: set ROCKETS_TEST_POSTGRES_URL to a server's URL, or "
            "install the server (apt-get install postgresql)",
            flush=True,
        )
        return None
    rng = random.Random(22)
    letters = string.ascii_letters + string.digits
    texts = ["".join(rng.choices(letters, k=kib * 1024)) for _ in range(events)]
    with ExitStack() as stack:
        database = stack.enter_context(fresh_database(stack.enter_context(postgres_server())))
        port = free_port()
        env = {"ROCKETS_PLUGINS_DIR": str(PLUGINS)}
        server = stack.enter_context(serving(rockets_server(port, database), port, env=env))
        with RawHTTP(server.url) as http:
            status, body = http.request("POST", "/messages", _launch())
            assert status == 202, body[:200]
            before = _size(database)
            started = time.perf_counter()
            for number, text in enumerate(texts, start=2):
                status, body = http.request("POST", "/messages", _body(number, text))
                assert status == 202, body[:200]
            ingest = time.perf_counter() - started
            rss = _rss_mb(server.process.pid)
            last = events + 1
            at_ms = _median_ms(http, f"/rockets/{CHANNEL}?at={last - 3}", samples)
            history_ms = _median_ms(
                http, f"/rockets/{CHANNEL}/history?from={last - 9}&limit=10", samples
            )
            status, body = http.request("GET", f"/rockets/{CHANNEL}?at={last - 3}")
            notes = msgspec.json.decode(body)["notes"]
            assert notes == "".join(texts[: last - 4]), "the state replayed is not the state"
        grown = _size(database) - before
        kept = _size(database, full=True) - before
    return GrowingState(
        events=events,
        payload_mb=events * kib * 1024 / _MB,
        ingest_seconds=ingest,
        grown_mb=grown / _MB,
        kept_mb=kept / _MB,
        rss_mb=rss,
        at_ms=at_ms,
        history_ms=history_ms,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--kib", type=int, default=10)
    args = parser.parse_args(argv)
    run = measure(args.events, args.kib)
    if run is not None:
        print(
            f"  {run.events} events ({run.payload_mb:.1f} MB of payload) ingested in "
            f"{run.ingest_seconds:.2f} s; database +{run.grown_mb:.1f} MB after VACUUM, "
            f"+{run.kept_mb:.1f} MB after VACUUM FULL; server RSS {run.rss_mb:.0f} MB; "
            f"?at= {run.at_ms:.1f} ms, /history (10) {run.history_ms:.1f} ms",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

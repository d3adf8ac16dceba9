"""``GET /stalled`` and ``/metrics`` on PostgreSQL with many gaps open.

    .venv/bin/python -m benchmarks.waiting [--gaps 600000] [--samples 20]

A database is made for the run (on the server ``ROCKETS_TEST_POSTGRES_URL`` names, else a
throwaway cluster, see tests/pg.py), a server started once on it makes its tables, and
``gaps`` rockets each get a message waiting behind a gap, written straight into the tables as
the store writes them (posting them would take minutes): their oldest waiting message received
over the last 20 minutes, the gap counters (``rocket_gaps``) counted by the store's own code.
Then a server on it is timed from a bare keep-alive connection (median of ``samples``): a page
of ``/stalled`` as the dashboard asks for it (``X-Total-Count`` included), the same page of
every open gap (``minSeconds=0``), a page far down, and ``/metrics``.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime, timedelta

import httpx
import msgspec
import psycopg

from benchmarks.harness import free_port, median_reads, rockets_server, serving
from rockets.state import RocketState
from rockets.stores.postgres_gaps import Gap, GapCounts
from tests.pg import available, fresh_database, postgres_server

__all__ = ["READS", "measure"]

READS = {
    "stalled": "/stalled?limit=100",
    "stalled, minSeconds=0": "/stalled?minSeconds=0&limit=100",
    "stalled, offset 500,000": "/stalled?minSeconds=0&limit=100&offset=500000",
    "metrics": "/metrics",
}
"""What is timed."""
_SPREAD = timedelta(minutes=20)
_PAYLOAD = b'{"by":1}'


def _copy_rows(gaps: int, now: datetime) -> tuple[bytes, bytes, GapCounts]:
    """The rows of ``rocket_channels`` and ``rocket_messages`` (COPY's text format) of
    ``gaps`` channels waiting for their first message, and their gap counts."""
    channels, messages = io.StringIO(), io.StringIO()
    counts = GapCounts()
    encode = msgspec.json.encode
    step = _SPREAD / gaps
    for i in range(gaps):
        channel = f"gap-{i:07d}"
        since = now - _SPREAD + i * step
        stamp = since.isoformat()
        state = encode(RocketState(channel=channel, pending=1, waiting_since=since))
        fields = encode({"pending": 1, "lastMessageNumber": 0, "speed": 0, "status": "unknown"})
        channels.write(
            f"{channel}\t0\t2\t1\t\\\\x{state.hex()}\t{fields.decode()}\t{stamp}\tf\t1\n"
        )
        messages.write(
            f"{channel}\t2\tRocketSpeedIncreased\t{stamp}\t{stamp}\t\\\\x{_PAYLOAD.hex()}\t1\t"
            f"{stamp}\n"
        )
        counts.move(channel, None, Gap(since, 1, len(_PAYLOAD), False))
    return channels.getvalue().encode(), messages.getvalue().encode(), counts


def seed(database: str, gaps: int) -> float:
    """Open ``gaps`` gaps in the store at ``database`` (made by a server already: its tables
    and the indexes of its plugins' fields); the seconds it took."""
    started = time.perf_counter()
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT now()").fetchone()
        assert row is not None
        channels, messages, counts = _copy_rows(gaps, row[0])
        columns = "channel, applied, highest, pending, state, fields, waiting_since, held, stamp"
        with conn.cursor().copy(f"COPY rocket_channels ({columns}) FROM STDIN") as copy:
            copy.write(channels)
        columns = "channel, number, type, message_time, received_at, payload, version, arrived"
        with conn.cursor().copy(f"COPY rocket_messages ({columns}) FROM STDIN") as copy:
            copy.write(messages)
        for statement, params in counts.statements():
            conn.execute(statement, params)
        conn.execute("UPDATE rocket_log SET rockets = rockets + %s", (gaps,))
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def measure(gaps: int = 600_000, samples: int = 20) -> dict[str, tuple[float, str]] | None:
    """Median milliseconds of every read in :data:`READS`, and its ``X-Total-Count`` (``-``
    for none), with ``gaps`` gaps open; None when no PostgreSQL server can be had."""
    if not available():
        print(
            "  PostgreSQL not measured: set ROCKETS_TEST_POSTGRES_URL to a server's URL, or "
            "install the server (apt-get install postgresql)",
            flush=True,
        )
        return None
    with ExitStack() as stack:
        database = stack.enter_context(fresh_database(stack.enter_context(postgres_server())))
        port = free_port()
        with serving(rockets_server(port, database), port):
            pass  # the tables and indexes, made as a server makes them
        took = seed(database, gaps)
        print(f"  {gaps:,} gaps opened in {took:.1f} s", flush=True)
        port = free_port()
        server = stack.enter_context(serving(rockets_server(port, database), port))
        medians = median_reads(server.url, READS, samples)
        totals: dict[str, str] = {}
        for name, path in READS.items():
            answer = httpx.get(f"{server.url}{path}", timeout=60)
            totals[name] = answer.headers.get("x-total-count", "-")
    results = {name: (medians[name], totals[name]) for name in READS}
    for name, (ms, total) in results.items():
        print(f"  GET {READS[name]}: {ms:.2f} ms (X-Total-Count {total})", flush=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gaps", type=int, default=600_000)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args(argv)
    measure(args.gaps, args.samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

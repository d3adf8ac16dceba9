"""A plugin's field against a standard one in ``GET /rockets`` on PostgreSQL.

    .venv/bin/python -m benchmarks.fields [--rockets 100000] [--samples 50]

A database is made for the run on the server ``ROCKETS_TEST_POSTGRES_URL`` names (else a
throwaway cluster, see tests/pg.py) and filled through a server's ``POST /messages``, in batches:
every rocket is launched (its ``speed`` spread, its ``mission`` one of 100) and refuelled (its
``fuel``, the state field of the example plugin package rockets-fuel, one of 100 values). Then
each listing is timed from a bare keep-alive connection (median of ``samples``): sorted by
``fuel`` and by ``speed``, and filtered on ``fuel`` and on ``mission`` (one rocket in a hundred
each), 100 rockets a page, ``X-Total-Count`` included.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import httpx
import msgspec

from benchmarks.harness import free_port, median_reads, rockets_server, serving
from tests.pg import available, fresh_database, postgres_server

EXAMPLE_PACKAGE = Path(__file__).resolve().parent.parent / "plugins" / "rockets-fuel"

LISTINGS = {
    "sort=fuel": "/rockets?sort=fuel&limit=100",
    "sort=speed": "/rockets?sort=speed&limit=100",
    "fuel=": "/rockets?fuel=50&limit=100",
    "mission=": "/rockets?mission=M50&limit=100",
}
"""What is timed: a plugin's field and a standard one, sorted on and filtered on."""
_BATCH = 1000
"""Messages a request (the most a batch may hold by default)."""


def _messages(first: int, stop: int) -> Iterator[dict[str, object]]:
    for i in range(first, stop):
        channel = f"f{i:06d}"
        launch = {
            "type": "Falcon-9",
            "launchSpeed": (i * 7919) % 100_000,
            "mission": f"M{(i * 13) % 100:02d}",
        }
        yield {
            "metadata": {"channel": channel, "messageNumber": 1, "messageType": "RocketLaunched"},
            "message": launch,
        }
        yield {
            "metadata": {"channel": channel, "messageNumber": 2, "messageType": "RocketRefueled"},
            "message": {"amount": (i * 7) % 100 + 1},
        }


def fill(url: str, rockets: int) -> float:
    """Launch and refuel ``rockets`` rockets; the seconds it took."""
    started = time.perf_counter()
    step = _BATCH // 2
    with httpx.Client(base_url=url, timeout=300) as client:
        for first in range(0, rockets, step):
            body = msgspec.json.encode(list(_messages(first, min(first + step, rockets))))
            answer = client.post(
                "/messages", content=body, headers={"content-type": "application/json"}
            )
            answer.raise_for_status()
    return time.perf_counter() - started


def timed(url: str, samples: int) -> dict[str, tuple[float, int]]:
    """Median milliseconds of every listing, and its ``X-Total-Count``: the listings take turns,
    sample after sample, so that the machine's noise spreads over all of them."""
    medians = median_reads(url, LISTINGS, samples)
    results = {}
    for name, path in LISTINGS.items():
        answer = httpx.get(f"{url}{path}", timeout=60)
        total = int(answer.headers["x-total-count"])
        assert len(answer.json()) == min(100, total), (path, total)
        results[name] = (medians[name], total)
    return results


def measure(rockets: int, samples: int) -> dict[str, tuple[float, int]] | None:
    """Median milliseconds and total of every listing, on a database of ``rockets`` rockets;
    None when no PostgreSQL server can be had."""
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
        # The example plugin is what is measured: loaded from its folder by module name, as a
        # plugin that is not installed is (the project's environment does not install it).
        env = {"ROCKETS_PLUGINS": "rockets_fuel.plugin", "PYTHONPATH": str(EXAMPLE_PACKAGE)}
        server = stack.enter_context(serving(rockets_server(port, database), port, env=env))
        seconds = fill(server.url, rockets)
        print(
            f"  {rockets:,} rockets launched and refuelled in {seconds:.1f} s "
            f"({2 * rockets / seconds:,.0f} messages/s)",
            flush=True,
        )
        results = timed(server.url, samples)
    for name, (ms, total) in results.items():
        print(f"  GET {LISTINGS[name]}: {ms:.2f} ms (X-Total-Count {total:,})", flush=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rockets", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args(argv)
    measure(args.rockets, args.samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

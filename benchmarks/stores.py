"""Single-message ingest rate of each store, as ratios to the memory store measured in the same run.

    .venv/bin/python -m benchmarks.stores [--rounds 3] [--seconds 10]

Each round runs every configuration once, in turn (memory, SQLite, PostgreSQL with one server
process, PostgreSQL with two), so that the machine's noise spreads over all of them; the table
shows medians. PostgreSQL is the server named by ``ROCKETS_TEST_POSTGRES_URL``, else a throwaway
cluster (see tests/pg.py).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path

from benchmarks.harness import WrkResult, free_port, load, paced_delay, rockets_server, serving
from tests.pg import available, fresh_database, postgres_server

Config = Callable[[ExitStack], list[str]]


@contextmanager
def configurations(tmp: Path, pg_admin: str | None) -> Iterator[dict[str, Config]]:
    def servers(store: Callable[[], str], processes: int) -> Config:
        def start(stack: ExitStack) -> list[str]:
            url = store()
            urls = []
            for _ in range(processes):
                port = free_port()
                urls.append(stack.enter_context(serving(rockets_server(port, url), port)).url)
            return urls

        return start

    counter = iter(range(1_000_000))

    def sqlite() -> str:
        return f"sqlite:///{tmp}/bench-{next(counter)}.db"

    with ExitStack() as databases:

        def postgres() -> str:
            assert pg_admin is not None
            return databases.enter_context(fresh_database(pg_admin))

        configs = {"memory": servers(lambda: "memory://", 1), "sqlite": servers(sqlite, 1)}
        if pg_admin is not None:
            configs["postgresql, 1 process"] = servers(postgres, 1)
            configs["postgresql, 2 processes"] = servers(postgres, 2)
        yield configs


def compare(rounds: int, seconds: float, connections: int = 50) -> dict[str, list[WrkResult]]:
    """req/s of every store configuration, round by round."""
    results: dict[str, list[WrkResult]] = {}
    if not available():
        print(
            "  PostgreSQL not measured: set ROCKETS_TEST_POSTGRES_URL to a server's URL, or "
            "install the server (apt-get install postgresql)",
            flush=True,
        )
    with (
        tempfile.TemporaryDirectory() as tmp,
        postgres_server() if available() else nullcontext() as pg_admin,
        configurations(Path(tmp), pg_admin) as configs,
    ):
        for round_ in range(rounds):
            for name, start in configs.items():
                with ExitStack() as stack:
                    urls = start(stack)
                    load(urls, seconds=1, connections=connections)  # warm-up
                    result = load(urls, seconds=seconds, connections=connections)
                results.setdefault(name, []).append(result)
                print(
                    f"  round {round_ + 1} {name}: {result.rate:,.0f} req/s "
                    f"(non-2xx {result.non2xx}, socket errors {result.socket_errors})",
                    flush=True,
                )
    return results


def cpu_per_messages(
    rounds: int, seconds: float, rate: float, connections: int = 50
) -> dict[int, list[float]]:
    """Server CPU seconds per 10,000 messages on PostgreSQL with 1 and with 2 server processes
    (their own CPU times, summed), under the same offered load of about ``rate`` messages a
    second in all, round by round. Where cores are scarce this says what a process costs, which
    is what added processes turn into capacity where cores are not (docs/performance.md)."""
    results: dict[int, list[float]] = {1: [], 2: []}
    with postgres_server() as pg_admin:
        for round_ in range(rounds):
            for processes in (1, 2):
                with ExitStack() as stack:
                    url = stack.enter_context(fresh_database(pg_admin))
                    servers = []
                    for _ in range(processes):
                        port = free_port()
                        servers.append(
                            stack.enter_context(serving(rockets_server(port, url), port))
                        )
                    urls = [server.url for server in servers]
                    delay = paced_delay(urls, rate, connections)
                    before = sum(server.cpu_seconds() for server in servers)
                    result = load(urls, seconds=seconds, connections=connections, delay_ms=delay)
                    used = sum(server.cpu_seconds() for server in servers) - before
                per_10k = used / max(result.requests, 1) * 10_000
                results[processes].append(per_10k)
                print(
                    f"  round {round_ + 1} postgresql, {processes} process(es): "
                    f"{result.rate:,.0f} req/s offered, {per_10k:.2f} CPU s per 10,000 messages",
                    flush=True,
                )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args(argv)
    results = compare(args.rounds, args.seconds, args.connections)
    base = statistics.median(r.rate for r in results["memory"])
    print()
    print(f"{'store':<26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x memory':>9}")
    for name, runs in results.items():
        rate = statistics.median(r.rate for r in runs)
        p50 = statistics.median(r.p50_ms for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        print(f"{name:<26} {rate:>9,.0f} {p50:>8.1f} {p99:>8.1f} {rate / base:>9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

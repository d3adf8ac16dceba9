"""The benchmark harness at a tiny size, so that ``make bench`` cannot rot.

Benchmarks are not tests: nothing here asserts a speed, only that every target is measured
and reported with a verdict, and that every load run was answered without errors.
"""

import os
import re
import signal
import subprocess
import sys

from ..conftest import ROOT

TARGETS = [
    "1. single ingest / raw ASGI",
    "1. litestar run single ingest / rockets serve",
    "2. single-message p99 at half the maximum load",
    "2. gap filled -> state readable, p99",
    "3. batch msgs/s / no-op Litestar req/s",
    "4. ingest at 2,000 rockets / at 20",
    "5. RSS after 2,000 events",
    "5. GET /rockets median, 2,000 events",
    "6. SQLite / memory store",
    "6. PostgreSQL, 1 process / memory",
    "7. CPU per message, 2 processes / 1",
    "8. PostgreSQL GET /rockets?sort=fuel&limit=100",
    "8. PostgreSQL GET /rockets?sort=speed&limit=100",
    "8. sort by a plugin field / by speed",
    "8. PostgreSQL GET /rockets?fuel=50&limit=100",
    "8. PostgreSQL GET /rockets?mission=M50&limit=100",
    "8. filter on a plugin field / on mission",
    "9. /health p99 beside a 50 ms/event projection",
    "10. 200 x 10 KiB growing-state events ingested",
    "10. database growth after VACUUM",
    "11. GET /stalled?limit=100, 2,000 gaps",
    "11. GET /stalled?minSeconds=0&limit=100, 2,000 gaps",
    "12. RSS, 100 events of 60 KB, memory store",
    "12. RSS, 100 events of 60 KB, sqlite store",
]


def run_smoke() -> str:
    # Its own session, so that a hung run can be stopped with every server and wrk it started.
    bench = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench", "--smoke"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = bench.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(bench.pid, signal.SIGKILL)
        output, _ = bench.communicate()
        raise AssertionError(f"the smoke run took over 300 s:\n{output}") from None
    assert bench.returncode == 0, output
    return output


def test_bench_smoke_reports_every_target() -> None:
    table = run_smoke().split("measured", 1)[1]
    wanted = r"[<>]= [\d.,]+ ?(?:x|ms|MB|s)"
    verdict = rf"(?:[\d.,]+ ?(?:x|ms|MB|s)\s+{wanted}\s+(?:ok|MISSED)|not measured\s+{wanted})"
    for target in TARGETS:
        line = re.search(rf"^{re.escape(target)}\s+{verdict}\s*$", table, re.MULTILINE)
        assert line, f"{target!r} missing from:\n{table}"
    # Every load run was answered: no non-2xx answer, no failed connection.
    errors = re.findall(r"errors (\d+)\)", table)
    assert len(errors) >= 6, table
    assert set(errors) == {"0"}, table

"""The benchmark harness at a tiny size, so that ``make bench`` cannot rot.

Benchmarks are not tests: nothing here asserts a speed, only that every target is measured
and reported with a verdict.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGETS = [
    "1. single ingest / no-op Litestar",
    "1. single ingest / raw ASGI",
    "2. batch msgs/s / no-op Litestar req/s",
    "3. GET /rockets median, 2,000 events",
    "3. read time, more events / fewer",
    "4. RSS after 2,000 events",
    "5. gap filled -> state readable, p99",
    "6. SQLite / memory store",
    "6. PostgreSQL, 2 processes / 1",
]


def test_bench_smoke_reports_every_target() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--smoke"],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    table = run.stdout.split("measured", 1)[1]
    for target in TARGETS:
        line = re.search(
            rf"^{re.escape(target)}\s+([\d.,]+) ?(x|ms|MB)\s+\S.*\s(ok|MISSED)$",
            table,
            re.MULTILINE,
        )
        assert line, f"{target!r} missing from:\n{table}"
    # Every server answered every request of the load runs.
    for errors in re.findall(r"errors (\d+)\)", table):
        assert errors == "0", table

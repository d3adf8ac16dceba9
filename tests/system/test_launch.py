"""``rockets launch`` as a command, against real servers: verify passes, fails, and reports what it cannot reach."""

from __future__ import annotations

import re
import subprocess

import pytest

from ..conftest import ROOT
from ..server import BIN, free_port, running


def launch(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "rockets"), "launch", url, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_launch_verify_passes_against_a_correct_server() -> None:
    port = free_port()
    with running([str(BIN / "rockets"), "serve", "--port", str(port)], port):
        result = launch(
            f"http://127.0.0.1:{port}/messages",
            "--message-delay=0",
            "--concurrency-level=4",
            "--rockets=15",
            "--messages=25",
            "--reorder=shuffle",
            "--duplicates=0.3",
            "--batch-size=3",
            "--seed=11",
            "--verify",
        )
    assert result.returncode == 0, result.stdout + result.stderr
    # Piped, every line stays whole (rich wrapped them at 80 columns), and no bar is left.
    launching, sent, verified = result.stdout.splitlines()
    planned = re.fullmatch(
        r"launching 15 rockets at http://127\.0\.0\.1:\d+: 375 messages \+ (\d+) duplicates, "
        r"reorder=shuffle, batch=3, concurrency=4, delay=0ms, scenario=standard",
        launching,
    )
    assert planned, launching
    duplicates = int(planned[1])
    assert re.fullmatch(
        rf"sent {375 + duplicates} messages \({duplicates} duplicates\) in \d+ requests, "
        r"\S+s, \S+ msgs/s; latency p50 \S+ms p95 \S+ms p99 \S+ms; errors: none",
        sent,
    ), sent
    assert verified.startswith("verify: PASS: 15/15 rockets in the expected state after ")


def test_launch_verify_fails_against_a_wrong_server() -> None:
    port = free_port()
    env = {
        "ROCKETS_BLOCKED_PLUGINS": "rocket_speed_increased",
        "ROCKETS_PLUGINS_DIR": str(ROOT / "tests" / "plugins" / "wrong_speed"),
    }
    with running([str(BIN / "rockets"), "serve", "--port", str(port)], port, env=env):
        result = launch(
            f"http://127.0.0.1:{port}",
            "--message-delay=0",
            "--rockets=5",
            "--messages=30",
            "--seed=5",
            "--verify",
            "--verify-timeout=1s",
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "verify: FAIL" in result.stdout
    assert "speed: expected" in result.stdout


def test_launch_reports_an_unreachable_server_and_stops() -> None:
    result = launch(
        f"http://127.0.0.1:{free_port()}",
        "--message-delay=0",
        "--rockets=2",
        "--messages=5",
        "--duplicates=0",
        "--verify",
    )
    assert result.returncode == 1
    # Nothing reached the server: nothing was sent (it said "sent 1 messages"), and the
    # other requests are not tried, each of which would wait out the SDK's retries.
    launching, sent, stopped = result.stdout.splitlines()
    assert launching.startswith("launching 2 rockets at ")
    assert re.fullmatch(
        r"sent 0 of 10 messages \(0 duplicates\) in 0 of 10 requests, \S+s, 0 msgs/s; "
        r"errors: connection: 1",
        sent,
    ), sent
    assert re.fullmatch(
        r"stopped: the server cannot be reached \(POST /messages: .+\); 9 requests more not "
        r"tried; nothing to verify",
        stopped,
    ), stopped


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--message-delay=5x"], "invalid duration"),
        (["--duplicates=2"], "between 0.0 and 1.0"),
        (["--rockets=0"], "must be >= 1"),
        (["--scenario=moon"], "no launch scenario 'moon'"),
    ],
)
def test_launch_rejects_bad_options(args: list[str], complaint: str) -> None:
    result = launch("http://127.0.0.1:9", *args)
    assert result.returncode == 2
    assert complaint in result.stderr

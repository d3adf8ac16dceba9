"""`make run` itself: what a fresh server offers, and the SDK example run against it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..conftest import ROOT
from ..server import Server, free_port, running

STANDARD = {
    "RocketLaunched",
    "RocketSpeedIncreased",
    "RocketSpeedDecreased",
    "RocketMissionChanged",
    "RocketExploded",
}


@pytest.fixture(scope="module")
def make_run() -> Iterator[Server]:
    """``make run`` on a free port, with this test environment's virtual environment (``-o``:
    as it is, never rebuilt here)."""
    venv = Path(sys.prefix)
    port = free_port()
    command = [
        "make", "--no-print-directory", "-o", str(venv / ".installed"), "run",
        f"VENV={venv}", f"PORT={port}",
    ]  # fmt: skip
    with running(
        command, port, cwd=ROOT, env={"ROCKETS_BLOCKED_PLUGINS": ""}, group=True
    ) as server:
        yield server


def test_make_run_serves_the_five_standard_types_only(make_run: Server) -> None:
    health = httpx.get(f"{make_run.url}/health", timeout=5).json()
    plugins = httpx.get(f"{make_run.url}/plugins", timeout=5).json()
    assert set(health["messageTypes"]) == STANDARD
    assert plugins["stateFields"] == []
    assert {p["source"] for p in plugins["plugins"]} == {"builtin"}


def test_the_sdk_example_runs_against_it_twice_in_a_row(make_run: Server) -> None:
    example = ROOT / "docs" / "examples" / "sdk_usage.py"
    outputs = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, str(example), make_run.url],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout)
    for output in outputs:
        assert "Falcon-9 at 1000 on ARTEMIS" in output
        assert "speeds: [500, 700, 1000, 1000]" in output
        assert output.rstrip().endswith("exploded")

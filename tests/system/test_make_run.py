"""`make run` itself, and `litestar run` beside it: what a fresh server offers (the same under
both), the SDK example run against it, the start refused in one line, the warning of a misspelt
variable, and a graceful stop that ends with exit status 0."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import ROOT
from ..server import BIN, Server, free_port, running

STANDARD = {
    "RocketLaunched",
    "RocketSpeedIncreased",
    "RocketSpeedDecreased",
    "RocketMissionChanged",
    "RocketExploded",
}
MISSPELT = {"ROCKETS_WORKERCOUNT": "5"}
WARNED = (
    "WARNING:  ROCKETS_WORKERCOUNT is not a setting of rockets and is ignored: did you mean "
    "ROCKETS_WORKER_COUNT?"
)


def make_run_command(port: int) -> list[str]:
    """``make run`` on ``port``, with this test environment's virtual environment (``-o``: as it
    is, never rebuilt here)."""
    venv = Path(sys.prefix)
    return [
        "make", "--no-print-directory", "-o", str(venv / ".installed"), "run",
        f"VENV={venv}", f"PORT={port}",
    ]  # fmt: skip


def litestar_env(port: int) -> dict[str, str]:
    """What the repository's .env gives `litestar run` (read here too, so that the tests hold
    with a virtual environment elsewhere than ./.venv, where python-dotenv would not read it)."""
    lines = (ROOT / ".env").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {**env, "LITESTAR_PORT": str(port)}


@pytest.fixture(scope="module")
def make_run() -> Iterator[Server]:
    port = free_port()
    with running(make_run_command(port), port, cwd=ROOT, group=True) as server:
        yield server


def offered(server: Server) -> tuple[Any, Any]:
    return (
        httpx.get(f"{server.url}/health", timeout=5).json()["messageTypes"],
        httpx.get(f"{server.url}/plugins", timeout=5).json(),
    )


def test_make_run_serves_the_five_standard_types_only(make_run: Server) -> None:
    message_types, plugins = offered(make_run)
    assert set(message_types) == STANDARD
    assert plugins["stateFields"] == []
    assert {p["source"] for p in plugins["plugins"]} == {"builtin"}


def test_litestar_run_in_the_repository_root_serves_what_make_run_serves(
    make_run: Server,
) -> None:
    port = free_port()
    command = [str(BIN / "litestar"), "run"]
    with running(command, port, env=litestar_env(port), cwd=ROOT) as server:
        assert offered(server) == offered(make_run)


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


# --- the start refused -------------------------------------------------------------------------

MISTAKES = {
    "a store URL": {"ROCKETS_STORE": "sqlite://r.db"},
    "a setting's value": {"ROCKETS_WORKER_COUNT": "abc"},
    "a plugin module": {"ROCKETS_PLUGINS": "no_such_plugin_module"},
    "a store that cannot open": {"ROCKETS_STORE": "sqlite:////nonexistent/folder/r.db"},
}


def refused(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env={"PATH": str(BIN), **env}, cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_mistake_stops_litestar_run_in_the_line_rockets_serve_says(mistake: str) -> None:
    port = free_port()
    served = refused([str(BIN / "rockets"), "serve", "--port", str(port)], MISTAKES[mistake])
    assert served.returncode == 2
    (line,) = served.stderr.splitlines()
    assert line.startswith("rockets: cannot start: ")
    run = refused([str(BIN / "litestar"), "run"], {**litestar_env(port), **MISTAKES[mistake]})
    assert run.returncode == 2, run.stderr
    # Besides uvicorn's own lines of progress before the store opens, that line alone.
    said = [text for text in run.stderr.splitlines() if not text.startswith("INFO:")]
    assert said == [line], run.stderr
    assert "rockets started" not in run.stdout + run.stderr


def test_a_port_in_use_stops_litestar_run_before_the_app_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = refused([str(BIN / "litestar"), "run"], litestar_env(port))
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"rockets: cannot start: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert run.stdout == ""


# --- a misspelt variable, a graceful stop ---------------------------------------------------


def children(pid: int) -> list[int]:
    return [int(n) for n in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


SERVERS = {
    "rockets serve": lambda port: ([str(BIN / "rockets"), "serve", "--port", str(port)], {}),
    "litestar run": lambda port: ([str(BIN / "litestar"), "run"], litestar_env(port)),
}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_a_server_warns_of_a_misspelt_variable_and_stops_with_status_0(
    kind: str, sig: signal.Signals
) -> None:
    port = free_port()
    command, env = SERVERS[kind](port)
    with running(command, port, env={**env, **MISSPELT}, cwd=ROOT) as server:
        code, output = server.stop(sig)
    assert code == 0, output
    assert WARNED in output.splitlines(), output
    assert "rockets stopped: 0 rockets" in output


def test_make_run_ends_without_an_error_when_its_server_is_stopped() -> None:
    # SIGTERM to the server alone (kill), then Ctrl-C (SIGINT to the whole group, make included:
    # make then ends by that signal itself, as any program Ctrl-C stops, but says nothing).
    for sig, group in ((signal.SIGTERM, False), (signal.SIGINT, True)):
        port = free_port()
        with running(make_run_command(port), port, env=MISSPELT, cwd=ROOT, group=True) as make:
            if group:
                make.send(sig)
            else:
                (rockets,) = children(make.process.pid)
                os.kill(rockets, sig)
            output, _ = make.process.communicate(timeout=60)
        assert make.process.returncode == (-sig if group else 0), output
        assert WARNED in output.splitlines(), output
        assert "make: ***" not in output, output

"""The deploy files: the systemd unit and the container recipe are checked by the tools made for
them (systemd-analyze, hadolint), and they name real files, settings and options.

No container engine runs here, so the image itself is never built by the tests."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from rockets.settings import ENVIRONMENT

from ..conftest import ROOT
from ..server import free_port

DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "rockets.service"
DOCKERFILE = DEPLOY / "Dockerfile"
BIN = Path(sys.executable).parent


def serve_options() -> set[str]:
    """The options ``rockets serve`` takes, as its help lists them."""
    result = subprocess.run(
        [str(BIN / "rockets"), "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    return set(re.findall(r"--[a-z][a-z-]+", result.stdout))


def unit_entries() -> list[tuple[str, str, str]]:
    """(section, key, value) of every entry of the unit, in order (keys may repeat)."""
    section, entries = "", []
    for line in UNIT.read_text().splitlines():
        if not line.strip() or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key, value))
    return entries


def test_the_unit_runs_rockets_serve_with_real_options_and_settings() -> None:
    entries = unit_entries()
    (exec_start,) = [v for s, k, v in entries if (s, k) == ("Service", "ExecStart")]
    program, command, *arguments = shlex.split(exec_start)
    assert (Path(program).name, command) == ("rockets", "serve")
    assert {a for a in arguments if a.startswith("--")} <= serve_options()
    variables = [v.partition("=")[0] for s, k, v in entries if k == "Environment"]
    assert variables
    assert set(variables) <= set(ENVIRONMENT)
    # Longer than the graceful shutdown it waits for.
    (stop,) = [v for s, k, v in entries if k == "TimeoutStopSec"]
    assert int(stop) > 30


def test_the_unit_does_not_restart_a_start_refused_for_a_mistake() -> None:
    # What rockets serve exits with when a setting stops its start, here an invalid one.
    refused = subprocess.run(
        [str(BIN / "rockets"), "serve"], env={"ROCKETS_WORKER_COUNT": "many"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.stderr.startswith("rockets: cannot start: invalid setting ROCKETS_WORKER_COUNT")
    entries = unit_entries()
    (restart,) = [v for s, k, v in entries if (s, k) == ("Service", "Restart")]
    (prevented,) = [v for s, k, v in entries if (s, k) == ("Service", "RestartPreventExitStatus")]
    assert restart == "on-failure"
    assert prevented.split() == [str(refused.returncode)]


def test_systemd_verifies_the_unit(tmp_path: Path) -> None:
    # verify also checks that ExecStart's program exists: point it at this environment's.
    text = UNIT.read_text().replace("/opt/rockets/bin/rockets", str(BIN / "rockets"))
    unit = tmp_path / UNIT.name
    unit.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), "--no-color", "--disable-ignore-pragma", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_dockerfile_copies_what_the_context_holds_and_runs_rockets_serve() -> None:
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    kept = {line[1:] for line in ignored if line.startswith("!")}
    copied = [
        argument
        for instruction, arguments in instructions()
        if instruction == "COPY" and not arguments.startswith("--from")
        for argument in arguments.split()[:-1]
    ]
    assert copied
    assert [c for c in copied if not (ROOT / c).exists() or c.rstrip("/") not in kept] == []
    arguments = served()
    assert {a for a in arguments if a.startswith("--")} <= serve_options()
    settings = [
        name
        for instruction, arguments in instructions()
        if instruction == "ENV"
        for name in re.findall(r"(ROCKETS_\w+)=", arguments)
    ]
    assert settings
    assert set(settings) <= set(ENVIRONMENT)


def served() -> list[str]:
    """The arguments of ``rockets serve`` in the Dockerfile's CMD (a shell that execs it, so that
    it reads the port from the environment)."""
    (cmd,) = [arguments for instruction, arguments in instructions() if instruction == "CMD"]
    shell, flag, script = json.loads(cmd)
    assert (shell, flag) == ("sh", "-c")
    exec_, program, command, *arguments = shlex.split(script)
    assert (exec_, program, command) == ("exec", "rockets", "serve")
    return arguments


def test_the_container_serves_and_checks_its_health_on_one_configured_port() -> None:
    arguments = served()
    assert arguments[arguments.index("--port") + 1] == "$PORT"
    assert ("EXPOSE", "${PORT}") in instructions()
    environment = " ".join(a for instruction, a in instructions() if instruction == "ENV")
    assert re.search(r"\bPORT=\d+\b", environment)
    healthchecks = [a for instruction, a in instructions() if instruction == "HEALTHCHECK"]
    (check,) = [json.loads(h.partition("CMD")[2]) for h in healthchecks]
    program, flag, code = check
    assert (program, flag) == ("python", "-c")
    assert "/health" in code
    assert "8088" not in code
    # Run as it stands against a port where nothing listens: it reads PORT, and fails.
    port = str(free_port())
    result = subprocess.run(
        [sys.executable, flag, code], env={"PORT": port}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "ConnectError" in result.stderr

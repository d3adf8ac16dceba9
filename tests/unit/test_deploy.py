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
    (cmd,) = [arguments for instruction, arguments in instructions() if instruction == "CMD"]
    program, command, *arguments = json.loads(cmd)
    assert (program, command) == ("rockets", "serve")
    assert {a for a in arguments if a.startswith("--")} <= serve_options()
    port = arguments[arguments.index("--port") + 1]
    assert ("EXPOSE", port) in instructions()
    settings = [
        name
        for instruction, arguments in instructions()
        if instruction == "ENV"
        for name in re.findall(r"(ROCKETS_\w+)=", arguments)
    ]
    assert settings
    assert set(settings) <= set(ENVIRONMENT)

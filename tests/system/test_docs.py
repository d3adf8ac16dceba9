"""The README's curl examples, run against a real server; the plugin tests of docs/plugins.md
that start real servers, on PostgreSQL."""

from __future__ import annotations

import re
import shlex
import subprocess

import httpx

from rockets.testing.postgres import POSTGRES_URL_VARIABLE

from ..conftest import ROOT
from ..server import BIN, free_port, running
from ..unit.test_docs import TESTING, run_pytest


def readme_curls() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    commands: list[str] = []
    for block in blocks:
        # Join continuation lines of a quoted -d '...' argument into one command.
        current = ""
        for line in block.splitlines():
            if line.startswith("#") or not (line.strip() or current):
                continue
            current = f"{current}\n{line}" if current else line
            if current.count("'") % 2 == 0:
                if current.startswith("curl "):
                    commands.append(current)
                current = ""
    return commands


def test_readme_curl_examples_work_against_a_real_server() -> None:
    commands = readme_curls()
    assert len(commands) >= 8
    port = free_port()
    with running([str(BIN / "rockets"), "serve", "--port", str(port)], port) as server:
        for command in commands:
            argv = shlex.split(command.replace("localhost:8088", f"127.0.0.1:{port}"))
            result = subprocess.run(
                [*argv, "-w", "\\n%{http_code}"], capture_output=True, text=True, timeout=30
            )
            body, _, code = result.stdout.rpartition("\n")
            assert code.startswith("2"), f"{command}\n-> {code} {body}"
        rocket = httpx.get(f"{server.url}/rockets/193270a9-c9cf-404a-8f83-838e71d9ae67").json()
    assert (rocket["speed"], rocket["mission"], rocket["lastMessageNumber"]) == (
        3500,
        "SHUTTLE_MIR",
        3,
    )


def test_the_plugin_testing_example_with_servers_passes(postgres_admin_url: str) -> None:
    # A restart on SQLite, the stream, a rollout on PostgreSQL (the session's server).
    printed = run_pytest(
        TESTING / "test_servers.py", env={POSTGRES_URL_VARIABLE: postgres_admin_url}
    )
    assert re.search(r"\b3 passed\b", printed), printed

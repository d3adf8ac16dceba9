"""Plugin code at a real ``rockets serve``: a ``startup`` that never returns, and a hook without
``@hookimpl``, as an operator sees them (issue 21, findings 4 and 9)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import httpx

from ..conftest import ROOT
from ..server import BIN, free_port, running

PLUGINS = ROOT / "tests" / "plugins" / "guards"


def environment(**values: str) -> dict[str, str]:
    """This process's environment without its rockets settings, plus ``values``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("ROCKETS_")}
    return {**kept, **values}


def test_a_startup_that_never_returns_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    # Before: the port was taken, connections were accepted and never answered, nothing said.
    shutil.copy(PLUGINS / "stuck_startup.py", tmp_path)
    done = subprocess.run(
        [str(BIN / "rockets"), "serve", "--port", str(free_port())],
        env=environment(ROCKETS_PLUGINS_DIR=str(tmp_path), ROCKETS_HOOK_TIMEOUT="0.5"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "rockets: cannot start: plugin 'stuck_startup': startup did not return within 0.5 s "
        "(ROCKETS_HOOK_TIMEOUT)"
    )


def test_a_hook_without_hookimpl_is_the_warning_plugin_hooks_md_shows(tmp_path: Path) -> None:
    (tmp_path / "plugins").mkdir()
    shutil.copy(PLUGINS / "unmarked.py", tmp_path / "plugins" / "landing.py")
    port = free_port()
    with running(
        [str(BIN / "rockets"), "serve", "--port", str(port)],
        port,
        env=environment(ROCKETS_PLUGINS_DIR="plugins"),
        cwd=tmp_path,
    ) as server:
        plugins = httpx.get(f"{server.url}/plugins", timeout=10).json()["plugins"]
        _, output = server.stop(signal.SIGTERM)
    (landing,) = [p for p in plugins if p["name"] == "landing"]
    assert landing["hooks"] == []
    (told,) = [line for line in output.splitlines() if "without @hookimpl" in line]
    assert f"{told}\n" in (ROOT / "docs" / "plugin_hooks.md").read_text()
    assert told == (
        "WARNING:  plugin 'landing' (plugins/landing.py) defines startup without @hookimpl, so "
        "it is never called: decorate it with rockets.hookimpl"
    )

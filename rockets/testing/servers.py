"""Real server processes for tests: ``rockets serve`` (or any command) on a free port, ready once
``GET /health`` answers 200, stopped or killed at will.

:class:`Servers` starts ``rockets serve`` with a test's settings and plugins (the kit's
``rockets_server`` fixture is one); :func:`start` and :func:`running` run any command, as this
project's own system tests and benchmarks do.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from rockets.settings import Settings
from rockets.testing.settings import environment_of, served_plugins

__all__ = [
    "BIN",
    "STREAM_GUARD",
    "Server",
    "Servers",
    "free_port",
    "rockets_command",
    "running",
    "start",
]

STREAM_GUARD = 30.0
"""Seconds after which :meth:`Server.wait_for_streams` fails instead of hanging."""

BIN = Path(sys.executable).parent
"""The folder of this interpreter's scripts (``rockets`` among them, in a virtual environment)."""


def rockets_command() -> list[str]:
    """How to run the ``rockets`` command of this environment: its script beside the
    interpreter, or the interpreter running its module where there is no such script."""
    script = BIN / "rockets"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "rockets.cli"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A server process, and the URL it serves."""

    process: subprocess.Popen[str]
    url: str
    group: bool = False
    """Whether the process leads a process group of its own, signalled as a whole (a command
    such as ``make run`` whose server is a child)."""
    log: Path | None = None
    """The file its output goes to, when it is not kept in a pipe (see :func:`start`)."""

    def send(self, sig: int) -> None:
        if self.group:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> tuple[int, str]:
        """Send ``sig``, wait for the exit; return the exit code and everything it printed."""
        if self.process.poll() is None:
            self.send(sig)
        output, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, self._printed(output)

    def output(self) -> str:
        """What it has printed so far (with its output in a file; see :func:`start`)."""
        return self.log.read_text() if self.log is not None else ""

    def _printed(self, piped: str | None) -> str:
        return self.output() if self.log is not None else (piped or "")

    def streams(self) -> int:
        """How many ``GET /stream`` the server counts as subscribed (``/metrics``)."""
        text = httpx.get(f"{self.url}/metrics", timeout=STREAM_GUARD).text
        found = re.search(r"^rockets_stream_subscribers (\S+)$", text, re.M)
        if found is None:
            raise RuntimeError("the server's /metrics has no rockets_stream_subscribers")
        return int(float(found.group(1)))

    def wait_for_streams(self, count: int = 1) -> None:
        """Return once the server counts ``count`` streams: from then on each is owed every
        event applied (a new stream starts live, after the newest event the server had when it
        counted it). Polled, one round trip after another; :data:`STREAM_GUARD` seconds is a
        guard against a hang, never a verdict.

        Raises:
            TimeoutError: fewer streams after :data:`STREAM_GUARD` seconds.
        """
        deadline = time.monotonic() + STREAM_GUARD
        while self.streams() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} streams after {STREAM_GUARD} s")

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far, user and system."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        # utime and stime, the 14th and 15th fields of the line (the 12th and 13th after the
        # command's name), in clock ticks.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        """Resident memory of the server process, in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def kill(self) -> None:
        """SIGKILL, if it still runs: no shutdown, no flush, as in a crash."""
        if self.group:
            with contextlib.suppress(ProcessLookupError):  # the group is gone already
                os.killpg(self.process.pid, signal.SIGKILL)  # the children too
        elif self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


def start(
    command: Sequence[str],
    port: int,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30,
    quiet: bool = False,
    group: bool = False,
    log: Path | None = None,
    inherit: bool = True,
) -> Server:
    """Run ``command`` and wait until ``GET /health`` answers 200 on ``port``.

    Its output is kept for :meth:`Server.stop`: in a pipe, or with ``log`` in that file (for a
    server that may print more than a pipe holds while nobody reads it), or with ``quiet`` thrown
    away (for servers that run long under load, whose output nobody reads). With ``group``, the
    command runs in a process group of its own, and signals go to the whole group. ``env`` is
    added to this process's environment, or with ``inherit`` false to the environment without
    its ``ROCKETS_*`` variables (but ``ROCKETS_TEST_*``), so that the server is configured by
    ``env`` alone.

    Raises:
        RuntimeError: the process exited before it was ready (with everything it printed).
        TimeoutError: it was not ready within ``timeout`` seconds (it is killed).
    """
    base = dict(os.environ)
    if not inherit:
        base = {
            name: value
            for name, value in base.items()
            if not name.startswith("ROCKETS_") or name.startswith("ROCKETS_TEST_")
        }
    handle: IO[str] | None = None
    stdout: int | IO[str] = subprocess.PIPE
    if quiet:
        stdout = subprocess.DEVNULL
    elif log is not None:
        handle = stdout = log.open("a")
    try:
        process = subprocess.Popen(
            list(command),
            env={**base, **(env or {})},
            cwd=cwd,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=group,
        )
    finally:
        if handle is not None:
            handle.close()  # the child holds its own copy
    server = Server(process, f"http://127.0.0.1:{port}", group, None if quiet else log)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            piped = process.communicate()[0]
            printed = server._printed(piped) or "(its output was not kept)"
            raise RuntimeError(f"server exited with {process.returncode}:\n{printed}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise TimeoutError(f"server on port {port} did not become healthy")
        time.sleep(0.1)  # readiness polling: nothing is decided by it but the timeout above


@contextmanager
def running(
    command: Sequence[str],
    port: int,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30,
    quiet: bool = False,
    group: bool = False,
    log: Path | None = None,
    inherit: bool = True,
) -> Iterator[Server]:
    """A server for the ``with`` block (see :func:`start`); killed at its end if still running."""
    server = start(
        command,
        port,
        env=env,
        cwd=cwd,
        timeout=timeout,
        quiet=quiet,
        group=group,
        log=log,
        inherit=inherit,
    )
    try:
        yield server
    finally:
        server.kill()


def _test_paths() -> list[str]:
    """The folders this process imports from that its environment does not (a test's root and
    the like, added by pytest), for a server process to import the same plugin modules."""
    environment = {Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}}
    found = []
    for entry in sys.path:
        path = Path(entry or ".").resolve()
        if path.is_dir() and not any(path.is_relative_to(root) for root in environment):
            found.append(str(path))
    return found


class Servers:
    """Starts ``rockets serve`` processes with a test's settings and plugins; :meth:`close`
    kills every one still running.

    Each server gets a folder of its own under ``folder`` (its copies of drop-in files, and
    ``output.log``, everything it prints) and a free port; it is configured by its environment
    alone (the ``ROCKETS_*`` variables of this process are not passed on), and imports the
    plugin modules from the folders this process imports them from.

    Args:
        folder: where the servers' folders go (a test's temporary directory).
        settings: the settings every server gets (see
            :func:`rockets.testing.settings.environment_of`).
        plugins: the plugins every server loads as well (modules: see
            :func:`rockets.testing.settings.served_plugins`).
    """

    def __init__(self, folder: Path, settings: Settings, plugins: Iterable[object] = ()) -> None:
        self.folder = folder
        self.settings = settings
        self.plugins = list(plugins)
        self.started: list[Server] = []
        self._numbers = itertools.count(1)

    def __call__(
        self,
        store: str | None = None,
        *,
        plugins: Iterable[object] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> Server:
        """A new server, ready: on ``store`` (a store URL; by default the settings'), loading
        ``plugins`` (by default those this object was given), with ``env`` added to its
        environment.

        Raises:
            ValueError: a plugin is not a module a server process can load.
            RuntimeError: the server exited before it was ready (with what it printed).
            TimeoutError: it was not ready within ``timeout`` seconds.
        """
        own = self.folder / f"server-{next(self._numbers)}"
        own.mkdir(parents=True)
        settings = self.settings if store is None else self.settings.with_values(store=store)
        chosen = self.plugins if plugins is None else list(plugins)
        settings = served_plugins(settings, chosen, own / "plugins")
        paths = [*_test_paths(), *filter(None, [os.environ.get("PYTHONPATH")])]
        environment = {**environment_of(settings), **dict(env or {})}
        if paths:
            environment["PYTHONPATH"] = os.pathsep.join(paths)
        port = free_port()
        command = [*rockets_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
        server = start(
            command, port, env=environment, timeout=timeout, log=own / "output.log", inherit=False
        )
        self.started.append(server)
        return server

    def close(self) -> None:
        """Kill every server still running."""
        for server in self.started:
            server.kill()

"""Start a real server process for end-to-end tests (and for the benchmarks)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    group: bool = False
    """Whether the process leads a process group of its own, signalled as a whole (a command
    such as ``make run`` whose server is a child)."""

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
        return self.process.returncode, output

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
) -> Server:
    """Run ``command`` and wait until ``GET /health`` answers 200 on ``port``.

    Its output is kept for :meth:`Server.stop`, or with ``quiet`` thrown away (for servers
    that run long under load, whose output nobody reads). With ``group``, the command runs in a
    process group of its own, and signals go to the whole group.
    """
    process = subprocess.Popen(
        list(command),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.DEVNULL if quiet else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=group,
    )
    server = Server(process, f"http://127.0.0.1:{port}", group)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            output = process.communicate()[0]
            shown = output if output is not None else "(its output was not kept)"
            raise RuntimeError(f"server exited with {process.returncode}:\n{shown}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise TimeoutError(f"server on port {port} did not become healthy")
        time.sleep(0.1)


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
) -> Iterator[Server]:
    """A server for the ``with`` block; killed at its end if still running."""
    server = start(command, port, env=env, cwd=cwd, timeout=timeout, quiet=quiet, group=group)
    try:
        yield server
    finally:
        server.kill()

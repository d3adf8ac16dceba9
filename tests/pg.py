"""A PostgreSQL server for the tests.

``ROCKETS_TEST_POSTGRES_URL`` names a server to use (CI starts Debian's cluster and sets it).
Without it, a throwaway cluster is created in a temporary directory with the PostgreSQL
binaries installed on the machine (``initdb``, ``pg_ctl``), run as the ``postgres`` user when
the tests run as root, and removed afterwards. Without either, the tests that need PostgreSQL
fail and say how to provide it: they never skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rockets.testing.postgres import POSTGRES_URL_VARIABLE as ENV
from rockets.testing.postgres import fresh_database

from .server import free_port

__all__ = ["ENV", "Cluster", "available", "cluster", "fresh_database", "postgres_server"]


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(versions[0]).parent if versions else None


def available() -> bool:
    """Whether :func:`postgres_server` can give a server: a URL is set, or binaries exist."""
    return bool(os.environ.get(ENV)) or _binaries() is not None


@dataclass
class Cluster:
    """A private PostgreSQL cluster, which its tests may stop and start again."""

    url: str
    """The admin URL (role ``postgres``, trusted)."""
    _ctl: Callable[..., object]
    up: bool = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server as an operator would (``pg_ctl stop -m fast``: clients are cut off;
        ``immediate`` is a crash); returns once it is down. Stopping a stopped server does
        nothing."""
        if self.up:
            self._ctl("-m", mode, "-w", "stop")
            self.up = False

    def start(self) -> None:
        """Start the server; returns once it accepts connections. Starting a running server
        does nothing."""
        if not self.up:
            self._ctl("-w", "start")
            self.up = True


@contextmanager
def cluster() -> Iterator[Cluster]:
    """Start a private PostgreSQL cluster; yield it, to be stopped and started at will."""
    binaries = _binaries()
    if binaries is None:
        raise RuntimeError(
            f"PostgreSQL is needed for these tests: set {ENV} to a server's URL, or install "
            "the server (apt-get install postgresql) so that a throwaway cluster can be started"
        )
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    root = Path(tempfile.mkdtemp(prefix="rockets-pg-"))
    data, sockets, port = root / "data", root / "sockets", free_port()
    sockets.mkdir()
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    run = lambda *args: subprocess.run([*prefix, *args], check=True, capture_output=True)  # noqa: E731
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = str(binaries / "pg_ctl")
    ctl = lambda *args: run(pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), *args)  # noqa: E731
    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        ctl("-w", "start")
        try:
            yield Cluster(f"postgresql://postgres@127.0.0.1:{port}/postgres", ctl)
        finally:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a private PostgreSQL cluster; yield its admin URL."""
    with cluster() as started:
        yield started.url


@contextmanager
def postgres_server() -> Iterator[str]:
    """The admin URL of a PostgreSQL server for this test session."""
    url = os.environ.get(ENV)
    if url:
        yield url
        return
    with throwaway_cluster() as started:
        yield started

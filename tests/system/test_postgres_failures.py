"""PostgreSQL failing under the real server: a database that goes away and comes back, mistakes
at start-up, and input PostgreSQL cannot take.

The tests that stop and start PostgreSQL do it to a private cluster of their own (tests/pg.py),
never to the server the other tests share.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from litestar.testing import TestClient

from rockets.app import create_app

from ..conftest import core_settings, message
from ..pg import Cluster, cluster, fresh_database
from ..server import BIN, free_port, running

PATIENCE = 20.0
"""Seconds to wait for one answer or one line: only turns a hang into a failure."""


def serve(port: int, store: str) -> list[str]:
    return [str(BIN / "rockets"), "serve", "--port", str(port), "--store", store]


def launched(channel: str) -> dict[str, Any]:
    return message(
        channel, 1, "RocketLaunched", {"type": "Falcon-9", "launchSpeed": 500, "mission": "M"}
    )


def sped_up(channel: str, number: int) -> dict[str, Any]:
    return message(channel, number, "RocketSpeedIncreased", {"by": 10})


@pytest.fixture(scope="module")
def pg() -> Iterator[Cluster]:
    """A private cluster, shared by this module's tests; each leaves it running."""
    with cluster() as started:
        yield started


def refused_for_now(response: httpx.Response) -> None:
    """The answer of a request the store could not serve: 503, come back later."""
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json()["error" if "error" in response.json() else "status"] == "unavailable"


def test_a_database_that_goes_away_and_comes_back(pg: Cluster) -> None:
    with fresh_database(pg.url) as database:
        port = free_port()
        with (
            running(serve(port, database), port) as server,
            httpx.Client(base_url=server.url, timeout=PATIENCE) as client,
        ):
            assert client.post("/messages", json=launched("r1")).status_code == 202
            try:
                pg.stop()
                # Reads and writes alike: a 503 to come back later, never a 500.
                refused_for_now(client.get("/rockets/r1"))
                refused_for_now(client.get("/rockets"))
                refused_for_now(client.get("/rockets/r1/events"))
                refused_for_now(client.post("/messages", json=sped_up("r1", 2)))
                health = client.get("/health")
                refused_for_now(health)
                report = health.json()
                assert (report["status"], report["failing"]) == ("unavailable", "postgresql")
                assert report["detail"].startswith("postgresql: ")
            finally:
                pg.start()
            # The connections the database closed are not lent again, and no pause is waited
            # out: the very first write after the database is back is stored.
            assert client.post("/messages", json=sped_up("r1", 2)).status_code == 202
            assert client.get("/rockets/r1").json()["lastMessageNumber"] == 2
            report = client.get("/health").json()
            assert report["status"] == "ok"
            assert "failing" not in report
            try:
                pg.stop()
                # A server whose database is down still shuts down cleanly.
                code, output = server.stop()
            finally:
                pg.start()
        # uvicorn shuts down gracefully, then exits by the signal it received.
        assert code in (0, -signal.SIGTERM), output
        assert "Traceback" not in output
        assert "rockets stopped; the store did not answer" in output


def test_a_locked_table_is_a_503_after_the_store_timeout(postgres_url: str) -> None:
    port = free_port()
    env = {"ROCKETS_STORE_TIMEOUT": "0.5"}
    with (
        running(serve(port, postgres_url), port, env=env) as server,
        httpx.Client(base_url=server.url, timeout=PATIENCE) as client,
    ):
        assert client.post("/messages", json=launched("r1")).status_code == 202
        with psycopg.connect(postgres_url) as admin, admin.transaction():
            admin.execute("LOCK TABLE rocket_channels, rocket_messages IN ACCESS EXCLUSIVE MODE")
            # PostgreSQL cancels the statements that wait (statement_timeout follows the
            # setting): without it, they would wait for as long as the lock is held.
            refused_for_now(client.get("/rockets/r1"))
            refused_for_now(client.post("/messages", json=sped_up("r1", 2)))
        assert client.post("/messages", json=sped_up("r1", 2)).status_code == 202


def _with(url: str, *, userinfo: str | None = None, path: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if userinfo is not None:
        netloc = f"{userinfo}@{netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc, path=path or parts.path))


@pytest.mark.parametrize(
    ("mistake", "named"),
    [
        ("credentials", '"rockets_nobody"'),
        ("database", "rockets_missing_database"),
        ("option", '"frobnicate"'),
    ],
)
def test_a_mistake_at_start_up_fails_at_once_and_says_why(
    postgres_url: str, mistake: str, named: str
) -> None:
    url = {
        "credentials": _with(postgres_url, userinfo="rockets_nobody:wrong"),
        "database": _with(postgres_url, path="/rockets_missing_database"),
        "option": f"{postgres_url}?frobnicate=1",
    }[mistake]
    # A start that waited for the mistake to mend would wait an hour: the test would time out.
    separator = "&" if "?" in url else "?"
    done = subprocess.run(
        serve(free_port(), f"{url}{separator}open_timeout=3600"),
        capture_output=True,
        text=True,
        timeout=PATIENCE * 3,
    )
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("rockets: cannot start: "), done.stderr
    assert named in last, done.stderr  # the server's (or libpq's) own reason


class Output:
    """What a process prints, line by line as it comes (read by a thread of its own)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        assert process.stdout is not None
        stream = process.stdout

        def pump() -> None:
            for line in stream:
                self._lines.put(line)
            self._lines.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def until(self, marker: str) -> str:
        """The first line (from here on) that holds ``marker``."""
        deadline = time.monotonic() + PATIENCE
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {marker!r} yet:\n{''.join(self.seen)}") from None
            if line is None:
                raise AssertionError(f"exited before {marker!r}:\n{''.join(self.seen)}")
            self.seen.append(line)
            if marker in line:
                return line


@contextmanager
def started(command: list[str]) -> Iterator[Output]:
    """A server process for the ``with`` block, and its output; killed at the block's end."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield Output(process)
    finally:
        process.kill()
        process.communicate()


def test_start_waits_for_a_database_that_is_starting(pg: Cluster) -> None:
    port = free_port()
    with fresh_database(pg.url) as database:
        try:
            pg.stop()
            with started(serve(port, database)) as output:
                assert "connection refused" in output.until("postgresql: not ready").lower()
                pg.start()
                output.until("Uvicorn running on")
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=PATIENCE)
                assert health.status_code == 200
        finally:
            pg.start()


def test_start_waits_for_a_database_that_is_full(pg: Cluster) -> None:
    role = f"rockets_full_{uuid.uuid4().hex[:8]}"
    port = free_port()
    with psycopg.connect(pg.url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    try:
        with fresh_database(pg.url) as database:
            name = urlsplit(database).path.lstrip("/")
            with psycopg.connect(pg.url, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" OWNER TO {role}')
            with started(serve(port, _with(database, userinfo=role))) as output:
                assert "too many connections" in output.until("postgresql: not ready")
                with psycopg.connect(pg.url, autocommit=True) as admin:
                    admin.execute(f"ALTER ROLE {role} CONNECTION LIMIT -1")
                output.until("Uvicorn running on")
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=PATIENCE)
                assert health.status_code == 200
    finally:
        with psycopg.connect(pg.url, autocommit=True) as admin:
            admin.execute(f"DROP ROLE IF EXISTS {role}")


HOSTILE = [
    "/rockets/a%00b",
    "/rockets/a%00b?at=1",
    "/rockets/a%00b/events",
    "/rockets/a%00b/history",
    "/rockets/%00",
    "/rockets?mission=a%00b",
    "/rockets?type=a%00b",
    "/rockets?status=going%00",
    "/rockets?sort=speed&mission=a%00b",
    f"/rockets?limit={2**63}",
    f"/rockets?offset={2**63}",
    f"/rockets?limit={2**64}&offset={2**63 - 1}",
    f"/rockets?sort=speed&order=desc&limit={2**63}&offset=1",
    f"/rockets/r1?at={2**63}",
    f"/rockets/r1/events?from={2**63}",
    f"/rockets/r1/history?from={2**63}",
]
"""Reads with what PostgreSQL cannot take: a NUL character, integers past 64 bits."""


def _answers(store: str) -> dict[str, tuple[Any, ...]]:
    """What a server on ``store`` answers to each of ``HOSTILE``, after two messages."""
    with TestClient(create_app(core_settings(store=store))) as client:
        posted = client.post("/messages", json=[launched("r1"), sped_up("r1", 2)])
        assert posted.status_code == 202
        seen = {}
        for path in HOSTILE:
            answer = client.get(path)
            body = answer.json()
            shape = (
                len(body)
                if isinstance(body, list)
                else body.get("error", body.get("lastMessageNumber"))
            )
            seen[path] = (answer.status_code, answer.headers.get("x-total-count"), shape)
        return seen


def test_input_postgresql_cannot_take_is_answered_as_by_the_other_stores(
    postgres_url: str, tmp_path: Path
) -> None:
    memory = _answers("memory://")
    assert all(status < 500 for status, _, _ in memory.values()), memory
    assert _answers(f"sqlite:///{tmp_path}/rockets.db") == memory
    assert _answers(postgres_url) == memory

"""A real ``rockets serve`` on a SQLite file whose files are removed or cut short under it, or
whose disk fills up: nothing is acknowledged that a restart does not find, ``/health`` says why
writes are refused, and the log says it once.

Each test prints one line of figures (``pytest -s`` shows them): the messages acknowledged
before and after the fault, and how many of them the restarted server does not have.
"""

from __future__ import annotations

import resource
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..histories import Message
from ..server import BIN, Server, free_port, running

CHANNELS = 5
HEALTH_POLLS = 300
"""Bound of the ``/health`` polls that wait for the store to be written again (each a round
trip with a small write of the store's own: a guard against a hang, never a verdict)."""
WRITES_TO_FILL = 2000
"""Bound of the messages posted until the full disk refuses one."""


def serve(port: int, database: Path) -> list[str]:
    return [str(BIN / "rockets"), "serve", "--port", str(port), "--store", f"sqlite:///{database}"]


@dataclass
class Sender:
    """Posts each channel's messages in order, one a request, round the channels; a message
    refused is sent again next time."""

    url: str
    sent: dict[str, int] = field(default_factory=dict)
    acknowledged: list[tuple[str, int]] = field(default_factory=list)

    def message(self, channel: str) -> Message:
        number = self.sent.get(channel, 0) + 1
        if number == 1:
            payload = {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"}
            return Message(channel, 1, "RocketLaunched", payload)
        return Message(channel, number, "RocketSpeedIncreased", {"by": number})

    def post(self, channel: str) -> httpx.Response:
        message = self.message(channel)
        response = httpx.post(f"{self.url}/messages", json=message.json(), timeout=30)
        if response.status_code == 202:
            self.sent[channel] = message.number
            self.acknowledged.append((channel, message.number))
        return response

    def post_round(self, rounds: int) -> set[int]:
        return {self.post(f"c{i}").status_code for _ in range(rounds) for i in range(CHANNELS)}

    def lost(self, url: str) -> int:
        """How many acknowledged messages the server at ``url`` does not have."""
        last = {}
        for channel in {channel for channel, _ in self.acknowledged}:
            found = httpx.get(f"{url}/rockets/{channel}", timeout=30)
            last[channel] = found.json()["lastMessageNumber"] if found.status_code == 200 else 0
        return sum(number > last[channel] for channel, number in self.acknowledged)


def refused(response: httpx.Response) -> bool:
    """A 503 the client is told to send again."""
    return response.status_code == 503 and "Retry-After" in response.headers


def health(url: str) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{url}/health", timeout=30)
    return response.status_code, response.json()


def said(server: Server, words: str) -> int:
    """How many lines of the server's log say ``words``."""
    return sum(words in line for line in server.output().splitlines())


def wal_of(database: Path) -> Path:
    return database.with_name(f"{database.name}-wal")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_wal_removed_while_serving_refuses_writes_and_loses_nothing(
    tmp_path: Path, stop: signal.Signals
) -> None:
    database = tmp_path / "rockets.db"
    port = free_port()
    with running(serve(port, database), port, log=tmp_path / "first.log") as server:
        sender = Sender(server.url)
        assert sender.post_round(40) == {202}
        before = len(sender.acknowledged)
        wal_of(database).unlink()
        assert refused(sender.post("c0"))
        status, body = health(server.url)
        assert (status, body["status"], body["failing"]) == (503, "unavailable", "sqlite")
        assert "-wal' was removed while rockets ran" in body["detail"]
        assert "moved into the database file" in body["detail"]
        assert all(refused(sender.post(f"c{i}")) for i in range(CHANNELS) for _ in range(4))
        after = len(sender.acknowledged) - before
        if stop == signal.SIGKILL:
            server.kill()
        else:
            server.stop(stop)
        assert said(server, "was removed while rockets ran") == 1
    with running(serve(port, database), port) as server:
        lost = sender.lost(server.url)
        assert health(server.url)[0] == 200
        assert sender.post_round(1) == {202}  # the refused ones, taken now
    print(
        f"wal removed, {stop.name}: {before} acknowledged before, {after} after; "
        f"acknowledged then lost: {lost}"
    )
    assert (after, lost) == (0, 0)


def test_a_database_removed_while_serving_refuses_writes_and_a_second_server(
    tmp_path: Path,
) -> None:
    database = tmp_path / "rockets.db"
    port = free_port()
    with running(serve(port, database), port, log=tmp_path / "first.log") as server:
        sender = Sender(server.url)
        assert sender.post_round(20) == {202}
        before = len(sender.acknowledged)
        database.unlink()
        assert refused(sender.post("c0"))
        status, body = health(server.url)
        assert (status, body["status"]) == (503, "unavailable")
        assert "rockets.db' was removed while rockets ran" in body["detail"]
        # Before, the second server made a new file at the path and both served.
        second = subprocess.run(
            serve(free_port(), database), capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1
        assert f"{str(database)!r} is in use" in second.stderr
        assert all(refused(sender.post(f"c{i}")) for i in range(CHANNELS))
        after = len(sender.acknowledged) - before
        server.stop()
        assert said(server, "was removed while rockets ran") == 1
    with running(serve(port, database), port) as server:
        # The removed file took what it held: only what was acknowledged after counts.
        lost_after = Sender(server.url, acknowledged=sender.acknowledged[before:]).lost(server.url)
        assert sender.post_round(1) == {202}
    print(
        f"database removed: {before} acknowledged before (gone with the removed file), "
        f"{after} after; acknowledged after the removal then lost: {lost_after}"
    )
    assert (after, lost_after) == (0, 0)


@pytest.mark.parametrize("cut", [0, 4096 + 32], ids=["to nothing", "to one frame"])
def test_a_wal_cut_short_in_place_refuses_writes_and_the_database_starts_again(
    tmp_path: Path, cut: int
) -> None:
    database = tmp_path / "rockets.db"
    port = free_port()
    with running(serve(port, database), port, log=tmp_path / "first.log") as server:
        sender = Sender(server.url)
        assert sender.post_round(40) == {202}
        before = len(sender.acknowledged)
        with wal_of(database).open("r+b") as wal:
            wal.truncate(cut)
        assert refused(sender.post("c0"))
        status, body = health(server.url)
        assert (status, body["status"]) == (503, "unavailable")
        assert "was cut short in place" in body["detail"]
        assert all(refused(sender.post(f"c{i}")) for i in range(CHANNELS))
        after = len(sender.acknowledged) - before
        # Before, SQLite copied the cut pages into the database as it closed: "malformed".
        code, _ = server.stop()
        assert code in (0, -signal.SIGTERM)
        assert said(server, "was cut short in place") == 1
    with running(serve(port, database), port) as server:
        lost = sender.lost(server.url)
        assert sender.post_round(1) == {202}
    print(
        f"wal cut to {cut} bytes: {before} acknowledged before, {after} after; acknowledged "
        f"then lost: {lost} (all before the cut, since the last checkpoint)"
    )
    assert after == 0


def test_a_damaged_database_is_refused_at_start_in_one_line(tmp_path: Path) -> None:
    database = tmp_path / "rockets.db"
    database.write_bytes(b"this is no database" * 512)
    started = subprocess.run(serve(free_port(), database), capture_output=True, text=True)
    assert started.returncode == 2
    assert started.stderr == "rockets: cannot start: sqlite: file is not a database\n"


def test_a_full_disk_is_a_503_told_once_and_health_recovers_by_itself(tmp_path: Path) -> None:
    database = tmp_path / "rockets.db"
    port = free_port()
    # Its output goes to a pipe, which the limit on the size of files leaves alone.
    with running(serve(port, database), port) as server:
        sender = Sender(server.url)
        assert sender.post_round(10) == {202}
        # No file of the server may grow any more: its writes fail with EFBIG (Python ignores
        # SIGXFSZ), as they would with ENOSPC on a full disk.
        largest = max(path.stat().st_size for path in tmp_path.iterdir())
        pid = server.process.pid
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (largest, resource.RLIM_INFINITY))
        codes: list[int] = []
        for _ in range(WRITES_TO_FILL):
            codes.append(sender.post(f"c{len(codes) % CHANNELS}").status_code)
            if codes[-1] != 202:
                break
        assert codes[-1] == 503
        assert all(refused(sender.post(f"c{i}")) for i in range(CHANNELS) for _ in range(4))
        status, body = health(server.url)
        assert (status, body["status"]) == (503, "unavailable")
        reason = body["detail"].rpartition(" fail: ")[2]
        assert reason  # what SQLite said
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        for _ in range(HEALTH_POLLS):
            if health(server.url)[0] == 200:
                break
        assert health(server.url)[1]["status"] == "ok"
        assert sender.post_round(1) == {202}
        _, printed = server.stop()
        assert printed.count(f"fail: {reason}; messages are answered 503") == 1
        assert printed.count("succeed again") == 1
    with running(serve(port, database), port) as server:
        lost = sender.lost(server.url)
    print(
        f"full disk ({reason}): {len(sender.acknowledged)} acknowledged, "
        f"{len(codes) - 1} before the first 503; acknowledged then lost: {lost}"
    )
    assert lost == 0

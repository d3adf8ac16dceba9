"""Projections and the log over real server processes: two processes on one PostgreSQL see
every process's events (stream and projections), and a restart starts from the kept value."""

from __future__ import annotations

import signal
from typing import Any

import httpx
import msgspec
import psycopg

from ..server import BIN, Server, free_port, running

LAUNCHES = [
    ("a", "Falcon-9", 900, "ARTEMIS"),
    ("b", "Soyuz", 300, "APOLLO"),
    ("c", "F9", 600, "ARTEMIS"),
]


def serve(port: int, store: str) -> list[str]:
    return [str(BIN / "rockets"), "serve", "--port", str(port), "--store", store]


def launch(server: Server, channel: str, kind: str, speed: int, mission: str) -> None:
    body = {
        "metadata": {"channel": channel, "messageNumber": 1, "messageType": "RocketLaunched"},
        "message": {"type": kind, "launchSpeed": speed, "mission": mission},
    }
    assert httpx.post(f"{server.url}/messages", json=body).status_code == 202


def fleet_at(server: Server, position: int) -> dict[str, Any]:
    """The fleet once the process has followed the log to ``position`` (polled: each poll is a
    request, none sleeps)."""
    while True:
        answer = httpx.get(f"{server.url}/projections/fleet")
        assert answer.status_code == 200, answer.text
        if int(answer.headers["x-position"]) >= position:
            fleet: dict[str, Any] = answer.json()
            return fleet


def test_two_processes_follow_each_others_events(postgres_url: str) -> None:
    ports = [free_port(), free_port()]
    with (
        running(serve(ports[0], postgres_url), ports[0]) as one,
        running(serve(ports[1], postgres_url), ports[1]) as two,
        httpx.stream("GET", f"{two.url}/stream", timeout=30) as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")  # subscribed to the second process
        for channel, kind, speed, mission in LAUNCHES:
            launch(one, channel, kind, speed, mission)  # every message to the first
        seen: list[str] = []
        for line in lines:
            if line.startswith("data: "):
                seen.append(msgspec.json.decode(line[6:])["channel"])
                if len(seen) == len(LAUNCHES):
                    break
        assert seen == [channel for channel, *_ in LAUNCHES]  # in log order
        by_one, by_two = fleet_at(one, 3), fleet_at(two, 3)
        assert by_one == by_two
        assert by_two["rockets"] == 3
        assert by_two["byMission"] == {"APOLLO": 1, "ARTEMIS": 2}
        assert [r["channel"] for r in by_two["fastest"]] == ["a", "c", "b"]


def test_a_restart_starts_from_the_kept_value(postgres_url: str) -> None:
    port = free_port()
    with running(serve(port, postgres_url), port) as server:
        for channel, kind, speed, mission in LAUNCHES[:2]:
            launch(server, channel, kind, speed, mission)
        fleet_at(server, 2)
        code, output = server.stop(signal.SIGTERM)
    assert code in (0, -signal.SIGTERM), output
    with psycopg.connect(postgres_url) as conn:
        kept = conn.execute(
            "SELECT position FROM rocket_projections WHERE name = 'fleet'"
        ).fetchone()
    assert kept == (2,)  # kept at shutdown, as of the last event
    port = free_port()
    with running(serve(port, postgres_url), port) as server:
        launch(server, *LAUNCHES[2])
        fleet = fleet_at(server, 3)
        assert fleet["rockets"] == 3
        assert fleet["byType"] == {"F9": 1, "Falcon-9": 1, "Soyuz": 1}

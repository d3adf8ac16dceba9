"""Projections and the log over real server processes: two processes on one PostgreSQL see
every process's events (stream and projections), one that cannot read an event still follows
the log, and a restart starts from the kept value, or rebuilds it before it is ready."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg

from ..conftest import ROOT
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


def stopped_projection(server: Server, name: str) -> dict[str, Any]:
    """The projection ``name`` as ``GET /projections`` lists it, once it is stopped (polled:
    each poll is a request, none sleeps; bounded, so that one that never stops fails)."""
    for _ in range(10_000):
        listed = httpx.get(f"{server.url}/projections").json()
        found: dict[str, Any] = next(p for p in listed if p["name"] == name)
        if found["status"] == "stopped":
            return found
    raise AssertionError(f"projection {name!r} still runs: {found}")


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


LANDED = ROOT / "docs" / "examples" / "plugins" / "rocket_landed.py"


def test_a_process_without_a_plugin_others_have_keeps_following_the_log(
    postgres_url: str, tmp_path: Path
) -> None:
    # A rolling upgrade: the second process loads a message type the first does not.
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / LANDED.name).write_text(LANDED.read_text())
    ports = [free_port(), free_port()]
    with (
        running(serve(ports[0], postgres_url), ports[0]) as old,
        running(
            serve(ports[1], postgres_url), ports[1], env={"ROCKETS_PLUGINS_DIR": str(plugins)}
        ) as new,
        httpx.stream("GET", f"{old.url}/stream", timeout=30) as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        launch(old, "r", "Falcon-9", 900, "ARTEMIS")
        landed = {
            "metadata": {"channel": "r", "messageNumber": 2, "messageType": "RocketLanded"},
            "message": {"site": "LZ-1"},
        }
        assert httpx.post(f"{new.url}/messages", json=landed).status_code == 202
        launch(old, "s", "Soyuz", 300, "APOLLO")  # after the event the first cannot read
        streamed = []
        for line in lines:
            # A ping is sent only when nothing happened for a while: the stream stopped.
            assert not line.startswith(":"), f"the stream went quiet after {streamed}"
            if line.startswith("data: "):
                streamed.append(msgspec.json.decode(line[6:])["event"])
                if len(streamed) == 3:
                    break
        # Its stream goes on, the unreadable event shown as stored.
        assert [e["messageType"] for e in streamed] == [
            "RocketLaunched",
            "RocketLanded",
            "RocketLaunched",
        ]
        assert streamed[1]["message"] == {"site": "LZ-1"}
        assert fleet_at(new, 3)["rockets"] == 2
        fleet = stopped_projection(old, "fleet")  # projections take the log in a thread
        assert (fleet["status"], fleet["position"], fleet["failedAt"]) == ("stopped", 1, 2)
        assert "RocketLanded, which no loaded plugin registers" in fleet["error"]
        events = httpx.get(f"{old.url}/rockets/r/events")
        assert events.status_code == 200
        assert events.json()[1]["message"] == {"site": "LZ-1"}
        # A replay that must fold the event fails, naming it; one the store keeps the state
        # of (written by the process that applied it) needs no fold.
        replay = httpx.get(f"{old.url}/rockets/r/history")
        assert replay.status_code == 500
        assert "RocketLanded, which no loaded plugin registers" in replay.json()["detail"]
        kept = httpx.get(f"{old.url}/rockets/r", params={"at": 2})
        assert (kept.status_code, kept.json()["lastMessageNumber"]) == (200, 2)
        assert httpx.get(f"{old.url}/health").status_code == 200
        # The message that fills the gap in front of such an event is accepted; the event this
        # process cannot read is set aside, its channel waiting at it, named.
        waiting = {**landed, "metadata": {**landed["metadata"], "channel": "g"}}
        assert httpx.post(f"{new.url}/messages", json=waiting).status_code == 202
        body = {
            "metadata": {"channel": "g", "messageNumber": 1, "messageType": "RocketLaunched"},
            "message": {"type": "F9", "launchSpeed": 1, "mission": "M"},
        }
        filling = httpx.post(f"{old.url}/messages", json=body)
        assert (filling.status_code, filling.json()["status"]) == (202, "accepted")
        kept = httpx.get(f"{old.url}/rockets/g").json()
        assert kept["lastMessageNumber"] == 1
        assert kept["setAside"]["messageNumber"] == 2
        assert "RocketLanded, which no loaded plugin registers" in kept["setAside"]["error"]
        # The process that reads it applies it once the channel is touched there.
        again = httpx.post(f"{new.url}/messages", json=body)
        assert (again.status_code, again.json()["status"]) == (202, "duplicate")
        resumed = httpx.get(f"{new.url}/rockets/g").json()
        assert resumed["lastMessageNumber"] == 2
        assert "setAside" not in resumed


def test_a_projection_rebuilt_at_start_is_whole_once_the_server_is_ready(
    postgres_url: str, tmp_path: Path
) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    missions = ROOT / "docs" / "examples" / "projections" / "missions.py"
    (plugins / missions.name).write_text(missions.read_text())
    env = {"ROCKETS_PLUGINS_DIR": str(plugins)}
    port = free_port()
    with running(serve(port, postgres_url), port, env=env) as server:
        for channel, kind, speed, mission in LAUNCHES:
            launch(server, channel, kind, speed, mission)
        fleet_at(server, 3)
        server.stop(signal.SIGTERM)
    # A new version of the projection: its kept value is dropped, rebuilt from the first event.
    text = missions.read_text()
    assert 'name="missions",' in text
    bumped = text.replace('name="missions",', 'name="missions", version=2,')
    (plugins / missions.name).write_text(bumped)
    port = free_port()
    with running(serve(port, postgres_url), port, env=env) as server:
        first = httpx.get(f"{server.url}/projections/missions")  # no waiting: it is whole
        assert first.headers["x-position"] == "3"
        assert first.json()["events"] == {"APOLLO": 1, "ARTEMIS": 2}
        _, output = server.stop(signal.SIGTERM)
    assert "projections: catching up with 3 events" in output

"""Durable stores through the real server process: restarts, crashes, several processes."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..histories import Message, api_fields, deliveries, expected, history
from ..server import BIN, free_port, running
from .crash import run_crash_test


def serve(port: int, store: str) -> list[str]:
    return [str(BIN / "rockets"), "serve", "--port", str(port), "--store", store]


def everything(url: str) -> dict[str, Any]:
    """Every answer a reader can get: the listing, each rocket, each rocket's events."""
    with httpx.Client(base_url=url, timeout=30) as client:
        listing = client.get("/rockets").json()
        return {
            "rockets": listing,
            "each": {r["channel"]: client.get(f"/rockets/{r['channel']}").json() for r in listing},
            "events": {
                r["channel"]: client.get(f"/rockets/{r['channel']}/events").json() for r in listing
            },
            "at": {
                r["channel"]: client.get(f"/rockets/{r['channel']}?at=1").json()
                for r in listing
                if r["lastMessageNumber"]
            },
        }


async def post(
    urls: list[str], traffic: list[Message], seed: int, concurrency: int = 8
) -> list[int]:
    """Post every message to one of ``urls`` picked at random, from concurrent senders."""
    rng = random.Random(seed)
    queue: asyncio.Queue[Message] = asyncio.Queue()
    for m in traffic:
        queue.put_nowait(m)
    codes: list[int] = []

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            m = queue.get_nowait()
            response = await client.post(f"{rng.choice(urls)}/messages", json=m.json())
            codes.append(response.status_code)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
    return codes


def traffic_for(rockets: int, seed: int) -> tuple[dict[str, list[Message]], list[Message]]:
    rng = random.Random(seed)
    lives = {f"d{i:03d}": history(rng, f"d{i:03d}", rng.randrange(1, 40)) for i in range(rockets)}
    return lives, deliveries(rng, [m for life in lives.values() for m in life], 0.3)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_restarted_server_answers_every_read_as_before(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = (
        f"sqlite:///{tmp_path}/rockets.db"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    lives, traffic = traffic_for(30, seed=1)
    # Some messages wait behind a gap when the server stops.
    held_back = {(c, 2) for c in list(lives)[:5] if len(lives[c]) > 2}
    port = free_port()
    with running(serve(port, store), port) as server:
        sent = [m for m in traffic if (m.channel, m.number) not in held_back]
        assert set(asyncio.run(post([server.url], sent, seed=2))) == {202}
        before = everything(server.url)
        assert sum(r["pending"] for r in before["rockets"]) > 0
        server.stop()
    with running(serve(port, store), port) as server:
        assert everything(server.url) == before
        # Dedup outlives the restart; the held-back messages fill their gaps.
        replay = asyncio.run(post([server.url], sent[:50], seed=3))
        assert set(replay) == {202}
        rest = [m for m in traffic if (m.channel, m.number) in held_back]
        assert set(asyncio.run(post([server.url], rest, seed=4))) == {202}
        for channel, life in lives.items():
            state = httpx.get(f"{server.url}/rockets/{channel}").json()
            assert api_fields(state) == expected(life).as_api(channel)


def test_sqlite_survives_sigkill(tmp_path: Path) -> None:
    report = run_crash_test(f"sqlite:///{tmp_path}/crash.db", messages=3000, kills=3, seed=7)
    print(report.line())
    assert report.kills == 3
    assert report.acknowledged == report.messages
    assert report.ok, report.problems[:10]


def test_postgresql_survives_sigkill(postgres_url: str) -> None:
    report = run_crash_test(postgres_url, messages=3000, kills=3, seed=8)
    print(report.line())
    assert report.kills == 3
    assert report.acknowledged == report.messages
    assert report.ok, report.problems[:10]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sigterm_under_load_loses_nothing_acknowledged(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = (
        f"sqlite:///{tmp_path}/rockets.db"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    report = run_crash_test(store, messages=3000, kills=3, seed=11, stop_signal=signal.SIGTERM)
    print(report.line())
    assert report.kills == 3
    assert report.acknowledged == report.messages
    assert report.ok, report.problems[:10]


def test_two_processes_share_one_postgresql(postgres_url: str) -> None:
    lives, traffic = traffic_for(60, seed=9)
    ports = [free_port(), free_port()]
    with (
        running(serve(ports[0], postgres_url), ports[0]) as one,
        running(serve(ports[1], postgres_url), ports[1]) as two,
    ):
        codes = asyncio.run(post([one.url, two.url], traffic, seed=10, concurrency=12))
        assert set(codes) == {202}
        seen_by_one, seen_by_two = everything(one.url), everything(two.url)
        assert seen_by_one == seen_by_two
        for channel, life in lives.items():
            assert api_fields(seen_by_one["each"][channel]) == expected(life).as_api(channel)
            events = seen_by_one["events"][channel]
            # Stored and applied once each, in order, whichever process took which copy.
            assert [(e["messageNumber"], e["message"]) for e in events] == [
                (m.number, m.payload) for m in life
            ]


def test_a_second_process_cannot_open_the_same_sqlite_file(tmp_path: Path) -> None:
    import subprocess

    database = tmp_path / "rockets.db"
    (tmp_path / "links").mkdir()
    hard, soft = tmp_path / "links" / "hard.db", tmp_path / "links" / "soft.db"
    port = free_port()
    with running(serve(port, f"sqlite:///{database}"), port) as first:
        # A file the first server created: the links name the very file it holds.
        hard.hardlink_to(database)
        soft.symlink_to(database)
        for path in (database, hard, soft):
            result = subprocess.run(
                serve(free_port(), f"sqlite:///{path}"), capture_output=True, text=True, timeout=60
            )
            assert result.returncode != 0, path
            assert f"{str(path)!r} is in use" in result.stdout + result.stderr, path
        assert httpx.get(f"{first.url}/health").json()["status"] == "ok"

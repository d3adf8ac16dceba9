"""``GET /stalled`` and the gap gauges of ``/metrics`` (issue 22, findings 5 and 7): paged
(``limit``, ``offset``, ``X-Total-Count``), the longest-waiting first, read from the store's
order of open gaps rather than a walk over all of them; waits measured on a clock that does not
step when the wall clock is set back; the payload bytes waiting behind gaps bounded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

import rockets.runtime.service
from rockets.app import create_app
from rockets.settings import Settings
from rockets.stores import MemoryStore

from ..conftest import core_settings, message
from .test_sequencer import Clock
from .test_set_aside import Booms, boom

Client = TestClient[Any]


def gap(channel: str, number: int = 3) -> dict[str, Any]:
    """A message that waits: its channel has not received #1."""
    return message(channel, number, "RocketSpeedIncreased", {"by": 1})


def gauge(client: Client, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", client.get("/metrics").text, re.M)
    assert found is not None, name
    return float(found[1])


@pytest.fixture
def clock() -> Clock:
    return Clock(1.0)


@pytest.fixture
def settings() -> Settings:
    return core_settings(stall_seconds=7.0)


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[Client]:
    """An app whose memory store measures waits on ``clock``."""
    store = MemoryStore(settings.limits)
    store.sequencer.clock = clock
    with TestClient(create_app(settings, store=store, plugins=[Booms()])) as client:
        yield client


def listed(client: Client, query: str) -> tuple[int, list[tuple[str, float]]]:
    answer = client.get(f"/stalled?{query}")
    assert answer.status_code == 200, answer.text
    rows = [(row["channel"], row["waitingSeconds"]) for row in answer.json()]
    return int(answer.headers["x-total-count"]), rows


def test_stalled_is_paged_longest_waiting_first_ties_by_channel(
    client: Client, clock: Clock
) -> None:
    client.post("/messages", json=gap("b"))
    clock.now = 2.0
    client.post("/messages", json=[gap("c"), gap("a")])  # the same time: by channel
    clock.now = 3.0
    client.post("/messages", json=gap("d"))
    clock.now = 4.0
    aside = client.post("/messages", json=boom("s", 1))  # set aside: listed however young
    assert aside.json()["status"] == "setAside"
    clock.now = 10.0
    everything = [("b", 9.0), ("a", 8.0), ("c", 8.0), ("d", 7.0)]
    total, rows = listed(client, "minSeconds=7")
    assert (total, rows[:4], rows[4][0]) == (5, everything, "s")
    assert listed(client, "minSeconds=7&limit=2") == (5, everything[:2])
    assert listed(client, "minSeconds=7&limit=2&offset=2") == (5, everything[2:])
    assert [c for c, _ in listed(client, "minSeconds=7&offset=3")[1]] == ["d", "s"]
    assert listed(client, "minSeconds=7&offset=5") == (5, [])
    assert [c for c, _ in listed(client, "minSeconds=8.5")[1]] == ["b", "s"]
    assert [c for c, _ in listed(client, "limit=4")[1]] == ["b", "a", "c", "d"]
    assert listed(client, "minSeconds=0")[0] == 5
    # The gauges, from the same order: ROCKETS_STALL_SECONDS is 7 here.
    assert gauge(client, "rockets_channels_waiting") == 5
    assert gauge(client, "rockets_pending_messages") == 5
    assert gauge(client, "rockets_channels_stalled") == 4
    assert gauge(client, "rockets_oldest_gap_seconds") == 9.0
    # A gap that closes leaves the listing and the gauges.
    client.post(
        "/messages",
        json=message(
            "b", 1, "RocketLaunched", {"type": "Falcon-9", "launchSpeed": 100, "mission": "M"}
        ),
    )
    client.post("/messages", json=gap("b", 2))
    assert listed(client, "limit=1") == (4, [("a", 8.0)])
    assert gauge(client, "rockets_oldest_gap_seconds") == 8.0


@pytest.mark.parametrize(
    "query", ["limit=0", "offset=-1", "limit=1.5", "limit=x", "limit=9007199254740992"]
)
def test_stalled_checks_its_page_as_the_rockets_listing_does(client: Client, query: str) -> None:
    stalled, rockets = client.get(f"/stalled?{query}"), client.get(f"/rockets?{query}")
    assert stalled.status_code == rockets.status_code == 400
    assert stalled.json()["detail"] == rockets.json()["detail"]


class SteppedWall(datetime):
    """The wall clock as the service reads it, set back by ``step``."""

    step = timedelta(0)

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return datetime.now(tz) + cls.step


def test_a_wall_clock_set_back_moves_no_gap(
    client: Client, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 7: the wall clock stepped back an hour between two gaps. The first stays listed
    first, both with a positive age, and the oldest gap's age is the first one's."""
    monkeypatch.setattr(rockets.runtime.service, "datetime", SteppedWall)
    client.post("/messages", json=gap("early"))
    clock.now = 61.0
    monkeypatch.setattr(SteppedWall, "step", timedelta(hours=-1))
    client.post("/messages", json=gap("late"))
    clock.now = 65.0
    early, late = client.get("/stalled?minSeconds=0").json()
    assert (early["channel"], early["waitingSeconds"]) == ("early", 64.0)
    assert (late["channel"], late["waitingSeconds"]) == ("late", 4.0)
    # What the wall clock said when each was received, as it said it.
    assert early["waitingSince"] > late["waitingSince"]
    assert listed(client, "") == (1, [("early", 64.0)])  # ROCKETS_STALL_SECONDS is 7 here
    assert gauge(client, "rockets_oldest_gap_seconds") == 64.0
    assert gauge(client, "rockets_channels_stalled") == 1


@pytest.mark.parametrize("settings", [core_settings(max_pending_bytes=40)])
def test_the_payload_bytes_waiting_behind_gaps_are_bounded(client: Client) -> None:
    # {"by":1} is 8 bytes: five wait, the sixth would pass 40.
    taken = client.post("/messages", json=[gap("a", n) for n in range(3, 6)])
    assert [ack["status"] for ack in taken.json()] == ["accepted"] * 3
    assert client.post("/messages", json=[gap("b", 3), gap("b", 4)]).status_code == 202
    refused = client.post("/messages", json=gap("c"))
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    body = refused.json()
    assert body["error"] == "pending_full"
    assert "ROCKETS_MAX_PENDING_BYTES" in body["detail"]
    assert client.get("/rockets/c").status_code == 404  # nothing kept of it
    # Filling a gap is never refused, and frees room.
    launch = {"type": "Falcon-9", "launchSpeed": 100, "mission": "M"}
    filled = client.post(
        "/messages",
        json=[message("a", 1, "RocketLaunched", launch), gap("a", 2)],
    )
    assert [ack["status"] for ack in filled.json()] == ["accepted"] * 2
    assert client.get("/rockets/a").json()["lastMessageNumber"] == 5
    assert client.post("/messages", json=gap("c")).json()["status"] == "accepted"


def test_the_bytes_bound_is_a_setting() -> None:
    settings = Settings.from_env({"ROCKETS_MAX_PENDING_BYTES": "1048576"})
    assert settings.limits.max_pending_bytes == 1024 * 1024
    assert Settings().max_pending_bytes == 64 * 1024 * 1024

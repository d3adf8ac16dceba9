"""A message whose ``apply`` fails is set aside on PostgreSQL too (issue 21, finding 2): kept
with its channel's state, shown, and tried again at the next start and by any process that
touches its channel, so that a fixed plugin resumes the channel."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from rockets.app import create_app

from ..conftest import core_settings, message
from ..unit.test_set_aside import ERROR, LAUNCH, Booms, FixedBooms, boom, speed_up

Client = TestClient[Any]


def test_a_set_aside_message_is_kept_shown_and_resumed_at_start(postgres_url: str) -> None:
    settings = core_settings(store=postgres_url)
    with TestClient(create_app(settings, plugins=[Booms()])) as client:
        first = client.post("/messages", json=boom("r", 2))
        assert (first.status_code, first.json()["status"]) == (202, "accepted")
        filler = client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))
        assert (filler.status_code, filler.json()["status"]) == (202, "accepted")
        rest = client.post("/messages", json=[speed_up("r", n) for n in range(3, 51)])
        assert rest.status_code == 202
        assert {ack["status"] for ack in rest.json()} == {"accepted"}
        own = client.post("/messages", json=boom("q", 1))
        assert (own.status_code, own.json()["status"]) == (202, "setAside")
        assert "plugin 'Booms'" in own.json()["detail"]
        state = client.get("/rockets/r").json()
        assert (state["lastMessageNumber"], state["pending"], state["speed"]) == (1, 49, 100)
        aside = {"messageNumber": 2, "messageType": "Boom", "plugin": "Booms", "error": ERROR}
        assert state["setAside"] == aside
        stalled = {s["channel"]: s for s in client.get("/stalled").json()}
        assert stalled["r"]["setAside"] == aside
        assert stalled["q"]["setAside"]["messageNumber"] == 1
        assert client.post("/messages", json=boom("r", 2)).json()["status"] == "duplicate"
        assert [e["messageNumber"] for e in client.get("/rockets/r/events").json()] == [1]
    # Still broken at the next start: tried again, still set aside, and told.
    with TestClient(create_app(settings, plugins=[Booms()])) as client:
        assert client.get("/rockets/r").json()["setAside"] == aside
        faults = client.app.service.faults.open
        assert sorted(f.event for f in faults) == ["q#1", "r#2"]
    # Fixed: the start resumes both channels, without a message of theirs.
    with TestClient(create_app(settings, plugins=[FixedBooms()])) as client:
        state = client.get("/rockets/r").json()
        assert (state["lastMessageNumber"], state["pending"], state["speed"]) == (50, 0, 161)
        assert "setAside" not in state
        events = client.get("/rockets/r/events").json()
        assert [e["messageNumber"] for e in events] == list(range(1, 51))
        assert client.get("/rockets/q").json()["lastMessageNumber"] == 1
        assert client.get("/stalled?minSeconds=0").json() == []
        assert client.app.service.faults.open == []
        fleet = client.get("/projections/fleet")
        assert int(fleet.headers["x-position"]) == 51  # every event in the log, once


def test_a_process_with_the_fixed_plugin_resumes_a_channel_it_touches(postgres_url: str) -> None:
    """A rolling upgrade: the old process set the message aside, the new one (beside it, on the
    same database) applies it with the channel's next message."""
    settings = core_settings(store=postgres_url)
    with (
        TestClient(create_app(settings, plugins=[Booms()])) as old,
        TestClient(create_app(settings, plugins=[FixedBooms()])) as new,
    ):
        assert old.post("/messages", json=message("s", 1, "RocketLaunched", LAUNCH)).json()[
            "status"
        ] == ("accepted")
        assert old.post("/messages", json=boom("s", 2)).json()["status"] == "setAside"
        assert old.post("/messages", json=speed_up("s", 3)).json()["status"] == "accepted"
        assert new.get("/rockets/s").json()["setAside"]["plugin"] == "Booms"
        touched = new.post("/messages", json=speed_up("s", 4))
        assert (touched.status_code, touched.json()["status"]) == (202, "accepted")
        for client in (old, new):
            state = client.get("/rockets/s").json()
            assert (state["lastMessageNumber"], state["pending"], state["speed"]) == (4, 0, 115)
            assert "setAside" not in state
        assert new.app.service.faults.open == []
        # The old process told it stopped: it clears it once it touches the channel again.
        assert [f.key for f in old.app.service.faults.open] == ["channel 's'"]
        assert old.post("/messages", json=speed_up("s", 5)).json()["status"] == "accepted"
        assert old.app.service.faults.open == []

"""A message whose ``apply`` fails is set aside, not its channel's valid messages (issue 21,
finding 2): through a real app on the memory and SQLite stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from rockets import Event, EventType, RocketState, hookimpl
from rockets.app import create_app
from rockets.settings import Settings

from ..conftest import core_settings, message

Client = TestClient[Any]
LAUNCH = {"type": "Falcon-9", "launchSpeed": 100, "mission": "M"}
ERROR = "ZeroDivisionError: integer division or modulo by zero"


class Boom(msgspec.Struct, frozen=True):
    x: int


class Booms:
    """A message type whose ``apply`` fails on ``x == 13``, and a validator that refuses
    ``x < 0``."""

    @staticmethod
    def apply(state: RocketState, event: Event[Boom]) -> RocketState:
        return msgspec.structs.replace(state, speed=state.speed // (event.message.x - 13))

    @hookimpl
    def register_event_types(self) -> list[EventType[Any]]:
        return [EventType(name="Boom", schema=Boom, apply=self.apply)]

    @hookimpl
    def validate_message(self, event: Event[Any]) -> str | None:
        if isinstance(event.message, Boom) and event.message.x < 0:
            return "x must not be negative"
        return None


class FixedBooms(Booms):
    """The same plugin, its ``apply`` fixed."""

    @staticmethod
    def apply(state: RocketState, event: Event[Boom]) -> RocketState:
        return msgspec.structs.replace(state, speed=state.speed + event.message.x)


def boom(channel: str, number: int, x: int = 13) -> dict[str, Any]:
    return message(channel, number, "Boom", {"x": x})


def speed_up(channel: str, number: int) -> dict[str, Any]:
    return message(channel, number, "RocketSpeedIncreased", {"by": 1})


@pytest.fixture(params=["memory", "sqlite"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    store = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/rockets.db"
    return core_settings(store=store)


@pytest.fixture
def client(settings: Settings) -> Iterator[Client]:
    with TestClient(create_app(settings, plugins=[Booms()])) as client:
        yield client


def test_a_message_that_fails_behind_a_gap_blocks_only_itself(client: Client) -> None:
    """The issue's scenario: #2 (its apply raises) accepted while #1 is missing; then the valid
    #1 and #3 to #50 are accepted, and the channel waits at #2, shown with its plugin."""
    first = client.post("/messages", json=boom("r", 2))
    assert (first.status_code, first.json()["status"]) == (202, "accepted")
    filler = client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))
    assert (filler.status_code, filler.json()["status"]) == (202, "accepted")
    rest = client.post("/messages", json=[speed_up("r", n) for n in range(3, 51)])
    assert rest.status_code == 202
    assert {ack["status"] for ack in rest.json()} == {"accepted"}
    state = client.get("/rockets/r").json()
    assert (state["status"], state["speed"], state["lastMessageNumber"]) == ("flying", 100, 1)
    assert state["pending"] == 49  # #2 counts among the waiting messages
    aside = {"messageNumber": 2, "messageType": "Boom", "plugin": "Booms", "error": ERROR}
    assert state["setAside"] == aside
    # Listed at once: it will not move with time alone.
    (stalled,) = client.get("/stalled").json()
    assert (stalled["channel"], stalled["awaitedNumber"], stalled["pending"]) == ("r", 2, 49)
    assert stalled["setAside"] == aside
    # The set-aside message is waiting: a resend is a duplicate, another payload a conflict.
    again = client.post("/messages", json=boom("r", 2))
    assert (again.status_code, again.json()["status"]) == (202, "duplicate")
    assert client.post("/messages", json=boom("r", 2, x=14)).status_code == 409
    assert client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH)).json()[
        "status"
    ] == ("duplicate")
    events = client.get("/rockets/r/events").json()
    assert [e["messageNumber"] for e in events] == [1]
    service = client.app.service
    (fault,) = service.faults.open
    assert (fault.key, fault.plugin, fault.event, fault.error) == (
        "channel 'r'",
        "Booms",
        "r#2",
        ERROR,
    )


def test_the_message_whose_own_apply_fails_is_answered_set_aside(client: Client) -> None:
    single = client.post("/messages", json=boom("one", 1))
    assert single.status_code == 202
    ack = single.json()
    assert (ack["channel"], ack["messageNumber"], ack["status"]) == ("one", 1, "setAside")
    assert "plugin 'Booms'" in ack["detail"]
    assert ERROR in ack["detail"]
    batch = client.post(
        "/messages",
        json=[message("two", 1, "RocketLaunched", LAUNCH), boom("two", 2), speed_up("two", 3)],
    )
    assert batch.status_code == 202
    assert [a["status"] for a in batch.json()] == ["accepted", "setAside", "accepted"]
    assert [a.get("detail") is not None for a in batch.json()] == [False, True, False]
    state = client.get("/rockets/two").json()
    assert (state["lastMessageNumber"], state["pending"]) == (1, 2)
    assert state["setAside"]["messageNumber"] == 2
    # No set-aside message: no key (the state reads as before).
    client.post("/messages", json=message("fine", 1, "RocketLaunched", LAUNCH))
    assert "setAside" not in client.get("/rockets/fine").json()


def test_a_validator_refusal_is_never_kept(client: Client) -> None:
    refused = client.post("/messages", json=boom("v", 1, x=-1))
    assert refused.status_code == 422
    assert client.get("/rockets/v").status_code == 404
    assert client.get("/stalled?minSeconds=0").json() == []


def test_set_aside_is_not_a_sort_or_a_filter(client: Client) -> None:
    assert client.get("/rockets?sort=setAside").status_code == 400
    assert client.get("/rockets?setAside=1").status_code == 400


def test_a_restart_with_the_plugin_fixed_resumes_the_channel(tmp_path: Path) -> None:
    settings = core_settings(store=f"sqlite:///{tmp_path}/rockets.db")
    with TestClient(create_app(settings, plugins=[Booms()])) as client:
        client.post("/messages", json=boom("r", 2))
        client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))
        client.post("/messages", json=[speed_up("r", n) for n in range(3, 51)])
        client.post("/messages", json=boom("q", 1))
        assert client.get("/rockets/r").json()["lastMessageNumber"] == 1
    # Restarted with the same broken plugin: still set aside, and told again.
    with TestClient(create_app(settings, plugins=[Booms()])) as client:
        state = client.get("/rockets/r").json()
        assert (state["lastMessageNumber"], state["pending"]) == (1, 49)
        assert state["setAside"]["messageNumber"] == 2
        faults = client.app.service.faults.open
        assert sorted(f.event for f in faults) == ["q#1", "r#2"]
    with TestClient(create_app(settings, plugins=[FixedBooms()])) as client:
        state = client.get("/rockets/r").json()
        assert (state["lastMessageNumber"], state["pending"], state["speed"]) == (50, 0, 161)
        assert "setAside" not in state
        assert [e["messageNumber"] for e in client.get("/rockets/r/events").json()] == list(
            range(1, 51)
        )
        assert client.get("/rockets/q").json()["lastMessageNumber"] == 1
        assert client.get("/stalled?minSeconds=0").json() == []
        assert client.app.service.faults.open == []
        # The channel goes on as any other.
        assert client.post("/messages", json=speed_up("r", 51)).json()["status"] == "accepted"
    # The resumed events were kept in the log: the next start reads them back as applied.
    with TestClient(create_app(settings, plugins=[FixedBooms()])) as client:
        state = client.get("/rockets/r").json()
        assert (state["lastMessageNumber"], state["pending"], state["speed"]) == (51, 0, 162)
        fleet = client.get("/projections/fleet")
        assert int(fleet.headers["x-position"]) == 52  # r: 51 events, q: 1 (and none twice)

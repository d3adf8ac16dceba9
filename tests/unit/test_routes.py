from __future__ import annotations

import random
import re
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from litestar import Litestar, get
from litestar.params import FromPath, FromQuery, HeaderParameter, QueryParameter
from litestar.testing import TestClient

from rockets.app import create_app
from rockets.errors import StoreError
from rockets.http.answers import INTEGER_IN_DIGITS, NUMBER_IN_DIGITS, one_of
from rockets.http.dashboard import STATIC
from rockets.http.error_handlers import exception_handlers
from rockets.http.query_rules import QueryRules
from rockets.http.routes import LISTING_PIECE
from rockets.settings import Settings
from rockets.stores import Commit, MemoryStore

from ..conftest import ROOT, core_settings
from ..histories import Message, api_fields, deliveries, expected, history

Client = TestClient  # type: ignore[type-arg]


def msg(
    channel: str, number: int | None, kind: str, payload: dict[str, Any], **meta: Any
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"channel": channel, "messageType": kind, **meta}
    if number is not None:
        metadata["messageNumber"] = number
    return {"metadata": metadata, "message": payload}


LAUNCH = {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"}


def launch(channel: str, number: int = 1, **payload: Any) -> dict[str, Any]:
    return msg(channel, number, "RocketLaunched", {**LAUNCH, **payload})


def test_post_one_message_and_read_the_rocket(client: Client) -> None:
    response = client.post(
        "/messages",
        json=msg("r1", 1, "RocketLaunched", LAUNCH, messageTime="2022-02-02T19:39:05.86337+01:00"),
    )
    assert response.status_code == 202
    assert response.json() == {"channel": "r1", "messageNumber": 1, "status": "accepted"}
    rocket = client.get("/rockets/r1").json()
    assert rocket == {
        "channel": "r1",
        "type": "Falcon-9",
        "mission": "ARTEMIS",
        "speed": 500,
        "status": "flying",
        "reason": None,
        "launchedAt": "2022-02-02T19:39:05.863370+01:00",
        "updatedAt": "2022-02-02T19:39:05.863370+01:00",
        "lastMessageNumber": 1,
        "pending": 0,
        "waitingSince": None,
    }


def test_out_of_order_waits_then_applies(client: Client) -> None:
    assert (
        client.post("/messages", json=msg("r", 3, "RocketSpeedIncreased", {"by": 5})).status_code
        == 202
    )
    assert (
        client.post("/messages", json=msg("r", 2, "RocketSpeedDecreased", {"by": 100})).status_code
        == 202
    )
    waiting = client.get("/rockets/r").json()
    assert (waiting["lastMessageNumber"], waiting["pending"], waiting["status"]) == (
        0,
        2,
        "unknown",
    )
    client.post("/messages", json=launch("r"))
    rocket = client.get("/rockets/r").json()
    assert (rocket["lastMessageNumber"], rocket["pending"], rocket["speed"]) == (3, 0, 405)


def test_duplicate_is_acknowledged_and_changes_nothing(client: Client) -> None:
    client.post("/messages", json=launch("r"))
    client.post("/messages", json=msg("r", 2, "RocketSpeedIncreased", {"by": 5}))
    before = client.get("/rockets/r").json()
    for body in (launch("r"), msg("r", 2, "RocketSpeedIncreased", {"by": 5})):
        response = client.post("/messages", json=body)
        assert response.status_code == 202
        assert response.json()["status"] == "duplicate"
    assert client.get("/rockets/r").json() == before
    assert len(client.get("/rockets/r/events").json()) == 2


def test_duplicate_of_a_pending_message(client: Client) -> None:
    body = msg("r", 4, "RocketSpeedIncreased", {"by": 5})
    assert client.post("/messages", json=body).json()["status"] == "accepted"
    assert client.post("/messages", json=body).json()["status"] == "duplicate"
    assert client.get("/rockets/r").json()["pending"] == 1


def test_conflict_names_both_messages_and_keeps_the_first(client: Client) -> None:
    client.post("/messages", json=launch("r"))
    response = client.post("/messages", json=launch("r", launchSpeed=1))
    assert response.status_code == 409
    error = response.json()
    assert error["error"] == "conflict"
    assert (error["channel"], error["messageNumber"]) == ("r", 1)
    assert error["conflict"]["existing"] == {"messageType": "RocketLaunched", "message": LAUNCH}
    assert error["conflict"]["received"]["message"]["launchSpeed"] == 1
    other_type = client.post("/messages", json=msg("r", 1, "RocketExploded", {"reason": "x"}))
    assert other_type.status_code == 409
    assert other_type.json()["conflict"]["received"]["messageType"] == "RocketExploded"
    assert client.get("/rockets/r").json()["speed"] == 500


def test_conflict_with_a_pending_message(client: Client) -> None:
    client.post("/messages", json=msg("r", 3, "RocketSpeedIncreased", {"by": 5}))
    response = client.post("/messages", json=msg("r", 3, "RocketSpeedIncreased", {"by": 6}))
    assert response.status_code == 409
    assert response.json()["conflict"]["existing"]["message"] == {"by": 5}


def test_metadata_defaults(client: Client) -> None:
    response = client.post(
        "/messages", json={"metadata": {"messageType": "RocketLaunched"}, "message": LAUNCH}
    )
    ack = response.json()
    assert ack["messageNumber"] == 1
    channel = ack["channel"]
    assert uuid.UUID(channel)
    rocket = client.get(f"/rockets/{channel}").json()
    assert rocket["launchedAt"] is not None  # receipt time
    # Missing and non-positive numbers follow the highest number seen, pending ones included.
    client.post("/messages", json=msg(channel, 5, "RocketSpeedIncreased", {"by": 1}))
    for number in (None, 0, -3):
        ack = client.post(
            "/messages", json=msg(channel, number, "RocketSpeedIncreased", {"by": 1})
        ).json()
        assert ack["status"] == "accepted"
    events = client.get(f"/rockets/{channel}/events").json()
    assert [e["messageNumber"] for e in events] == [1]
    assert client.get(f"/rockets/{channel}").json()["pending"] == 4
    assert client.get(f"/rockets/{channel}").json()["lastMessageNumber"] == 1


def test_unparsable_time_becomes_time_of_receipt(client: Client) -> None:
    client.post("/messages", json=msg("r", 1, "RocketLaunched", LAUNCH, messageTime="last tuesday"))
    (event,) = client.get("/rockets/r/events").json()
    assert event["messageTime"] == event["receivedAt"]


def test_batch_gets_one_ack_per_message_in_order(client: Client) -> None:
    batch = [
        msg("b", 2, "RocketSpeedIncreased", {"by": 10}),
        launch("b"),
        launch("b"),
        msg("other", None, "RocketExploded", {"reason": "x"}),
    ]
    response = client.post("/messages", json=batch)
    assert response.status_code == 202
    assert [(a["channel"], a["messageNumber"], a["status"]) for a in response.json()] == [
        ("b", 2, "accepted"),
        ("b", 1, "accepted"),
        ("b", 1, "duplicate"),
        ("other", 1, "accepted"),
    ]
    assert client.get("/rockets/b").json()["speed"] == 510


def test_batch_is_validated_all_or_nothing(client: Client) -> None:
    batch = [launch("b"), msg("b", 2, "RocketSpeedIncreased", {"by": -1})]
    response = client.post("/messages", json=batch)
    assert response.status_code == 400
    assert response.json()["path"] == "$[1].message.by"
    assert client.get("/rockets/b").status_code == 404


def test_batch_with_a_conflict_is_409_and_reports_each_message(client: Client) -> None:
    client.post("/messages", json=launch("b"))
    response = client.post(
        "/messages",
        json=[launch("b", launchSpeed=3), msg("b", 2, "RocketSpeedIncreased", {"by": 1})],
    )
    assert response.status_code == 409
    first, second = response.json()
    assert first["status"] == "conflict"
    assert "different" in first["detail"]
    assert second["status"] == "accepted"


@pytest.mark.parametrize(
    ("body", "status", "path"),
    [
        (b"{not json", 400, "$"),
        (b"", 400, "$"),
        (b'"just a string"', 400, "$"),
        (
            b'{"metadata": {"messageType": "RocketSpeedIncreased", "channel": "r"}, "message": {"by": -1}}',
            400,
            "$.message.by",
        ),
        (
            b'{"metadata": {"messageType": "RocketSpeedIncreased", "channel": "r"}, "message": {"by": "1"}}',
            400,
            "$.message.by",
        ),
        (
            b'{"metadata": {"messageType": "RocketSpeedIncreased", "channel": "r", "messageNumber": "1"}, "message": {"by": 1}}',
            400,
            "$.metadata.messageNumber",
        ),
        (
            b'{"metadata": {"messageType": "Teleported", "channel": "r"}, "message": {}}',
            400,
            "$.metadata.messageType",
        ),
    ],
)
def test_bad_input_is_a_4xx_that_changes_nothing(
    client: Client, body: bytes, status: int, path: str
) -> None:
    response = client.post("/messages", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    error = response.json()
    assert error["status"] == status
    assert error["path"] == path
    assert error["detail"]
    assert client.get("/rockets").json() == []


def test_unknown_type_error_lists_known_types(client: Client) -> None:
    response = client.post("/messages", json=msg("r", 1, "Teleported", {}))
    assert response.json()["knownTypes"] == [
        "RocketExploded",
        "RocketLaunched",
        "RocketMissionChanged",
        "RocketSpeedDecreased",
        "RocketSpeedIncreased",
    ]


def test_body_over_one_mebibyte_is_413(client: Client) -> None:
    body = (
        b'{"metadata": {"messageType": "RocketExploded"}, "message": {"reason": "'
        + b"x" * (1024 * 1024)
        + b'"}}'
    )
    response = client.post("/messages", content=body)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert client.get("/rockets").json() == []


@pytest.mark.parametrize("settings", [core_settings(max_pending_per_channel=2)])
def test_full_pending_buffer_is_429_with_retry_after(client: Client) -> None:
    for n in (3, 4):
        assert (
            client.post(
                "/messages", json=msg("r", n, "RocketSpeedIncreased", {"by": 1})
            ).status_code
            == 202
        )
    response = client.post("/messages", json=msg("r", 5, "RocketSpeedIncreased", {"by": 1}))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"] == "pending_full"
    # The messages that fill the gap free the buffer; past the bound again, only the excess is
    # refused, and the answer says which.
    batch = [launch("r"), *(msg("r", n, "RocketSpeedIncreased", {"by": 1}) for n in (2, 9, 10, 11))]
    response = client.post("/messages", json=batch)
    assert response.status_code == 429
    statuses = [a["status"] for a in response.json()]
    assert statuses == ["accepted", "accepted", "accepted", "accepted", "rejected"]
    rocket = client.get("/rockets/r").json()
    assert (rocket["lastMessageNumber"], rocket["pending"]) == (4, 2)


def seed(client: Client) -> None:
    rockets = [
        ("a", "Falcon-9", "ARTEMIS", 500, False),
        ("b", "Starship", "MARS", 900, True),
        ("c", "Falcon-9", "MARS", 100, False),
        ("d", "Ariane-6", "ARTEMIS", 700, False),
    ]
    for i, (channel, kind, mission, speed, blow_up) in enumerate(rockets):
        payload = {"type": kind, "mission": mission, "launchSpeed": speed}
        when = f"2022-01-0{i + 1}T00:00:00Z"
        client.post("/messages", json=msg(channel, 1, "RocketLaunched", payload, messageTime=when))
        if blow_up:
            client.post("/messages", json=msg(channel, 2, "RocketExploded", {"reason": "boom"}))
    client.post("/messages", json=msg("waiting", 3, "RocketSpeedIncreased", {"by": 1}))


def channels(response: Any) -> list[str]:
    return [r["channel"] for r in response.json()]


def test_list_sorts_filters_and_pages(client: Client) -> None:
    seed(client)
    response = client.get("/rockets")
    assert channels(response) == ["a", "b", "c", "d", "waiting"]
    assert response.headers["x-total-count"] == "5"
    assert channels(client.get("/rockets?sort=speed")) == ["waiting", "c", "a", "d", "b"]
    assert channels(client.get("/rockets?sort=speed&order=desc")) == ["b", "d", "a", "c", "waiting"]
    # Rockets without a value come last in both orders.
    assert channels(client.get("/rockets?sort=type")) == ["d", "a", "c", "b", "waiting"]
    assert channels(client.get("/rockets?sort=type&order=desc")) == ["b", "c", "a", "d", "waiting"]
    assert channels(client.get("/rockets?sort=launchedAt&order=desc")) == [
        "d",
        "c",
        "b",
        "a",
        "waiting",
    ]
    assert channels(client.get("/rockets?sort=mission")) == ["a", "d", "b", "c", "waiting"]
    assert channels(client.get("/rockets?sort=status")) == ["b", "a", "c", "d", "waiting"]
    assert channels(client.get("/rockets?sort=updatedAt")) == ["a", "c", "d", "b", "waiting"]
    assert channels(client.get("/rockets?status=flying")) == ["a", "c", "d"]
    assert channels(client.get("/rockets?type=Falcon-9&mission=MARS")) == ["c"]
    assert channels(client.get("/rockets?mission=nowhere")) == []
    page = client.get("/rockets?sort=speed&order=desc&limit=2&offset=1")
    assert channels(page) == ["d", "a"]
    assert page.headers["x-total-count"] == "5"
    filtered = client.get("/rockets?status=flying&limit=1")
    assert channels(filtered) == ["a"]
    assert filtered.headers["x-total-count"] == "3"


@pytest.mark.parametrize("query", ["sort=nope", "order=up", "limit=0", "limit=x", "offset=-1"])
def test_list_rejects_bad_query(client: Client, query: str) -> None:
    response = client.get(f"/rockets?{query}")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert query.split("=")[0] in response.json()["detail"]


def test_unknown_rocket_is_a_json_404(client: Client) -> None:
    for path in ("/rockets/nobody", "/rockets/nobody/events"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
        assert "nobody" in response.json()["detail"]


def test_a_404_names_the_channel_and_the_event_it_lacks(client: Client) -> None:
    assert client.get("/rockets/nobody").json() == {
        "status": 404,
        "error": "not_found",
        "detail": "no rocket on channel 'nobody'",
        "channel": "nobody",
    }
    client.post("/messages", json=launch("r"))
    assert client.get("/rockets/r?at=2").json() == {
        "status": 404,
        "error": "not_found",
        "detail": "channel 'r' has no event 2 yet (last applied: 1)",
        "channel": "r",
        "messageNumber": 2,
    }


def test_state_at_replays_to_that_event(client: Client) -> None:
    client.post("/messages", json=launch("r"))
    client.post("/messages", json=msg("r", 2, "RocketSpeedIncreased", {"by": 100}))
    client.post("/messages", json=msg("r", 3, "RocketMissionChanged", {"newMission": "MARS"}))
    client.post("/messages", json=msg("r", 5, "RocketSpeedIncreased", {"by": 1}))
    assert client.get("/rockets/r?at=1").json()["speed"] == 500
    at2 = client.get("/rockets/r?at=2").json()
    assert (at2["speed"], at2["mission"], at2["lastMessageNumber"]) == (600, "ARTEMIS", 2)
    current = client.get("/rockets/r").json()
    assert client.get("/rockets/r?at=3").json() == current
    missing = client.get("/rockets/r?at=4")
    assert missing.status_code == 404
    assert "last applied: 3" in missing.json()["detail"]
    assert client.get("/rockets/r?at=0").status_code == 400


def test_events_in_order_with_paging(client: Client) -> None:
    client.post("/messages", json=launch("r"))
    for n in range(2, 8):
        client.post("/messages", json=msg("r", n, "RocketSpeedIncreased", {"by": n}))
    events = client.get("/rockets/r/events")
    body = events.json()
    assert events.headers["x-total-count"] == "7"
    assert [e["messageNumber"] for e in body] == list(range(1, 8))
    assert body[1]["messageType"] == "RocketSpeedIncreased"
    assert body[1]["message"] == {"by": 2}
    assert set(body[0]) == {"messageNumber", "messageType", "messageTime", "receivedAt", "message"}
    page = client.get("/rockets/r/events?from=3&limit=2").json()
    assert [e["messageNumber"] for e in page] == [3, 4]
    assert client.get("/rockets/r/events?from=99").json() == []
    assert client.get("/rockets/r/events?limit=0").status_code == 400


def test_health(client: Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert (body["store"], body["workers"]) == ("memory", 3)


class UnreachableStore(MemoryStore):
    async def ping(self) -> None:
        raise StoreError("connection refused")


def test_health_is_503_when_the_store_is_unreachable() -> None:
    with TestClient(create_app(Settings(), store=UnreachableStore())) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "connection refused" in response.json()["detail"]


def test_unknown_route_and_method_are_json(client: Client) -> None:
    assert client.get("/nowhere").json()["status"] == 404
    response = client.delete("/rockets")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("settings", [core_settings(worker_count=1), core_settings(worker_count=4)])
def test_shuffled_duplicated_histories_end_in_the_spec_state(client: Client) -> None:
    rng = random.Random(7)
    lives = {f"rocket-{i}": history(rng, f"rocket-{i}", rng.randrange(1, 30)) for i in range(20)}
    traffic: list[Message] = deliveries(rng, [m for life in lives.values() for m in life], 0.3)
    for start in range(0, len(traffic), 7):
        chunk = traffic[start : start + 7]
        if start % 2:
            response = client.post("/messages", json=[m.json() for m in chunk])
            assert response.status_code == 202
        else:
            for m in chunk:
                assert client.post("/messages", json=m.json()).status_code == 202
    for channel, life in lives.items():
        assert api_fields(client.get(f"/rockets/{channel}").json()) == expected(life).as_api(
            channel
        )
        events = client.get(f"/rockets/{channel}/events").json()
        assert [(e["messageType"], e["message"]) for e in events] == [
            (m.type, m.payload) for m in life
        ]


def test_deeply_nested_json_is_a_400_not_a_500(client: Client) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for body in (
        b'{"metadata": {"messageType": "RocketExploded"}, "message": ' + deep + b"}",
        b'{"metadata": {"messageType": "RocketExploded", "extra": '
        + deep
        + b'}, "message": {"reason": "r"}}',
        deep,
    ):
        response = client.post("/messages", content=body)
        assert response.status_code == 400
        assert response.json()["error"] in ("malformed_json", "invalid_message")
    assert client.get("/health").status_code == 200


class PickyStore(MemoryStore):
    """Fails every commit that touches channel 'bad'."""

    async def _write(self, commit: Commit, positions: range) -> None:
        if any(r.channel == "bad" for r in commit.received):
            raise StoreError("disk full")
        await super()._write(commit, positions)


def test_a_store_failure_fails_only_the_messages_it_hit() -> None:
    app = create_app(core_settings(worker_count=4), store=PickyStore())
    pool = app.service.pool
    # A channel that lands on another worker than 'bad' (string hashes differ between runs).
    fine = next(c for c in (f"good{i}" for i in range(100)) if pool.index(c) != pool.index("bad"))
    with TestClient(app) as client:
        single = client.post("/messages", json=launch("bad"))
        assert single.status_code == 503
        assert single.headers["retry-after"] == "1"
        assert single.json()["error"] == "unavailable"
        response = client.post("/messages", json=[launch(fine), launch("bad")])
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        good, bad = response.json()
        assert good["status"] == "accepted"
        assert bad["status"] == "rejected"
        assert "store failed" in bad["detail"]
        assert client.get(f"/rockets/{fine}").status_code == 200
        assert client.get("/rockets/bad").status_code == 404
        # Sending the batch again is safe: what was kept comes back as a duplicate.
        again = client.post("/messages", json=[launch(fine), launch("bad")]).json()
        assert [a["status"] for a in again] == ["duplicate", "rejected"]


def test_numbering_past_the_largest_number_is_refused(client: Client) -> None:
    client.post("/messages", json=msg("r", 2**53 - 1, "RocketSpeedIncreased", {"by": 1}))
    response = client.post("/messages", json=msg("r", None, "RocketSpeedIncreased", {"by": 1}))
    assert response.status_code == 400
    assert response.json()["error"] == "numbers_exhausted"


# Hostile path and query values, refused at the edge whatever the store: (URL, where the API
# takes the value, its name as the API spells it).
HOSTILE: list[tuple[str, str, str]] = [
    ("/rockets/a%00b", "path", "channel"),
    ("/rockets/a%00b/events", "path", "channel"),
    ("/rockets/a%00b/history", "path", "channel"),
    ("/rockets?mission=a%00b", "query", "mission"),
    ("/rockets?status=a%00b", "query", "status"),
    ("/rockets?type=a%00b", "query", "type"),
    ("/rockets?limit=9223372036854775808", "query", "limit"),
    ("/rockets?offset=9223372036854775808", "query", "offset"),
    ("/rockets?limit=9007199254740992", "query", "limit"),
    ("/rockets/r?at=9223372036854775808", "query", "at"),
    ("/rockets/r/events?from=9223372036854775808", "query", "from"),
    ("/rockets/r/history?from=9223372036854775808", "query", "from"),
    ("/stream?channel=a%00b", "query", "channel"),
]


@pytest.fixture(params=["memory", "sqlite"])
def any_local_store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Client]:
    store = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/rockets.db"
    with TestClient(create_app(core_settings(store=store))) as test_client:
        test_client.post("/messages", json=launch("r"))
        yield test_client


@pytest.mark.parametrize(("url", "source", "name"), HOSTILE)
def test_hostile_path_and_query_values_are_refused_naming_the_parameter(
    any_local_store: Client, url: str, source: str, name: str
) -> None:
    response = any_local_store.get(url)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert response.json()["detail"].startswith(f"{source} parameter {name!r}: ")


UNPRINTABLE = ["\x00", "\x1f", "\x7f", "\x85", "\x9f", "\u2028", "\u2029", "\u202a", "\u202e"]
UNPRINTABLE += ["\u2066", "\u2069"]


@pytest.mark.parametrize("character", UNPRINTABLE, ids=[f"U+{ord(c):04X}" for c in UNPRINTABLE])
def test_a_channel_is_printable_wherever_it_enters(client: Client, character: str) -> None:
    channel = f"r{character}1"
    posted = client.post("/messages", json=launch(channel))
    assert posted.status_code == 400
    assert posted.json()["path"] == "$.metadata.channel"
    assert "printable text without '/'" in posted.json()["detail"]
    quoted = urllib.parse.quote(channel)
    for url in (f"/rockets/{quoted}", f"/rockets/{quoted}/events", f"/rockets/{quoted}/history"):
        read = client.get(url)
        assert read.status_code == 400, url
        assert read.json()["detail"].startswith("path parameter 'channel': Expected printable")
    streamed = client.get(f"/stream?channel={quoted}")
    assert streamed.status_code == 400
    assert streamed.json()["detail"].startswith("query parameter 'channel': Expected printable")
    filtered = client.get(f"/rockets?mission={quoted}")
    assert filtered.status_code == 400
    assert filtered.json()["detail"].startswith("query parameter 'mission': Expected printable")
    assert client.get("/rockets").json() == []


def test_a_channel_may_not_end_with_a_newline(client: Client) -> None:
    # A pattern's "$" also matches before a final newline: the rule must see the very end.
    assert client.post("/messages", json=launch("r\n")).status_code == 400
    assert client.get("/rockets/r%0A").status_code == 400


def test_printable_text_is_any_other_character(client: Client) -> None:
    channel = "ракета-🚀 1 é\u200e"  # letters, emoji, space, a bidi *mark* (not a control)
    assert client.post("/messages", json=launch(channel, mission="Мир/2")).status_code == 202
    quoted = urllib.parse.quote(channel)
    assert client.get(f"/rockets/{quoted}").json()["channel"] == channel
    assert channels(client.get(f"/rockets?mission={urllib.parse.quote('Мир/2')}")) == [channel]
    assert client.get("/rockets/" + "c" * 129).status_code == 400  # the length rule too


@pytest.mark.parametrize(
    "query",
    [
        "/rockets?limit=1e3",
        "/rockets?limit=1.0",
        "/rockets?offset=1E2",
        "/rockets/r?at=1e0",
        "/rockets/r/events?from=1e0",
        "/rockets/r/events?limit=1e2",
        "/rockets/r/history?from=2.0",
    ],
)
def test_an_integer_query_value_is_written_in_digits(client: Client, query: str) -> None:
    client.post("/messages", json=launch("r"))
    response = client.get(query)
    assert response.status_code == 400
    name = query.rpartition("?")[2].rpartition("&")[2].partition("=")[0]
    assert response.json()["detail"] == (
        f"query parameter {name!r}: an integer is written in decimal digits, with a leading "
        "'-' if negative (no exponent, fraction, '+' or space)"
    )


@pytest.mark.parametrize(
    "query",
    [
        "/rockets?order=asc&order=desc",
        "/rockets?limit=5&limit=1e3",
        "/stalled?minSeconds=1&minSeconds=1",
    ],
)
def test_a_query_parameter_given_twice_is_refused(client: Client, query: str) -> None:
    # Litestar would take the last one: which one the client meant is a guess.
    response = client.get(query)
    assert response.status_code == 400
    name = query.rpartition("?")[2].partition("=")[0]
    assert response.json()["detail"] == f"query parameter {name!r}: given 2 times; give it once"


def test_integer_query_values_in_digits_are_taken(client: Client) -> None:
    seed(client)
    assert channels(client.get("/rockets?limit=2&offset=1")) == ["b", "c"]
    assert client.get("/rockets/a?at=1").status_code == 200
    assert client.get(f"/rockets?offset={2**53 - 1}").json() == []


# The example package's `fuel` field too.
@pytest.mark.parametrize("settings", [Settings(plugin_modules=("rockets_fuel.plugin",))])
def test_a_plugin_field_filter_follows_the_same_rules(client: Client) -> None:
    assert client.post("/messages", json=launch("r")).status_code == 202
    assert channels(client.get("/rockets?fuel=0")) == ["r"]
    for query, problem in (("fuel=1%00", "Expected printable"), ("fuel=1e3", "an integer is")):
        response = client.get(f"/rockets?{query}")
        assert response.status_code == 400
        assert response.json()["detail"].startswith(f"query parameter 'fuel': {problem}")


READS = [
    "/rockets",
    "/rockets/r",
    "/rockets/r?at=1",
    "/rockets/r/events",
    "/rockets/r/history",
    "/health",
    "/stalled",
    "/plugins",
    "/metrics",
    "/",
    "/dashboard/app.js",
    "/rockets/nobody",
    "/rockets?limit=0",
]


@pytest.mark.parametrize("url", READS)
def test_head_answers_like_get_without_the_body(client: Client, url: str) -> None:
    client.post("/messages", json=launch("r"))
    got = client.get(url)
    head = client.head(url)
    assert head.status_code == got.status_code
    assert head.headers["content-type"] == got.headers["content-type"]
    if url != "/metrics":  # its figures move between the two requests
        assert head.headers["content-length"] == got.headers["content-length"]
    assert head.content == b""


def test_head_stays_out_of_the_openapi_document(client: Client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert {method for operations in paths.values() for method in operations} == {"get", "post"}


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/dashboard/x%00", 404),
        ("/dashboard/..%2Findex.html", 404),
        ("/dashboard/index.html", 404),
        ("/dashboard/", 404),
        ("/dashboard/app.js", 200),
        ("/dashboard/table.js", 200),
        ("/dashboard/style.css", 200),
        ("/", 200),
    ],
)
def test_the_dashboard_serves_its_page_and_files_and_nothing_else(
    client: Client, url: str, status: int
) -> None:
    response = client.get(url)
    assert response.status_code == status
    if status == 404:
        assert response.json()["error"] == "not_found"
    else:
        name = url.rpartition("/")[2] or "index.html"
        kind = {"js": "javascript", "css": "css", "html": "html"}[name.rpartition(".")[2]]
        assert response.headers["content-type"] == f"text/{kind}; charset=utf-8"
        assert response.content == (STATIC / name).read_bytes()


def test_a_second_metadata_key_is_refused_and_nothing_is_stored(client: Client) -> None:
    body = (
        b'{"metadata": {"channel": "r", "messageNumber": 1, "messageType": "RocketLaunched"},'
        b' "message": {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"},'
        b' "metadata": {"channel": "s", "messageNumber": 1, "messageType": "RocketLaunched"}}'
    )
    response = client.post("/messages", content=body)
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "error": "malformed_json",
        "detail": "the key 'metadata' appears twice in one object",
        "path": "$.metadata",
    }
    assert client.get("/rockets").json() == []


# A plugin whose fields have a JSON name other than their Python name (`last_site` is
# `lastSite`) and few allowed values (`landing`), besides the example package's `fuel`.
LANDING = core_settings().with_values(
    plugins_dir=str(ROOT / "tests" / "plugins" / "landing"),
    plugin_modules=("rockets_fuel.plugin",),
)
API = (ROOT / "docs" / "api.md").read_text()


def wrong_values(schema: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Values a query parameter with this schema refuses, each with the problem the answer
    must state after the parameter's name (None: msgspec's own sentence about a range)."""
    variants = [schema, *schema.get("oneOf", ()), *schema.get("anyOf", ())]
    kinds = {v.get("type") for v in variants}
    enum = next((v["enum"] for v in variants if "enum" in v), None)
    if enum is not None:
        return [("nope", one_of(enum))]
    wrong: list[tuple[str, str | None]] = []
    if "integer" in kinds:
        wrong += [("1e3", INTEGER_IN_DIGITS), ("x", INTEGER_IN_DIGITS)]
    if "number" in kinds:
        wrong += [("1e3", NUMBER_IN_DIGITS), ("nan", NUMBER_IN_DIGITS)]
    for bound, step in (("minimum", -1), ("maximum", 1)):
        if (limit := next((v[bound] for v in variants if bound in v), None)) is not None:
            wrong.append((str(int(limit) + step), None))
    if "string" in kinds:
        # Every text of a query is printable (docs/api.md), whether its schema says so or not.
        wrong.append(("a\x00b", "Expected printable text"))
        if (longest := schema.get("maxLength")) is not None:
            wrong.append(("c" * (longest + 1), f"Expected text of at most {longest} characters"))
    return wrong


def test_every_documented_query_parameter_is_named_as_documented_when_refused() -> None:
    """Walks the OpenAPI document: every query parameter of every route, given a wrong value,
    is refused with a 400 naming it as the API spells it, listing the allowed values where the
    document lists them, with no regex or internal name; every route refuses a parameter it
    does not take, listing exactly the documented ones (and access_token), and takes those."""
    with TestClient(create_app(LANDING)) as client:
        client.post("/messages", json=launch("r"))
        document = client.get("/schema/openapi.json").json()
        walked = set()
        for template, operations in document["paths"].items():
            if "get" not in operations:
                continue
            path = template.replace("{channel}", "r")
            query = [p for p in operations["get"].get("parameters", []) if p["in"] == "query"]
            names = [p["name"] for p in query]
            unknown = client.get(path, params={"bogus": "1"})
            assert unknown.status_code == 400, template
            assert unknown.json()["detail"] == (
                "query parameter 'bogus': unknown; this route takes "
                + ", ".join([*names, "access_token"])
            )
            if template != "/stream":  # it would never end; its channel is refused below
                assert client.get(path, params={"access_token": "t"}).status_code == 200
            for parameter in query:
                name = parameter["name"]
                wrong = wrong_values(parameter["schema"])
                assert wrong, f"{template}: no wrong value known for {name}"
                for value, problem in wrong:
                    answer = client.get(path, params={name: value})
                    assert answer.status_code == 400, (template, name, value)
                    detail = answer.json()["detail"]
                    assert detail.startswith(f"query parameter {name!r}: "), detail
                    if problem is not None:
                        assert detail.removeprefix(f"query parameter {name!r}: ").startswith(
                            problem
                        ), detail
                    assert "regex" not in detail, detail
                    assert "enum" not in detail, detail
                walked.add((template, name))
                if "plugin" not in parameter.get("description", ""):
                    mentioned = re.search(rf"`\??{re.escape(name)}=?`", API)
                    assert mentioned, f"docs/api.md does not mention {name}"
    assert {name for _, name in walked} >= {
        "sort", "order", "status", "type", "mission", "limit", "offset", "fuel", "lastSite",
        "landing", "at", "from", "minSeconds", "channel",
    }  # fmt: skip


def test_a_plugin_field_is_filtered_by_its_json_name_only() -> None:
    with TestClient(create_app(LANDING)) as client:
        client.post("/messages", json=launch("r"))
        assert channels(client.get("/rockets?lastSite=LZ-1")) == []
        wrong = client.get("/rockets?last_site=LZ-1")
        assert wrong.status_code == 400
        assert wrong.json()["detail"] == (
            "query parameter 'last_site': unknown (did you mean 'lastSite'?); this route takes "
            "sort, order, status, type, mission, limit, offset, fuel, lastSite, landing, "
            "access_token"
        )
        assert client.get("/rockets?landing=moon").json()["detail"] == (
            "query parameter 'landing': use one of pad, ship"
        )


def test_the_dashboard_serves_every_file_of_its_package(client: Client) -> None:
    # A module the page imports but the table of assets lacks would be a 404 in the browser.
    for path in STATIC.iterdir():
        if path.suffix in {".js", ".css"}:
            assert client.get(f"/dashboard/{path.name}").status_code == 200, path.name


def test_the_dashboard_page_takes_any_query(client: Client) -> None:
    # A page and its files are opened by browsers, which may add what they like.
    assert client.get("/?utm_source=x").status_code == 200
    assert client.get("/dashboard/app.js?v=2").status_code == 200


def test_the_query_rules_read_a_handlers_query_parameters_from_its_signature() -> None:
    """Whatever Litestar reads from the query is taken, under the name it has there; a header
    or a path parameter is not."""

    @get("/things/{kind:str}", before_request=QueryRules().check)
    async def things(
        kind: FromPath[str],
        count: FromQuery[int] = 1,
        named: Annotated[str | None, QueryParameter(name="aName")] = None,
        header: Annotated[str | None, HeaderParameter(name="X-Thing")] = None,
    ) -> str:
        return f"{kind} {count} {named} {header}"

    app = Litestar([things], exception_handlers=exception_handlers)
    with TestClient(app) as things_client:
        taken = things_client.get("/things/a?count=2&aName=b", headers={"X-Thing": "c"})
        assert taken.text == "a 2 b c"
        for name in ("kind", "named", "header", "X-Thing"):
            refused = things_client.get(f"/things/a?{name}=1")
            assert refused.status_code == 400, name
            assert refused.json()["detail"].endswith("this route takes count, aName, access_token")
        assert things_client.get("/things/a?count=1e3").json()["detail"] == (
            f"query parameter 'count': {INTEGER_IN_DIGITS}"
        )


def test_a_long_listing_is_written_in_pieces(client: Client) -> None:
    # Past one piece of the listing, the answer is streamed piece by piece: the same JSON.
    fleet = sorted(f"piece-{i:05d}" for i in range(LISTING_PIECE + 5))
    for start in range(0, len(fleet), 500):
        batch = [launch(c) for c in fleet[start : start + 500]]
        assert client.post("/messages", json=batch).status_code == 202
    response = client.get("/rockets", params={"limit": len(fleet)})
    assert response.status_code == 200
    assert response.headers["x-total-count"] == str(len(fleet))
    assert [r["channel"] for r in response.json()] == fleet

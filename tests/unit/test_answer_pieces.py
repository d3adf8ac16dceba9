"""Long answers are written in pieces bounded by bytes as well as rows, each sent on its own
(observed as the ASGI ``send`` calls of the answer's body), and read back as one JSON array."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from rockets import EventType, hookimpl
from rockets.app import RocketsApp, create_app
from rockets.http import routes
from rockets.http.routes import LISTING_PIECE, PIECE_BYTES

from ..conftest import core_settings, message

pytestmark = pytest.mark.anyio

TEXT = "x" * 60_000
"""A text field without a length bound: an event of about 60 KB."""
EVENTS = 40
"""Events of ``TEXT`` on one channel: about 2.4 MB of JSON, more than two pieces."""


class Answer(msgspec.Struct):
    status: int
    headers: dict[str, str]
    pieces: list[bytes]
    """The body as it was sent, one item per ``send`` that carried bytes."""


async def get(app: RocketsApp, path: str, query: str = "") -> Answer:
    """``GET path?query`` through the app's ASGI entry point, every ``send`` kept."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"rockets")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]
    answered = asyncio.Event()  # as servers do, the client is gone once the answer is whole

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(event: dict[str, Any]) -> None:
        sent.append(event)
        if event["type"] == "http.response.body" and not event.get("more_body"):
            answered.set()

    await app(scope, receive, send)
    start = sent[0]
    assert start["type"] == "http.response.start"
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    pieces = [e["body"] for e in sent[1:] if e.get("body")]
    return Answer(start["status"], headers, pieces)


class Note(msgspec.Struct, frozen=True):
    """A payload with free text of any length, as a plugin may have."""

    text: str


class Notes:
    @hookimpl
    def register_event_types(self) -> list[EventType[Any]]:
        return [EventType(schema=Note, apply=lambda state, event: state)]


def bounded_by_bytes(answer: Answer, whole: bytes, row_bytes: int, bound: int) -> None:
    """``answer`` is ``whole`` sent in several pieces, each ending at the row that took it to
    ``bound`` bytes (rows of at most ``row_bytes``)."""
    assert answer.status == 200
    assert b"".join(answer.pieces) == whole
    assert answer.headers["content-type"] == "application/json"
    assert len(answer.pieces) >= len(whole) // (bound + row_bytes) > 1
    assert max(map(len, answer.pieces)) <= bound + row_bytes


async def test_events_of_large_payloads_go_out_in_pieces_of_bounded_bytes() -> None:
    app = create_app(core_settings(), plugins=[Notes()])
    service = app.service
    await service.start()
    try:
        for number in range(1, EVENTS + 1):
            posted = message("n", number, "Note", {"text": TEXT})
            assert (await service.ingest(msgspec.json.encode(posted))).all_taken
        _, events = await service.events("n", 1, 1000)
        whole = msgspec.json.encode(events)  # the answer as it was encoded at once
        answer = await get(app, "/rockets/n/events", "limit=1000")
        # Far fewer rows than LISTING_PIECE, yet several pieces: their bytes bound them.
        bounded_by_bytes(answer, whole, len(TEXT) + 1000, PIECE_BYTES)
        assert answer.headers["x-total-count"] == str(EVENTS)
        assert "content-length" not in answer.headers
    finally:
        await service.stop()


async def test_history_goes_out_in_pieces_of_bounded_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The standard types' states are small: a smaller bound makes a few hundred of them long.
    monkeypatch.setattr(routes, "PIECE_BYTES", 10_000)
    app = create_app(core_settings())
    service = app.service
    await service.start()
    try:
        launch = {"type": "Falcon-9", "launchSpeed": 1, "mission": "M"}
        await service.ingest(msgspec.json.encode(message("r", 1, "RocketLaunched", launch)))
        for number in range(2, 301):
            posted = message("r", number, "RocketSpeedIncreased", {"by": 1})
            assert (await service.ingest(msgspec.json.encode(posted))).all_taken
        whole = msgspec.json.encode(await service.history("r", 1, 1000))
        answer = await get(app, "/rockets/r/history", "limit=1000")
        bounded_by_bytes(answer, whole, 1000, 10_000)
    finally:
        await service.stop()


async def test_a_short_answer_is_one_piece_with_its_length() -> None:
    app = create_app(core_settings())
    service = app.service
    await service.start()
    try:
        launch = {"type": "Falcon-9", "launchSpeed": 1, "mission": "M"}
        await service.ingest(msgspec.json.encode(message("r", 1, "RocketLaunched", launch)))
        _, events = await service.events("r", 1, 1000)
        answer = await get(app, "/rockets/r/events")
        assert answer.pieces == [msgspec.json.encode(events)]
        assert answer.headers["content-length"] == str(len(answer.pieces[0]))
        assert answer.headers["x-total-count"] == "1"
        empty = await get(app, "/rockets/r/events", "from=5")
        assert empty.pieces == [b"[]"]
    finally:
        await service.stop()


async def test_a_long_listing_goes_out_in_pieces_of_bounded_rows() -> None:
    app = create_app(core_settings())
    service = app.service
    await service.start()
    try:
        launch = {"type": "Falcon-9", "launchSpeed": 1, "mission": "M"}
        rockets = LISTING_PIECE * 2 + 1
        batch = [message(f"r{i:05}", 1, "RocketLaunched", launch) for i in range(rockets)]
        for start in range(0, rockets, 1000):
            await service.ingest(msgspec.json.encode(batch[start : start + 1000]))
        answer = await get(app, "/rockets")
        assert answer.headers["x-total-count"] == str(rockets)
        assert len(answer.pieces) == 3
        listed = msgspec.json.decode(b"".join(answer.pieces))
        assert [row["channel"] for row in listed] == [m["metadata"]["channel"] for m in batch]
    finally:
        await service.stop()


async def test_events_read_from_the_store_a_few_at_a_time_answer_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(routes, "EVENTS_READ", 7)
    monkeypatch.setattr(routes, "PIECE_BYTES", 1000)
    app = create_app(core_settings())
    service = app.service
    await service.start()
    try:
        launch = {"type": "Falcon-9", "launchSpeed": 1, "mission": "M"}
        await service.ingest(msgspec.json.encode(message("r", 1, "RocketLaunched", launch)))
        for number in range(2, 31):
            posted = message("r", number, "RocketSpeedIncreased", {"by": 1})
            assert (await service.ingest(msgspec.json.encode(posted))).all_taken
        for query, start, limit in (("from=3&limit=20", 3, 20), ("limit=1000", 1, 1000)):
            _, events = await service.events("r", start, limit)
            answer = await get(app, "/rockets/r/events", query)
            assert b"".join(answer.pieces) == msgspec.json.encode(events), query
            assert len(answer.pieces) > 1, query
            assert answer.headers["x-total-count"] == "30", query
        assert (await get(app, "/rockets/r/events", "from=31")).pieces == [b"[]"]
    finally:
        await service.stop()

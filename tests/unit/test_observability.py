"""Metrics, the state history behind the dashboard's chart, request ids and log lines."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from rockets.app import create_app
from rockets.http.logs import JsonFormatter, RequestIdFilter, request_id
from rockets.runtime.summary import IngestSummary

from ..conftest import ROOT, attached, core_settings, message
from ..gated_store import HANG_GUARD

Client = TestClient[Any]
LAUNCH = {"type": "F9", "launchSpeed": 10, "mission": "M"}


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    found = re.search(r"^" + pattern + r"$", text, re.M)
    assert found is not None, f"{name}{labels} not in the metrics"
    return float(found.group(1))


def test_metrics_count_what_happens(client: Client, request: pytest.FixtureRequest) -> None:
    client.post("/messages", json=message("m", 1, "RocketLaunched", LAUNCH))
    client.post("/messages", json=message("m", 1, "RocketLaunched", LAUNCH))  # duplicate
    client.post(
        "/messages", json=message("m", 1, "RocketLaunched", {**LAUNCH, "launchSpeed": 1})
    )  # conflict
    client.post("/messages", json=message("m", 4, "RocketSpeedIncreased", {"by": 1}))  # waits
    client.post("/messages", content=b"{", headers={"content-type": "application/json"})  # invalid
    # A request that Litestar routes: its HTTP metrics exist from the first one the process
    # answers, which must not depend on another test having made it first.
    assert client.get("/rockets").status_code == 200
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert metric(text, "rockets_messages_total", type="RocketLaunched", outcome="accepted") == 1
    assert metric(text, "rockets_messages_total", type="RocketLaunched", outcome="duplicate") == 1
    assert metric(text, "rockets_messages_total", type="RocketLaunched", outcome="conflict") == 1
    assert metric(text, "rockets_messages_total", type="", outcome="invalid") == 1
    assert metric(text, "rockets_apply_lag_seconds_count") == 1
    # Bucket bounds as every Prometheus client writes them, so that alerts can select them.
    assert metric(text, "rockets_apply_lag_seconds_bucket", le="1.0") == 1
    assert metric(text, "rockets_store_commit_seconds_count") >= 3
    assert metric(text, "rockets_pending_messages") == 1
    assert metric(text, "rockets_channels_waiting") == 1
    assert metric(text, "rockets_channels_stalled") == 0
    assert metric(text, "rockets_worker_queue_depth", worker="0") == 0
    assert metric(text, "rockets_rockets") == 1
    assert metric(text, "rockets_listener_failures_total") == 0
    assert metric(text, "rockets_stream_events_delivered_total") == 0
    rockets = {"method": "GET", "path": "/rockets"}
    assert metric(text, "rockets_http_requests_total", **rockets, status_code="200") == 1
    # POST /messages, answered by the app's entry point in front of Litestar, is in the same
    # series as the routes Litestar answers.
    ingest = {"method": "POST", "path": "/messages"}
    assert metric(text, "rockets_http_requests_total", **ingest, status_code="202") == 3
    assert metric(text, "rockets_http_requests_total", **ingest, status_code="409") == 1
    assert metric(text, "rockets_http_requests_total", **ingest, status_code="400") == 1
    assert (
        metric(text, "rockets_http_request_duration_seconds_count", **ingest, status_code="202")
        == 3
    )
    assert metric(text, "rockets_http_requests_in_progress", **ingest) == 0
    # The scrape itself is being answered.
    assert metric(text, "rockets_http_requests_in_progress", method="GET", path="/metrics") == 1
    assert "process_resident_memory_bytes" in text


def test_history_replays_states_for_the_chart(client: Client) -> None:
    client.post("/messages", json=message("h", 1, "RocketLaunched", LAUNCH))
    for n, by in ((2, 5), (3, 7)):
        client.post("/messages", json=message("h", n, "RocketSpeedIncreased", {"by": by}))
    points = client.get("/rockets/h/history").json()
    assert [(p["messageNumber"], p["state"]["speed"]) for p in points] == [
        (1, 10),
        (2, 15),
        (3, 22),
    ]
    assert [p["messageNumber"] for p in client.get("/rockets/h/history?from=2&limit=1").json()] == [
        2
    ]
    assert client.get("/rockets/nobody/history").status_code == 404


def test_every_answer_has_a_request_id(client: Client) -> None:
    assert (
        client.get("/health", headers={"x-request-id": "trace-me"}).headers["x-request-id"]
        == "trace-me"
    )
    made = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", made)
    body = message("id", 1, "RocketLaunched", LAUNCH)
    posted = client.post("/messages", json=body, headers={"x-request-id": "post-trace"})
    assert posted.headers["x-request-id"] == "post-trace"
    made = client.post("/messages", json=body).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", made)


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("rockets", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    token = request_id.set("r-1")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = JsonFormatter().format(record)
    assert '"message":"hello world"' in line
    assert '"requestId":"r-1"' in line
    assert '"level":"info"' in line


SUMMARY = re.compile(
    r"ingested (?P<messages>\d+) messages? in the last \S+s \(\d+/s\)(?:: (?P<outcomes>.+?))?"
    r"(?:; refused (?P<refused>\d+) requests?: (?P<errors>.+?))?; (?P<queued>\d+) requests? queued"
)


class SummaryLines(logging.Handler):
    """The summary lines logged (on the ``rockets`` logger itself: an app's logging setup
    replaces the root logger's handlers, pytest's included), and an event for the next one."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self._arrived = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.startswith("ingested"):
            self.lines.append(text)
            self._arrived.set()

    async def next(self) -> str:
        """Wait for a line after the last one taken, and return it."""
        async with asyncio.timeout(HANG_GUARD):
            await self._arrived.wait()
        self._arrived.clear()
        return self.lines[-1]

    def matched(self) -> list[re.Match[str]]:
        found = [SUMMARY.fullmatch(line) for line in self.lines]
        assert all(found), self.lines
        return [m for m in found if m is not None]

    def parsed(self) -> list[tuple[str, ...]]:
        """(messages, outcomes, queued) of every line."""
        return [m.group("messages", "outcomes", "queued") for m in self.matched()]

    def refused(self) -> list[tuple[str, ...]]:
        """(requests, errors) refused in every line."""
        return [m.group("refused", "errors") for m in self.matched()]


@pytest.fixture
def summary_lines() -> Iterator[SummaryLines]:
    with attached(SummaryLines()) as handler:
        yield handler


def test_summary_flush_logs_the_window_and_starts_a_new_one(summary_lines: SummaryLines) -> None:
    summary = IngestSummary(3600, lambda: 3)
    summary.flush()  # nothing counted: no line
    summary.count(["accepted", "duplicate", "accepted"])
    summary.count(["invalid"])
    summary.flush()
    summary.flush()  # the new window is empty: no line
    summary.count(["conflict"])
    summary.flush()
    assert summary_lines.parsed() == [
        ("4", "2 accepted, 1 duplicate, 1 invalid", "3"),
        ("1", "1 conflict", "3"),
    ]


@pytest.mark.anyio
async def test_summary_stop_logs_the_last_window(summary_lines: SummaryLines) -> None:
    summary = IngestSummary(3600, lambda: 0)  # no periodic line comes in this test's life
    summary.start()
    summary.count(["accepted", "waiting"])
    await summary.stop()
    await summary.stop()  # stopped already, nothing new: no line
    assert summary_lines.parsed() == [("2", "1 accepted, 1 waiting", "0")]


@pytest.mark.anyio
async def test_summary_logs_each_period_on_its_own(summary_lines: SummaryLines) -> None:
    # A period of 0 s: the periodic task flushes on every turn of the event loop, so the test
    # waits for the lines themselves, not for a period to pass.
    summary = IngestSummary(0, lambda: 0)
    summary.start()
    summary.count(["accepted"])
    assert "1 accepted;" in await summary_lines.next()
    summary.count(["duplicate", "duplicate"])
    assert "2 duplicate;" in await summary_lines.next()
    await summary.stop()
    # One line per window with messages: the empty ones, and stop() after them, log nothing.
    assert [outcomes for _, outcomes, _ in summary_lines.parsed()] == [
        "1 accepted",
        "2 duplicate",
    ]


def test_ingest_is_summarised_at_info(summary_lines: SummaryLines) -> None:
    # A period far longer than the test: the line checked is the one the service logs for its
    # last window when it stops (leaving the client's block).
    settings = core_settings(log_summary_seconds=86_400)
    with TestClient(create_app(settings)) as client:
        client.post("/messages", json=message("s", 1, "RocketLaunched", LAUNCH))
        client.post("/messages", json=message("s", 1, "RocketLaunched", LAUNCH))
        assert summary_lines.lines == []
    assert summary_lines.parsed() == [("2", "1 accepted, 1 duplicate", "0")]


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/nowhere", 404),  # Litestar's router
        ("GET", "/rockets/nobody", 404),  # the service
        ("GET", "/dashboard/nothing.js", 404),  # the dashboard
        ("DELETE", "/rockets", 405),
        ("HEAD", "/stream", 405),
        ("PUT", "/messages", 405),
        ("GET", "/rockets?order=up", 400),
    ],
)
def test_error_answers_have_the_request_id_too(
    client: Client, method: str, url: str, status: int
) -> None:
    response = client.request(method, url, headers={"x-request-id": "trace-me"})
    assert response.status_code == status
    assert response.headers["x-request-id"] == "trace-me"
    assert response.headers["x-content-type-options"] == "nosniff"
    made = client.request(method, url).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", made)


@pytest.mark.parametrize(
    "url", ["/metrics", "/", "/dashboard/app.js", "/dashboard/style.css", "/health", "/rockets"]
)
def test_a_content_type_names_its_charset_once(client: Client, url: str) -> None:
    for response in (client.get(url), client.head(url)):
        assert response.headers["content-type"].count("charset=") <= 1, url


def test_a_count_of_one_is_singular(summary_lines: SummaryLines) -> None:
    summary = IngestSummary(3600, lambda: 1)
    summary.count(["accepted"])
    summary.flush()
    assert summary_lines.lines[0].startswith("ingested 1 message in the last ")
    assert summary_lines.lines[0].endswith(": 1 accepted; 1 request queued")


def test_summary_counts_requests_refused_whole(summary_lines: SummaryLines) -> None:
    summary = IngestSummary(3600, lambda: 0)
    summary.refused("malformed_json")
    summary.refused("too_large")
    summary.refused("malformed_json")
    summary.flush()  # refused requests alone make a line
    summary.count(["accepted"])
    summary.refused("rejected")
    summary.flush()
    assert summary_lines.parsed() == [("0", None, "0"), ("1", "1 accepted", "0")]
    assert summary_lines.refused() == [("3", "2 malformed_json, 1 too_large"), ("1", "1 rejected")]


class Lines(logging.Handler):
    """Every line a logger writes, formatted, and its request id."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.getMessage(), request_id.get() or "-"))


@pytest.fixture
def refused_lines() -> Iterator[Lines]:
    logger = logging.getLogger("rockets.refused")
    handler = Lines()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_every_refused_request_is_a_debug_line_and_counted(
    refused_lines: Lines, summary_lines: SummaryLines
) -> None:
    settings = core_settings(
        log_summary_seconds=86_400,
        max_body_bytes=1000,
        plugins_dir=str(ROOT / "docs" / "examples" / "hooks"),  # a validator, for the 422
    )
    with TestClient(create_app(settings)) as client:
        client.post("/messages", content=b"{", headers={"x-request-id": "bad-json"})
        client.post("/messages", json=message("r", 1, "RocketLaunched", {"type": "F"}))
        client.post("/messages", content=b"x" * 2000)
        client.post("/messages", content=b"{}", headers={"content-type": "text/plain"})
        client.post("/messages", json=message("r", 1, "RocketSpeedIncreased", {"by": 10**6}))
        client.get("/rockets?order=up")
        client.get("/rockets/a%0Ab")
        client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))  # taken
    assert refused_lines.lines == [
        ("POST /messages: 400 malformed_json at $: Input data was truncated", "bad-json"),
        (
            "POST /messages: 400 invalid_message at $.message: Object missing required field "
            "`launchSpeed`",
            ANY_ID,
        ),
        (
            "POST /messages: 413 too_large: the request body is larger than this server accepts",
            ANY_ID,
        ),
        (
            "POST /messages: 415 unsupported_media_type: send JSON (Content-Type: "
            "application/json), not 'text/plain'",
            ANY_ID,
        ),
        (
            "POST /messages: 422 rejected at $: a speed increase of 1000000 is more than 10000 "
            "at once",
            ANY_ID,
        ),
        ("GET /rockets: 400 bad_request: query parameter 'order': use one of asc, desc", ANY_ID),
        (
            "GET /rockets/a\\u000ab: 400 bad_request: path parameter 'channel': Expected "
            "printable text without '/' (no control character, line or paragraph separator, or "
            "bidi embedding, override or isolate control)",
            ANY_ID,
        ),
    ]
    assert summary_lines.parsed() == [("1", "1 accepted", "0")]
    assert summary_lines.refused() == [
        (
            "5",
            "1 invalid_message, 1 malformed_json, 1 rejected, 1 too_large, 1 unsupported_media_type",
        )
    ]


class AnyId(str):
    """Equal to any request id the server made."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and re.fullmatch(r"[0-9a-f]{16}", other) is not None

    __hash__ = str.__hash__


ANY_ID = AnyId()


def test_the_start_and_stop_lines_count_in_words() -> None:
    lines = Lines()
    logger = logging.getLogger("rockets")
    logger.addHandler(lines)
    try:
        with TestClient(create_app(core_settings(worker_count=1))) as client:
            client.post("/messages", json=message("s", 1, "RocketLaunched", LAUNCH))
    finally:
        logger.removeHandler(lines)
    said = [text for text, _ in lines.lines]
    assert said[0].startswith(
        "rockets started: memory store (0 messages recovered, 0 rockets), 1 worker,"
    )
    assert "rockets stopping: applying 0 queued requests" in said
    assert said[-1] == "rockets stopped: 1 rocket"

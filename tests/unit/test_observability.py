"""Metrics, the state history behind the dashboard's chart, request ids and log lines."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from litestar.testing import TestClient

from rockets.logs import JsonFormatter, RequestIdFilter, request_id

from ..conftest import core_settings, message

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
    assert "rockets_http_requests_total" in text  # Litestar's HTTP metrics
    # POST /messages is counted by the app's entry point, which answers it.
    assert metric(text, "rockets_ingest_requests_total", status="202") == 3
    assert metric(text, "rockets_ingest_requests_total", status="409") == 1
    assert metric(text, "rockets_ingest_request_seconds_count") == 5
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


@pytest.mark.parametrize("settings", [core_settings(log_summary_seconds=0.05)])
def test_ingest_is_summarised_at_info(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    import time

    with caplog.at_level(logging.INFO, logger="rockets"):
        client.post("/messages", json=message("s", 1, "RocketLaunched", LAUNCH))
        client.post("/messages", json=message("s", 1, "RocketLaunched", LAUNCH))
        time.sleep(0.3)
    summaries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ingested")]
    assert summaries
    assert "1 accepted, 1 duplicate" in summaries[0]

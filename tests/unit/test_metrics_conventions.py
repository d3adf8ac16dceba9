"""``GET /metrics`` follows Prometheus' naming conventions, read through prometheus-client's own
parser: what only goes up is a counter named ``…_total``, a level is a gauge, a time or a size
says its unit, and every HTTP route (the front door of ``POST /messages`` included) is in the
HTTP series, whose in-progress gauge has no status."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from ..conftest import ROOT, message

Client = TestClient[Any]

LEVEL = re.compile(r"pending|waiting|queue|open|active|in_progress|subscribers|lag")
"""Words of a family that tells a level, which goes up and down: a gauge (or, for a lag, the
histogram of its values), never a counter."""
TIME = re.compile(r"\b(time|how long|duration|latency|age)\b")
SIZE = re.compile(r"\b(bytes|size|memory)\b")
NAMESPACES = ("rockets_", "process_", "python_")
OPERATIONS = ROOT / "docs" / "operations.md"


@pytest.fixture
def families(client: Client) -> dict[str, Metric]:
    """The families of ``/metrics`` once the app has answered a routed read, a message accepted
    and one refused, by name as the parser gives it (a counter's without ``_total``)."""
    launched = {"type": "F9", "launchSpeed": 10, "mission": "M"}
    assert client.post("/messages", json=message("c", 1, "RocketLaunched", launched)).status_code
    assert client.post("/messages", content=b"{", headers={"content-type": "application/json"})
    assert client.get("/rockets").status_code == 200
    assert client.get("/rockets/c").status_code == 200
    text = client.get("/metrics").text
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_families_are_typed_and_named_by_the_conventions(families: dict[str, Metric]) -> None:
    for name, family in families.items():
        assert family.type in ("counter", "gauge", "histogram", "info"), name
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert name.startswith(NAMESPACES), name
        documentation = family.documentation.lower()
        if family.type == "counter":
            # The parser names a counter's family without the suffix; its samples carry it.
            assert {s.name for s in family.samples} <= {f"{name}_total", f"{name}_created"}, name
            assert not LEVEL.search(name), f"{name} tells a level: a gauge"
        else:
            assert not name.endswith(("_total", "_count", "_sum", "_bucket")), name
            assert "since start" not in documentation, f"{name} only goes up: a counter"
        if family.type == "gauge" and name.endswith("_created"):
            # prometheus-client's counters and histograms add one: it must have its family.
            assert name.removesuffix("_created") in families, name
        if family.type == "histogram":
            assert name.endswith(("_seconds", "_bytes")), f"{name}: a histogram of what unit?"
        if TIME.search(documentation):
            assert "_seconds" in name, f"{name} tells a time: in seconds, and named so"
        if SIZE.search(documentation):
            assert "_bytes" in name, f"{name} tells a size: in bytes, and named so"


def test_counts_that_only_go_up_are_counters(families: dict[str, Metric]) -> None:
    for name in (
        "rockets_messages",
        "rockets_listener_failures",
        "rockets_stream_events_delivered",
        "rockets_listener_events_dropped",
        "rockets_plugin_faults",
        "rockets_plugin_slow_calls",
        "rockets_http_requests",
    ):
        assert families[name].type == "counter", name
    for name in (
        "rockets_pending_messages",
        "rockets_channels_waiting",
        "rockets_worker_queue_depth",
        "rockets_stream_subscribers",
        "rockets_projection_lag_events",
        "rockets_http_requests_in_progress",
    ):
        assert families[name].type == "gauge", name


def test_no_status_on_what_is_in_progress(families: dict[str, Metric]) -> None:
    in_progress = [family for name, family in families.items() if "in_progress" in name]
    assert in_progress
    for family in in_progress:
        for sample in family.samples:
            assert not {"status", "status_code"} & set(sample.labels), sample


def test_every_route_is_in_the_http_series(families: dict[str, Metric]) -> None:
    def seen(name: str, sample: str) -> set[tuple[str, str, str]]:
        return {
            (s.labels["method"], s.labels["path"], s.labels["status_code"])
            for s in families[name].samples
            if s.name == sample
        }

    wanted = {
        ("POST", "/messages", "202"),
        ("POST", "/messages", "400"),
        ("GET", "/rockets", "200"),
        ("GET", "/rockets/{channel}", "200"),
    }
    assert wanted <= seen("rockets_http_requests", "rockets_http_requests_total")
    duration = "rockets_http_request_duration_seconds"
    assert wanted <= seen(duration, f"{duration}_count")
    in_progress = {
        (s.labels["method"], s.labels["path"]): s.value
        for s in families["rockets_http_requests_in_progress"].samples
    }
    assert in_progress[("POST", "/messages")] == 0
    assert in_progress[("GET", "/metrics")] == 1  # the scrape that reads it


def test_every_family_of_rockets_is_documented(families: dict[str, Metric]) -> None:
    documented = set(re.findall(r"^\| `(rockets_[a-z_]+)", OPERATIONS.read_text(), re.M))
    served = {
        f"{name}_total" if family.type == "counter" else name
        for name, family in families.items()
        if name.startswith("rockets_")
    }
    assert served - documented == set(), "not in the metrics table of docs/operations.md"

"""Prometheus metrics of one app: what it ingests, how far behind it is, how its store does.

Each app has its own registry (so that several apps in one process, as in tests, do not mix
their figures); ``GET /metrics`` serves it together with the process-wide registry, where
Litestar's HTTP request metrics and the process collectors live.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from rockets.records import Record
from rockets.state import RocketState

__all__ = ["Metrics"]

_LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300)
_COMMIT_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5)


class Metrics:
    """The app's metrics; the service and the engine report into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.messages = Counter(
            "rockets_messages",
            "Messages received, by messageType and outcome (accepted, duplicate, conflict, "
            "rejected, invalid)",
            ["type", "outcome"],
            registry=registry,
        )
        self.apply_lag = Histogram(
            "rockets_apply_lag_seconds",
            "From a message's receipt to its event being applied and stored",
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "rockets_store_commit_seconds",
            "Time the store takes to write one group of messages",
            buckets=_COMMIT_BUCKETS,
            registry=registry,
        )
        self.pending = Gauge(
            "rockets_pending_messages", "Messages waiting behind gaps", registry=registry
        )
        self.waiting = Gauge(
            "rockets_channels_waiting",
            "Channels with messages waiting behind a gap",
            registry=registry,
        )
        self.stalled = Gauge(
            "rockets_channels_stalled",
            "Channels whose gap has been open at least ROCKETS_STALL_SECONDS",
            registry=registry,
        )
        self.oldest_gap = Gauge(
            "rockets_oldest_gap_seconds",
            "How long the longest-open gap has been open (0 without a gap)",
            registry=registry,
        )
        self.queue = Gauge(
            "rockets_worker_queue_depth",
            "Requests waiting for each worker",
            ["worker"],
            registry=registry,
        )
        self.rockets = Gauge("rockets_rockets", "Rockets known to the store", registry=registry)
        self.listener_failures = Gauge(
            "rockets_listener_failures",
            "Exceptions raised by plugins' event_applied listeners since start",
            registry=registry,
        )
        self.stream_subscribers = Gauge(
            "rockets_stream_subscribers", "Open GET /stream connections", registry=registry
        )
        self.stream_delivered = Gauge(
            "rockets_stream_events_delivered",
            "Events sent to GET /stream subscribers since start",
            registry=registry,
        )

    def count(self, outcomes: Iterable[tuple[str, str]]) -> None:
        """Count ``(messageType, outcome)`` pairs."""
        for (kind, outcome), n in Tally(outcomes).items():
            self.messages.labels(kind, outcome).inc(n)

    def applied(self, events: list[tuple[Record, RocketState]]) -> None:
        """Observe the lag of events just stored (an engine listener)."""
        now = time.time()
        observe = self.apply_lag.observe
        for record, _ in events:
            observe(max(0.0, now - record.received_at.timestamp()))

    def render(self) -> bytes:
        """The text exposition of this app's metrics and the process-wide ones."""
        return generate_latest(self.registry) + generate_latest(REGISTRY)

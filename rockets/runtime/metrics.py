"""Prometheus metrics of one app: what it ingests, how far behind it is, how its store does.

Each app has its own registry (so that several apps in one process, as in tests, do not mix
their figures); ``GET /metrics`` serves it together with the process-wide registry, where
Litestar's HTTP request metrics and the process collectors live.

The figures counted per message or per request are kept in plain lists and dicts and turned
into Prometheus families only when scraped: ``prometheus_client``'s own counters and histograms
cost about a microsecond per update, which the ingest path cannot spare.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from rockets.records import Applied, Record
from rockets.state import RocketState

__all__ = ["Histogram", "Metrics", "counter_family"]

_LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300)
_FAST_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5)


_Labels = TypeVar("_Labels", bound=tuple[str, ...])


def counter_family(
    name: str,
    documentation: str,
    labels: list[str],
    counts: Mapping[_Labels, int],
) -> CounterMetricFamily:
    """A counter family of ``counts``, one sample per tuple of label values, in their order."""
    family = CounterMetricFamily(name, documentation, labels=labels)
    for values, n in sorted(counts.items()):
        family.add_metric(list(values), n)
    return family


class Histogram:
    """A histogram that costs a bisect per observation."""

    def __init__(self, name: str, documentation: str, buckets: Iterable[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = list(buckets)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def family(self) -> HistogramMetricFamily:
        cumulative, buckets = 0, []
        for bound, n in zip([*map(floatToGoString, self.bounds), "+Inf"], self.counts, strict=True):
            cumulative += n
            buckets.append((bound, cumulative))
        return HistogramMetricFamily(
            self.name, self.documentation, buckets=buckets, sum_value=self.sum
        )


class _Collector:
    """Exposes the plain counters and histograms of :class:`Metrics` when scraped."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Any]:
        metrics = self.metrics
        yield counter_family(
            "rockets_messages",
            "Messages received, by messageType and outcome (accepted, setAside, duplicate, "
            "conflict, rejected, invalid)",
            ["type", "outcome"],
            metrics.messages,
        )
        yield counter_family(
            "rockets_ingest_requests",
            "POST /messages requests, by status",
            ["status"],
            {(str(status),): n for status, n in metrics.requests.items()},
        )
        for histogram in (metrics.apply_lag, metrics.commit_seconds, metrics.request_seconds):
            yield histogram.family()
        yield counter_family(
            "rockets_plugin_faults",
            "Failures that stopped something, by plugin (empty: the service's own background "
            "work) and what stopped",
            ["plugin", "stopped"],
            metrics.plugin_faults,
        )
        yield CounterMetricFamily(
            "rockets_listener_events_dropped",
            "Events dropped for the plugins' event_applied listeners, which were too far behind",
            value=metrics.listener_events_dropped,
        )

    def describe(self) -> list[Any]:
        return []


class Metrics:
    """The app's metrics; the service and the engine report into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.messages: dict[tuple[str, str], int] = {}
        self.requests: dict[int, int] = {}
        self.apply_lag = Histogram(
            "rockets_apply_lag_seconds",
            "From a message's receipt to its event being applied and stored",
            _LAG_BUCKETS,
        )
        self.commit_seconds = Histogram(
            "rockets_store_commit_seconds",
            "Time the store takes to write one group of messages",
            _FAST_BUCKETS,
        )
        self.request_seconds = Histogram(
            "rockets_ingest_request_seconds",
            "Time to answer a POST /messages request",
            _FAST_BUCKETS,
        )
        registry.register(_Collector(self))
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
        self.projection_position = Gauge(
            "rockets_projection_position",
            "The log position each projection has taken in",
            ["name"],
            registry=registry,
        )
        self.projection_stopped = Gauge(
            "rockets_projection_stopped",
            "1 when a projection is stopped (it could not take an event), 0 while it runs",
            ["name"],
            registry=registry,
        )
        self.projection_lag = Gauge(
            "rockets_projection_lag_events",
            "Events each projection is behind: the log's position minus the projection's",
            ["projection"],
            registry=registry,
        )
        self.plugin_faults: Mapping[tuple[str, str], int] = {}
        """Faults told since start, by ``(plugin, what stopped)`` (set when scraped)."""
        self.listener_events_dropped = 0
        """Events dropped for the listeners since start (set when scraped)."""
        self.stream_delivered = Gauge(
            "rockets_stream_events_delivered",
            "Events sent to GET /stream subscribers since start",
            registry=registry,
        )

    def set_queues(self, depths: Iterable[int]) -> None:
        """Set the queue depth of every worker."""
        for worker, depth in enumerate(depths):
            self.queue.labels(str(worker)).set(depth)

    def set_backlog(self, waiting: Iterable[RocketState], stall_seconds: float) -> None:
        """Set the gap gauges from the rockets with messages waiting behind a gap."""
        now = time.time()
        waiting = list(waiting)
        ages = [now - s.waiting_since.timestamp() for s in waiting if s.waiting_since]
        self.waiting.set(len(waiting))
        self.pending.set(sum(s.pending for s in waiting))
        self.stalled.set(sum(1 for age in ages if age >= stall_seconds))
        self.oldest_gap.set(max(ages, default=0.0))

    def count(self, outcomes: Iterable[tuple[str, str]]) -> None:
        """Count ``(messageType, outcome)`` pairs."""
        messages = self.messages
        for key in outcomes:
            messages[key] = messages.get(key, 0) + 1

    def count_records(self, records: Sequence[Record], outcomes: Sequence[str]) -> None:
        """Count each record's ``(messageType, outcome)``."""
        messages = self.messages
        for record, outcome in zip(records, outcomes, strict=True):
            key = (record.message_type, outcome)
            messages[key] = messages.get(key, 0) + 1

    def request(self, status: int, seconds: float) -> None:
        """Count one ``POST /messages`` request and how long it took."""
        self.requests[status] = self.requests.get(status, 0) + 1
        self.request_seconds.observe(seconds)

    def applied(self, events: list[Applied]) -> None:
        """Observe the lag of events just stored (an engine listener)."""
        now = time.time()
        observe = self.apply_lag.observe
        # The messages of one request share their receipt time: read it once for them all.
        last = None
        lag = 0.0
        for applied in events:
            received = applied.record.received_at
            if received is not last:
                last = received
                # A clock stepped back must not make the sum go down.
                lag = max(0.0, now - received.timestamp())
            observe(lag)

    def render(self) -> bytes:
        """The text exposition of this app's metrics and the process-wide ones."""
        return generate_latest(self.registry) + generate_latest(REGISTRY)

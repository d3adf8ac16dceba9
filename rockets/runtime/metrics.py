"""Prometheus metrics of one app: what it ingests, how far behind it is, how its store does,
and the HTTP series of every route.

Each app has its own registry (so that several apps in one process, as in tests, do not mix
their figures); ``GET /metrics`` serves it together with the process-wide registry, where the
process collectors live.

The figures counted per message or per request are kept in plain lists and dicts and turned
into Prometheus families only when scraped: ``prometheus_client``'s own counters and histograms
cost about a microsecond per update, which the ingest path cannot spare. That is also why the
HTTP series are rockets' own rather than Litestar's Prometheus plugin's: the front door of
``POST /messages``, in front of Litestar, feeds them at the cost of a dict look-up.

The names follow Prometheus' conventions (docs/operations.md lists them, and a test checks
them): what only goes up is a counter named ``…_total``, a level is a gauge, a time is in
seconds and says so.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from rockets.records import Applied, Record
from rockets.stores.base import Backlog

__all__ = ["Histogram", "Metrics", "RouteSeries", "Total", "counter_family", "histogram_family"]

_LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300)
_FAST_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5)
_HTTP_BUCKETS = (
    0.0001,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
)
"""From an ingest request's tenth of a millisecond to a slow read's seconds."""


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


def histogram_family(
    name: str,
    documentation: str,
    labels: list[str],
    histograms: Mapping[_Labels, Histogram],
) -> HistogramMetricFamily:
    """A histogram family of ``histograms``, one per tuple of label values, in their order."""
    family = HistogramMetricFamily(name, documentation, labels=labels)
    for values, histogram in sorted(histograms.items(), key=lambda item: item[0]):
        family.add_metric(list(values), histogram.buckets(), histogram.sum)
    return family


class Histogram:
    """The counts of a histogram (its name is given when it is served): a bisect per
    observation."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Iterable[float]) -> None:
        self.bounds = list(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def buckets(self) -> list[tuple[str, float]]:
        """The cumulative counts by upper bound, the bounds written as every Prometheus client
        writes them (so that alerts can select them)."""
        cumulative, buckets = 0, []
        for bound, n in zip([*map(floatToGoString, self.bounds), "+Inf"], self.counts, strict=True):
            cumulative += n
            buckets.append((bound, float(cumulative)))
        return buckets


class Total:
    """A count that only goes up and that the service keeps itself, served as a counter
    (``name`` + ``_total``): set from where it is kept when scraped."""

    __slots__ = ("documentation", "name", "value")

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self.value = 0

    def set(self, value: int) -> None:
        self.value = value

    def family(self) -> CounterMetricFamily:
        return CounterMetricFamily(self.name, self.documentation, value=self.value)


class RouteSeries:
    """One route's share of the HTTP series (a route: a method and a path template): its
    requests being answered now, and how long each answered one took, by status."""

    __slots__ = ("by_status", "in_progress")

    def __init__(self) -> None:
        self.in_progress = 0
        self.by_status: dict[int, Histogram] = {}

    def answered(self, status: int, seconds: float) -> None:
        """Count one request answered ``status``, in ``seconds``."""
        histogram = self.by_status.get(status)
        if histogram is None:
            histogram = self.by_status[status] = Histogram(_HTTP_BUCKETS)
        histogram.observe(seconds)


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
        yield histogram_family(
            "rockets_apply_lag_seconds",
            "From a message's receipt to its event being applied and stored",
            [],
            {(): metrics.apply_lag},
        )
        yield histogram_family(
            "rockets_store_commit_seconds",
            "Time the store takes to write one group of messages",
            [],
            {(): metrics.commit_seconds},
        )
        yield from self._http()
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
        yield metrics.listener_failures.family()
        yield metrics.stream_delivered.family()

    def _http(self) -> Iterator[Any]:
        """The HTTP series of every route, ``POST /messages`` included."""
        labels = ["method", "path", "status_code"]
        routes = sorted(self.metrics.routes.items())
        answered = {
            (method, path, str(status)): histogram
            for (method, path), series in routes
            for status, histogram in series.by_status.items()
        }
        yield counter_family(
            "rockets_http_requests",
            "HTTP requests answered, by method, route and status",
            labels,
            {key: histogram.count for key, histogram in answered.items()},
        )
        yield histogram_family(
            "rockets_http_request_duration_seconds",
            "Time to answer an HTTP request (to the end of the answer's body), by method, route "
            "and status",
            labels,
            answered,
        )
        in_progress = GaugeMetricFamily(
            "rockets_http_requests_in_progress",
            "HTTP requests being answered now, by method and route",
            labels=["method", "path"],
        )
        for (method, path), series in routes:
            in_progress.add_metric([method, path], series.in_progress)
        yield in_progress

    def describe(self) -> list[Any]:
        return []


class Metrics:
    """The app's metrics; the service and the engine report into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.messages: dict[tuple[str, str], int] = {}
        self.routes: dict[tuple[str, str], RouteSeries] = {}
        """The HTTP series, by ``(method, path template)``."""
        self.apply_lag = Histogram(_LAG_BUCKETS)
        self.commit_seconds = Histogram(_FAST_BUCKETS)
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
        self.listener_failures = Total(
            "rockets_listener_failures",
            "Exceptions raised by plugins' event_applied listeners since start",
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
        self.stream_delivered = Total(
            "rockets_stream_events_delivered",
            "Events sent to GET /stream subscribers since start",
        )

    def set_queues(self, depths: Iterable[int]) -> None:
        """Set the queue depth of every worker."""
        for worker, depth in enumerate(depths):
            self.queue.labels(str(worker)).set(depth)

    def set_backlog(self, backlog: Backlog) -> None:
        """Set the gap gauges from the store's figures of the messages waiting."""
        self.waiting.set(backlog.channels)
        self.pending.set(backlog.messages)
        self.stalled.set(backlog.stalled)
        self.oldest_gap.set(backlog.oldest_seconds)

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

    def route(self, method: str, path: str) -> RouteSeries:
        """The HTTP series of the route ``method`` ``path`` (a path template, such as
        ``/rockets/{channel}``: one series per route, whatever the requests' paths)."""
        series = self.routes.get((method, path))
        if series is None:
            series = self.routes[method, path] = RouteSeries()
        return series

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

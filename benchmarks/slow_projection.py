"""``GET /health`` while a projection takes 50 ms per event and messages come in.

A server loads the drop-in ``benchmarks/slow_plugins/slow_projection.py``; eight connections
post ``messages`` single messages (each a new rocket) between them, each one after the other,
while this thread asks ``GET /health`` every 10 ms until the projection has taken every event
in (its position in ``GET /projections``). Projections run off the request path, so ``/health``
and the ingestion go at their own speed; the projection lags, then catches up. (With the
projection on the event loop, as before, the follower took several events at once and held
the loop 50 ms for each: 200 messages took 11 s, and ``/health`` answered in 200 ms, 420 ms at
p99.)
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

import msgspec

from benchmarks.harness import HERE, RawHTTP, free_port, rockets_server, serving

__all__ = ["SlowProjection", "measure"]

PLUGINS = HERE / "slow_plugins"
PROBE_EVERY = 0.01
"""Seconds between two ``GET /health`` (a load balancer asks far less often)."""
CONNECTIONS = 8
"""Connections posting at once."""


@dataclass
class SlowProjection:
    """What one run measured."""

    messages: int
    ingest_seconds: float
    """From the first post to the last answer."""
    caught_up_seconds: float
    """From the first post to the projection holding every event."""
    health_ms: list[float]
    """Every ``GET /health``, in milliseconds."""

    def quantile(self, q: float) -> float:
        ordered = sorted(self.health_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    @property
    def p50(self) -> float:
        return statistics.median(self.health_ms)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)


def _body(n: int) -> bytes:
    return msgspec.json.encode(
        {
            "metadata": {
                "channel": f"slow-{n:05d}",
                "messageNumber": 1,
                "messageType": "RocketLaunched",
            },
            "message": {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"},
        }
    )


def _position(http: RawHTTP) -> int:
    status, body = http.request("GET", "/projections")
    assert status == 200, body[:200]
    listed = msgspec.json.decode(body)
    slow = next(p for p in listed if p["name"] == "slow")
    assert slow["status"] == "running", slow
    position: int = slow["position"]
    return position


def measure(messages: int) -> SlowProjection:
    """Post ``messages`` messages to a server with the slow projection and time ``/health``
    until the projection has caught up."""
    port = free_port()
    env = {"ROCKETS_PLUGINS_DIR": str(PLUGINS)}
    with serving(rockets_server(port), port, env=env) as server:
        ingested: list[float] = []
        started = time.perf_counter()

        def post_share(first: int) -> None:
            with RawHTTP(server.url) as http:
                for n in range(first, messages, CONNECTIONS):
                    status, answer = http.request("POST", "/messages", _body(n))
                    assert status == 202, answer
            ingested.append(time.perf_counter() - started)

        posters = [
            threading.Thread(target=post_share, args=(first,), name=f"poster-{first}")
            for first in range(CONNECTIONS)
        ]
        for poster in posters:
            poster.start()
        timings: list[float] = []
        with RawHTTP(server.url) as health, RawHTTP(server.url) as reads:
            while True:
                asked = time.perf_counter()
                status, body = health.request("GET", "/health")
                timings.append((time.perf_counter() - asked) * 1000)
                assert status == 200, body
                posting = any(poster.is_alive() for poster in posters)
                if not posting and _position(reads) >= messages:
                    break
                time.sleep(PROBE_EVERY)
        caught_up = time.perf_counter() - started
        for poster in posters:
            poster.join()
    assert len(ingested) == CONNECTIONS, "a poster failed"
    return SlowProjection(messages, max(ingested), caught_up, timings)

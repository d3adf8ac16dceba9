"""The figures behind two choices of the observability code. Not a target of ``make bench``:

    .venv/bin/python -m benchmarks.observability_choices [front-door] [bookkeeping] [formatter]
    .venv/bin/pip install python-json-logger structlog  # for the formatter; not rockets' own

- ``front-door``: ``POST /messages`` of one message through the app's ASGI entry point, 64 at a
  time, in process (no server, no socket), memory store: the process' CPU µs a request (what
  the front door and the service do; CPU time, which other work on the machine disturbs less
  than the clock's).
- ``bookkeeping``: what the front door does per request for the HTTP series
  (``RouteSeries``: in progress up and down, the status's histogram), against what it did for
  the two ``rockets_ingest_*`` series it replaced (a count by status, one histogram).
- ``formatter``: one JSON log line of rockets' formatter, of python-json-logger's and of
  structlog's, each made to write the same keys (docs/architecture.md says why rockets keeps its
  own).

Each figure is the median of interleaved rounds.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec

ROUNDS = 15
CONCURRENT = 64


def _per_call(fn: Callable[[], object], calls: int) -> float:
    """CPU µs per call of ``fn``, over ``calls`` calls."""
    started = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - started) / calls * 1e6


def compare(candidates: dict[str, Callable[[], object]], calls: int) -> dict[str, float]:
    """The median µs per call of each candidate, their rounds interleaved."""
    rounds: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(ROUNDS):
        for name, fn in candidates.items():
            rounds[name].append(_per_call(fn, calls))
    return {name: statistics.median(times) for name, times in rounds.items()}


# --- front door ------------------------------------------------------------------------------


async def _front_door(requests: int) -> float:
    from rockets.app import create_app
    from rockets.testing import standard_settings

    app = create_app(standard_settings())
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def body(n: int) -> bytes:
        return msgspec.json.encode(
            {
                "metadata": {
                    "channel": f"r{n}",
                    "messageNumber": 1,
                    "messageType": "RocketLaunched",
                },
                "message": {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"},
            }
        )

    def scope() -> dict[str, Any]:
        return {
            "type": "http",
            "method": "POST",
            "path": "/messages",
            "raw_path": b"/messages",
            "query_string": b"",
            "root_path": "",
            "scheme": "http",
            "http_version": "1.1",
            "headers": [(b"host", b"x"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8088),
        }

    async def post(payload: bytes) -> None:
        messages = [{"type": "http.request", "body": payload, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        await app(scope(), receive, send)

    rounds = []
    async with app.lifespan():
        for r in range(ROUNDS):
            bodies = [body(r * requests + n) for n in range(requests)]
            started = time.process_time()
            # As many at a time as a load generator's connections: the workers take them in
            # groups, as they do under a server.
            for first in range(0, requests, CONCURRENT):
                await asyncio.gather(*map(post, bodies[first : first + CONCURRENT]))
            rounds.append((time.process_time() - started) / requests * 1e6)
            assert all(m["status"] == 202 for m in sent if m["type"] == "http.response.start")
            sent.clear()
    return statistics.median(rounds)


def front_door() -> None:
    us = asyncio.run(_front_door(2000))
    print(f"front door, POST /messages in process: {us:.1f} CPU µs a request")


# --- bookkeeping -----------------------------------------------------------------------------


def bookkeeping() -> None:
    from rockets.runtime.metrics import Histogram, Metrics

    series = Metrics().route("POST", "/messages")
    requests: dict[int, int] = {}
    replaced = Histogram((0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5))

    def now() -> None:
        series.in_progress += 1
        series.in_progress -= 1
        series.answered(202, 0.0003)

    def request(status: int, seconds: float) -> None:  # the Metrics.request it replaced
        requests[status] = requests.get(status, 0) + 1
        replaced.observe(seconds)

    def before() -> None:
        request(202, 0.0003)

    figures = compare({"HTTP series": now, "rockets_ingest_* (replaced)": before}, 200_000)
    for name, us in figures.items():
        print(f"bookkeeping, {name}: {us * 1000:.0f} ns a request")


# --- formatter -------------------------------------------------------------------------------


def formatters() -> dict[str, logging.Formatter]:
    from rockets.http.logs import JsonFormatter

    found: dict[str, logging.Formatter] = {"rockets": JsonFormatter()}
    try:
        from pythonjsonlogger.core import RESERVED_ATTRS
        from pythonjsonlogger.msgspec import MsgspecFormatter
    except ImportError:
        print("python-json-logger is not installed: left out")
    else:

        class PythonJsonLogger(MsgspecFormatter):
            def __init__(self) -> None:
                super().__init__(
                    "{levelname}{name}{message}",
                    style="{",
                    timestamp="time",
                    rename_fields={
                        "levelname": "level",
                        "name": "logger",
                        "exc_info": "exception",
                        "request_id": "requestId",
                    },
                    reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's extra
                )

            def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
                log_data["level"] = log_data["level"].lower()
                if log_data.get("requestId") in (None, "-"):
                    log_data.pop("requestId", None)
                return log_data

        found["python-json-logger"] = PythonJsonLogger()
    try:
        import structlog
    except ImportError:
        print("structlog is not installed: left out")
    else:
        encoder = msgspec.json.Encoder()

        def request_id(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
            rid = getattr(event.get("_record"), "request_id", None)
            if rid and rid != "-":
                event["requestId"] = rid
            return event

        found["structlog"] = structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                request_id,
                structlog.processors.format_exc_info,
                structlog.processors.EventRenamer("message"),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(
                    serializer=lambda o, **_: encoder.encode(o).decode()
                ),
            ],
        )
    return found


def formatter() -> None:
    from rockets.http.logs import RequestIdFilter, request_id

    record = logging.LogRecord(
        "rockets.ingest", logging.INFO, __file__, 1, "ingested %d messages in %s", (12, "1s"), None
    )
    token = request_id.set("r-1")
    RequestIdFilter().filter(record)
    request_id.reset(token)
    found = formatters()
    for name, candidate in found.items():
        print(f"formatter, {name}: {candidate.format(record)}")
    figures = compare({name: lambda f=f: f.format(record) for name, f in found.items()}, 20_000)
    for name, us in figures.items():
        print(f"formatter, {name}: {us:.2f} µs a line")


def main(argv: list[str]) -> int:
    parts = {"front-door": front_door, "bookkeeping": bookkeeping, "formatter": formatter}
    for name in argv or list(parts):
        parts[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

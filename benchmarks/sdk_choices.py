"""The figures behind two choices of the SDK (docs/architecture.md, "The SDK is a distribution of
its own"): reading the stream's events with httpx-sse rather than the parser the SDK had, and
keeping its own retry loop rather than stamina's or tenacity's. Not a target of ``make bench``:

    .venv/bin/python -m benchmarks.sdk_choices
    .venv/bin/pip install stamina tenacity   # for the retry figures; not dependencies of rockets

Each figure is the median of interleaved runs, per event or per call.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import msgspec
from httpx_sse import EventSource
from rockets_client import RetryPolicy, RocketState
from rockets_client.retries import Retries

ROUNDS = 15


class HandWritten:
    """The parser the SDK had, over httpx's lines (which also break at U+2028 and U+0085)."""

    def __init__(self) -> None:
        self.kind = ""
        self.id = ""
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, str, str] | None:
        if not line:
            event = (self.kind or "message", self.id, "\n".join(self.data))
            self.kind, self.data = "", []
            return event if event[2] else None
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self.kind = value
        elif name == "id":
            self.id = value
        elif name == "data":
            self.data.append(value)
        return None


def stream_body(events: int) -> list[bytes]:
    """``/stream``'s bytes for ``events`` applied events, in 4 KiB chunks."""
    state = msgspec.json.encode(RocketState(channel="c", type="Falcon-9", speed=500))
    event = b'{"messageNumber":1,"messageType":"RocketSpeedIncreased","message":{"by":3}}'
    body = b"retry: 1000\n\n" + b"".join(
        b"id: run-%d\nevent: applied\ndata: " % i
        + b'{"channel":"c","event":'
        + event
        + b',"state":'
        + state
        + b"}\n\n"
        for i in range(events)
    )
    return [body[i : i + 4096] for i in range(0, len(body), 4096)]


class Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


def hand_written(chunks: list[bytes]) -> int:
    response = httpx.Response(200, stream=Chunks(chunks))
    parser, count = HandWritten(), 0
    for line in response.iter_lines():
        event = parser.feed(line)
        count += event is not None and event[0] == "applied"
    return count


def with_httpx_sse(chunks: list[bytes]) -> int:
    headers = {"content-type": "text/event-stream"}
    response = httpx.Response(200, headers=headers, stream=Chunks(chunks))
    return sum(event.event == "applied" for event in EventSource(response).iter_sse())


def medians(runs: dict[str, Callable[[], Any]], per: int) -> dict[str, float]:
    """Microseconds per item of each run, interleaved round by round."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(ROUNDS):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) / per * 1e6 for name, s in seconds.items()}


def parsing() -> None:
    events = 20_000
    chunks = stream_body(events)
    assert hand_written(chunks) == with_httpx_sse(chunks) == events
    per_event = medians(
        {"hand-written": lambda: hand_written(chunks), "httpx-sse": lambda: with_httpx_sse(chunks)},
        events,
    )
    size = sum(map(len, chunks)) / events
    for name, micros in per_event.items():
        print(f"stream parsing, {name}: {micros:.2f} us an event ({size:.0f} bytes an event)")


def retries() -> None:
    try:
        import stamina
        import tenacity
    except ImportError:
        print("retries: pip install stamina tenacity to compare them")
        return
    stamina.instrumentation.set_on_retry_hooks([])
    policy = RetryPolicy()
    answered = httpx.Response(200)

    def answer() -> httpx.Response:
        return answered

    def ours() -> httpx.Response:
        decisions = Retries(policy, retried=True, resendable=True)
        while True:
            attempt: httpx.Response | httpx.TransportError
            try:
                attempt = answer()
            except httpx.TransportError as exc:
                attempt = exc
            delay = decisions.after(attempt)
            if delay is None:
                assert isinstance(attempt, httpx.Response)
                return attempt
            time.sleep(delay)

    def on(exc: BaseException) -> bool:
        return isinstance(exc, httpx.TransportError)

    def with_stamina() -> httpx.Response:
        for attempt in stamina.retry_context(
            on=on, attempts=policy.attempts, timeout=None, wait_initial=policy.backoff,
            wait_max=policy.max_delay, wait_jitter=policy.backoff,
        ):  # fmt: skip
            with attempt:
                return answer()
        raise AssertionError("unreachable")

    def with_tenacity() -> httpx.Response:
        for attempt in tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.attempts),
            retry=tenacity.retry_if_exception(on),
            wait=tenacity.wait_random_exponential(multiplier=policy.backoff, max=policy.max_delay),
            reraise=True,
        ):
            with attempt:
                return answer()
        raise AssertionError("unreachable")

    calls = 20_000

    def loop(call: Callable[[], httpx.Response]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(calls):
                call()

        return run

    per_call = medians(
        {"ours": loop(ours), "stamina": loop(with_stamina), "tenacity": loop(with_tenacity)},
        calls,
    )
    for name, micros in per_call.items():
        print(f"retry loop, first try answers, {name}: {micros:.2f} us a call")


if __name__ == "__main__":
    parsing()
    retries()

"""The live stream (``GET /stream``) across its connections: the request that resumes it after
the last event received, the items its events make, when to reconnect or give up, and when its
time is up.

The events of one connection are read with httpx-sse (:class:`AsyncEvents`, :class:`Events`),
which splits lines as the server-sent events format says (on CR and LF only: httpx's own lines
also break at U+2028 or U+0085, which a payload's text may hold); resuming is ours, since
httpx-sse has none. docs/sdk.md says what ``timeout`` and ``idle_timeout`` do.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, ClassVar, Generic

import httpx
import msgspec
from httpx_sse import EventSource, ServerSentEvent
from typing_extensions import TypeVar

from rockets_client.core import raise_for
from rockets_client.errors import ConnectionFailedError, StreamIdleError, UnavailableError
from rockets_client.retries import RetryPolicy
from rockets_client.state import RocketState
from rockets_client.wire import StreamedEvent, StreamReset

__all__ = ["RESUMABLE", "AsyncEvents", "Events", "Resume", "StreamItem"]

S = TypeVar("S", bound=RocketState, default=RocketState)

CONNECT_SECONDS = 10.0
READ_SECONDS = 60.0
"""Without an idle timeout, the silence after which a connection is taken for dead and the
stream reconnects (the server sends a comment every 15 s)."""

RESUMABLE: tuple[type[Exception], ...] = (httpx.TransportError, UnavailableError)
"""What ends a connection of the stream but not the stream: the client reconnects."""

_reset = msgspec.json.Decoder(StreamReset)


class StreamItem(msgspec.Struct, Generic[S], frozen=True):
    """One event of the live stream: its ``id`` and what it says — an applied event with the
    rocket's new state, or a reset (events were missed for good: reload the state)."""

    id: str
    data: StreamedEvent[S] | StreamReset


class Resume(Generic[S]):
    """One ``/stream`` across its connections.

    Args:
        streamed: how an ``applied`` event's data reads.
        channel: the one channel streamed (None: all).
        last_event_id: where the stream starts (None: from now on).
        policy: how often, and after how long, a failed connection is opened again.
        timeout: seconds the whole stream lasts, then it stops (None: until the caller stops).
        idle_timeout: seconds without a byte from the server (an event, or the comment it sends
            every 15 s to keep the connection open) after which :class:`StreamIdleError` is
            raised (None: such a connection is opened again after 60 s).
    """

    method: ClassVar[str] = "GET"
    path: ClassVar[str] = "/stream"

    def __init__(
        self,
        streamed: msgspec.json.Decoder[StreamedEvent[S]],
        channel: str | None,
        last_event_id: str | None,
        policy: RetryPolicy,
        timeout: float | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be at least 0 seconds, not {timeout}")
        if idle_timeout is not None and idle_timeout <= 0:
            raise ValueError(f"idle_timeout must be more than 0 seconds, not {idle_timeout}")
        self._streamed = streamed
        self._channel = channel
        self._policy = policy
        self._idle = idle_timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        """When the stream stops (``time.monotonic()``), if it has a timeout."""
        self.last_event_id = last_event_id
        self.failures = 0
        """Connections that failed in a row."""

    @property
    def params(self) -> dict[str, str]:
        return {} if self._channel is None else {"channel": self._channel}

    @property
    def headers(self) -> dict[str, str]:
        headers = {"accept": "text/event-stream"}
        if self.last_event_id:
            headers["last-event-id"] = self.last_event_id
        return headers

    def left(self) -> float | None:
        """Seconds until the stream stops (None: it has no timeout)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def over(self) -> bool:
        """Whether the stream's time is up."""
        left = self.left()
        return left is not None and left <= 0

    @property
    def timeout(self) -> httpx.Timeout:
        """The next connection's timeouts: a read waits the idle timeout, and nothing waits
        past the stream's end."""
        connect, read = CONNECT_SECONDS, READ_SECONDS if self._idle is None else self._idle
        left = self.left()
        if left is not None:
            connect, read = min(connect, left), min(read, left)
        return httpx.Timeout(connect, read=read)

    def opened(self, response: httpx.Response) -> None:
        """A connection answered (an error's body read): raise its error, or start reading."""
        raise_for(response)
        self.failures = 0

    def feed(self, event: ServerSentEvent) -> StreamItem[S] | None:
        """The item an event of the open connection makes, if any (comments and the
        ``retry`` field make none)."""
        item: StreamItem[S]
        if event.event == "applied":
            item = StreamItem(event.id, self._streamed.decode(event.data))
        elif event.event == "reset":
            item = StreamItem(event.id, _reset.decode(event.data))
        else:
            return None
        self.last_event_id = item.id
        return item

    def dropped(self, failure: Exception) -> None:
        """A connection failed with one of :data:`RESUMABLE`: raise when that ends the stream
        (a silence past the idle timeout, or one failure too many); nothing once its time is
        up."""
        if self.over():
            return
        if self._idle is not None and isinstance(failure, httpx.ReadTimeout):
            raise StreamIdleError(
                f"{self.method} {self.path}: nothing from the server for {self._idle:g} s "
                "(no event, no keep-alive comment)"
            ) from failure
        self.failures += 1
        if self.failures >= max(self._policy.attempts, 2):
            raise ConnectionFailedError(f"{self.method} {self.path}: {failure}") from failure

    def delay(self) -> float:
        """Seconds to wait before reconnecting, after a connection ended or failed."""
        wait = self._policy.delay(max(self.failures, 1), None)
        left = self.left()
        return wait if left is None else max(min(wait, left), 0.0)


class AsyncEvents:
    """The events of one connection, for ``async for``, until ``deadline``
    (``time.monotonic()``; None: until the connection ends)."""

    def __init__(self, response: httpx.Response, deadline: float | None) -> None:
        self._events = EventSource(response).aiter_sse()
        self._deadline = deadline

    async def __aenter__(self) -> AsyncEvents:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._events.aclose()

    def __aiter__(self) -> AsyncIterator[ServerSentEvent]:
        return self

    async def __anext__(self) -> ServerSentEvent:
        if self._deadline is None:
            return await anext(self._events)
        try:
            async with asyncio.timeout_at(_loop_time(self._deadline)):
                return await anext(self._events)
        except TimeoutError:
            raise StopAsyncIteration from None


def _loop_time(deadline: float) -> float:
    """A ``time.monotonic()`` instant on the running event loop's clock."""
    return asyncio.get_running_loop().time() + deadline - time.monotonic()


class Events:
    """The events of one connection, for ``for``, until ``deadline`` (``time.monotonic()``;
    None: until the connection ends).

    A blocking read cannot be interrupted, so at the deadline the connection's socket is shut
    down (the read then ends as if the server had closed it). Over a transport without a socket
    (a test client, ``httpx.MockTransport``) the deadline is checked between events only.
    """

    def __init__(self, response: httpx.Response, deadline: float | None) -> None:
        self._events: Iterator[ServerSentEvent] = EventSource(response).iter_sse()
        self._deadline = deadline
        self._timer: threading.Timer | None = None
        sock = _socket(response) if deadline is not None else None
        if deadline is not None and sock is not None:
            self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), _cut, (sock,))
            self._timer.daemon = True
            self._timer.start()

    def __enter__(self) -> Events:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def __iter__(self) -> Iterator[ServerSentEvent]:
        return self

    def __next__(self) -> ServerSentEvent:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise StopIteration
        try:
            return next(self._events)
        except httpx.TransportError:
            if self._deadline is not None and time.monotonic() >= self._deadline:
                raise StopIteration from None  # the cut at the deadline
            raise


def _socket(response: httpx.Response) -> socket.socket | None:
    """The socket an HTTP/1.1 answer arrives on (under HTTP/2 it carries other requests too),
    through httpx's public ``network_stream`` extension; None without one."""
    stream: Any = response.extensions.get("network_stream")
    if stream is None or response.http_version != "HTTP/1.1":
        return None
    sock = stream.get_extra_info("socket")
    return sock if isinstance(sock, socket.socket) else None


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: the stream has ended anyway
        sock.shutdown(socket.SHUT_RDWR)

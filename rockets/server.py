"""The uvicorn protocol ``rockets serve`` runs: uvicorn's own, with the limits uvicorn lacks and
an ASGI app cannot set, a deadline for reading a request's head and a cap on open connections,
both answered in rockets' JSON with Retry-After where it helps.

uvicorn waits for a request's headers and body as long as the client likes, so a client that
trickles bytes (or connects and says nothing) holds a connection forever. Here, every request
must arrive whole within ``request_timeout`` seconds of its first byte (of the connection, for
the first request); otherwise the client gets 408 and the connection is closed. A connection
beyond ``max_connections`` gets 503 with Retry-After and is closed at once (uvicorn's own
``limit_concurrency`` answers a bare 503 without Retry-After, so it is not used).
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from uvicorn.protocols.http.h11_impl import H11Protocol

from rockets.answers import TOO_MANY_CONNECTIONS, request_timeout, retry_after
from rockets.settings import Settings
from rockets.wire import ErrorBody

__all__ = ["default_protocol_class", "guarded_protocol"]


def _raw_response(status: int, reason: str, body: ErrorBody) -> bytes:
    content = msgspec.json.encode(body)
    headers = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(content)}",
        "connection: close",
        "x-content-type-options: nosniff",
    ]
    seconds = retry_after(status)
    if seconds is not None:
        headers.append(f"retry-after: {seconds}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + content


def guarded_protocol(base: type[Any], settings: Settings) -> type[asyncio.Protocol]:
    """A subclass of uvicorn's HTTP protocol class ``base`` (h11 or httptools) with the
    request deadline (``request_timeout``) and the connection cap (``max_connections``)."""
    timeout = settings.request_timeout
    max_connections = settings.max_connections
    timeout_answer = _raw_response(408, "Request Timeout", request_timeout(timeout))
    busy_answer = _raw_response(503, "Service Unavailable", TOO_MANY_CONNECTIONS)

    class Guarded(base):  # type: ignore[misc]
        _deadline: asyncio.TimerHandle | None = None
        _waiting_for: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                self.connections.discard(self)
                transport.write(busy_answer)
                transport.close()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._deadline is None:
                self._arm()  # the first bytes of a new request
            super().data_received(data)
            cycle = self.cycle
            if cycle is not None and cycle is not self._waiting_for and not cycle.more_body:
                self._disarm()  # headers and body are in

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._waiting_for = self.cycle
            self._deadline = self.loop.call_later(timeout, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            cycle = self.cycle
            if cycle is None or cycle is self._waiting_for or not cycle.response_started:
                self.transport.write(timeout_answer)
            self.transport.close()

    Guarded.__name__ = f"Guarded{base.__name__}"
    Guarded.__qualname__ = Guarded.__name__
    return Guarded


def default_protocol_class() -> type[Any]:
    """httptools' protocol when installed (faster), h11's otherwise, as uvicorn chooses."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - depends on the installation
        return H11Protocol
    return HttpToolsProtocol

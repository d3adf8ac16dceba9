"""What ``rockets serve`` runs of uvicorn: its server, on a socket bound before the service starts
(so that an address in use stops the start before anything else), and its HTTP protocol.

The protocol is uvicorn's own, with the limits uvicorn lacks and an ASGI app cannot set — a
deadline for reading a request's head, a bound on the head's size and a cap on open connections —
answered in rockets' JSON with Retry-After where it helps, as are the requests uvicorn's parser
refuses (uvicorn answers those in plain text); and a close that lets the client read an answer
given before the request's body was in.

uvicorn waits for a request's headers and body as long as the client likes, so a client that
trickles bytes (or connects and says nothing) holds a connection forever. Here, every request
must arrive whole within ``request_timeout`` seconds of its first byte (of the connection, for
the first request); otherwise the client gets 408 and the connection is closed. A connection
beyond ``max_connections`` gets 503 with Retry-After and is closed at once (uvicorn's own
``limit_concurrency`` answers a bare 503 without Retry-After, so it is not used). A head over
``max_header_bytes`` gets 431 and the connection is closed before more of it is buffered:
httptools keeps a header line in memory however long it grows.

A connection closed while its client is still sending is reset by the kernel, and a client that
sends its whole body before it reads (Python's urllib, requests) then gets "Broken pipe" or
"Connection reset" instead of the answer. So after an answer given before the request was read
whole (413, 401, 415 from the app; 431 and 400 from here), the connection lingers: the server
shuts its writing side, then reads and throws away what comes until the client stops sending,
``linger_bytes`` have come or ``linger_seconds`` have passed, and only then closes. A lingering
connection still counts against ``max_connections``. Only a request whose body was not in whole
after the read that brought its head is watched for this, so a request that comes in one read
pays nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import msgspec
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from rockets.errors import InputError
from rockets.http.answers import (
    MALFORMED_REQUEST,
    TOO_MANY_CONNECTIONS,
    headers_too_large,
    request_timeout,
    retry_after,
)
from rockets.settings import Settings
from rockets.wire import ErrorBody

__all__ = [
    "BoundServer",
    "default_protocol_class",
    "guarded_protocol",
    "listen",
    "on_stop_signals",
    "server_config",
]


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
    request deadline (``request_timeout``), the bound on a request's head
    (``max_header_bytes``), the connection cap (``max_connections``), and its own malformed
    requests answered in rockets' JSON."""
    timeout = settings.request_timeout
    max_connections = settings.max_connections
    max_head = settings.max_header_bytes
    timeout_answer = _raw_response(408, "Request Timeout", request_timeout(timeout))
    busy_answer = _raw_response(503, "Service Unavailable", TOO_MANY_CONNECTIONS)
    head_answer_body = headers_too_large(max_head, settings.max_headers)
    head_answer = _raw_response(431, "Request Header Fields Too Large", head_answer_body)
    malformed_answer = _raw_response(400, "Bad Request", MALFORMED_REQUEST)
    linger_bytes = settings.linger_bytes
    linger_seconds = settings.linger_seconds

    class Guarded(base):  # type: ignore[misc]
        _deadline: asyncio.TimerHandle | None = None
        _waiting_for: object = None
        _head_bytes = 0
        _reading = 0
        _oversized = False
        _lingering = False

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
            heading = self.cycle is self._waiting_for
            self._reading = len(data)
            super().data_received(data)
            cycle = self.cycle
            if heading and cycle is self._waiting_for:
                # Still in the head: the parser holds what came so far, so its size is bounded
                # here, at the limit plus one read at most.
                self._head_bytes += len(data)
                if self._head_bytes > max_head and not self._answered():
                    self._refuse(head_answer)
            elif cycle is not None and cycle is not self._waiting_for:
                if not cycle.more_body:
                    self._disarm()  # headers and body are in
                elif heading:
                    self._watch(cycle)  # the body is still coming

        if hasattr(base, "on_headers_complete"):  # httptools: a head that came in one read

            def on_headers_complete(self) -> None:
                # What came so far bounds the head from above: most heads are far below the
                # limit and are not measured.
                if self._head_bytes + self._reading > max_head and _head_size(self) > max_head:
                    self._oversized = True
                    # Raising stops the parser; uvicorn then calls send_400_response.
                    raise InputError(head_answer_body)
                super().on_headers_complete()

        def send_400_response(self, msg: str) -> None:
            self._refuse(head_answer if self._oversized else malformed_answer)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _refuse(self, answer: bytes) -> None:
            self._disarm()
            self.transport.write(answer)
            cycle = self.cycle
            if cycle is None or cycle.response_complete:
                self._linger()
            else:  # an app still answering an earlier request: no half-close under it
                self.transport.close()

        def _answered(self) -> bool:
            return self._lingering or self.transport.is_closing()

        def _watch(self, cycle: Any) -> None:
            """If ``cycle`` is answered before its body is in, linger instead of closing (or,
            kept alive, instead of parsing the rest of a body nobody reads): the cycle closes
            through :class:`_Answering`, and says it has answered through ``responded``."""
            cycle.transport = _Answering(self.transport, cycle, self._linger)
            done = cycle.on_response

            def responded() -> None:
                if cycle.more_body:
                    self._linger()
                    self.server_state.total_requests += 1  # as uvicorn counts an answer
                else:
                    done()

            cycle.on_response = responded

        def _linger(self) -> None:
            """Close once the client has stopped sending, or after ``linger_bytes`` or
            ``linger_seconds``; what comes meanwhile is thrown away, unparsed."""
            if self._answered():
                return
            self._lingering = True
            self._disarm()
            transport = self.transport
            transport.set_protocol(_Discarding(self, transport, linger_bytes, linger_seconds))
            if transport.can_write_eof():
                # After the answer: a client that reads until the server closes is done.
                transport.write_eof()
            transport.resume_reading()

        def _arm(self) -> None:
            self._waiting_for = self.cycle
            self._head_bytes = 0
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


class _Answering:
    """The transport a request whose body is still coming is answered through: its ``close``
    after an answer given before the body was in lingers instead (see the module's notes)."""

    __slots__ = ("_cycle", "_linger", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: Any, linger: Callable[[], None]):
        self._transport = transport
        self._cycle = cycle
        self._linger = linger

    def write(self, data: bytes) -> None:
        self._transport.write(data)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        cycle = self._cycle
        if cycle.response_complete and cycle.more_body:
            self._linger()
        else:
            self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Discarding(asyncio.Protocol):
    """What speaks for a connection that lingers after an early answer: it reads and throws
    away what comes, up to ``budget`` bytes and for ``seconds`` at most, then closes; the
    protocol that answered hears of the close as if it had stayed (its connection stays
    counted until then)."""

    def __init__(
        self, owner: asyncio.Protocol, transport: asyncio.Transport, budget: int, seconds: float
    ) -> None:
        self.owner = owner
        self.transport = transport
        self.left = budget
        # abort, not close: a client that neither reads nor stops sending gets no more time.
        self.timer = asyncio.get_running_loop().call_later(seconds, transport.abort)

    def data_received(self, data: bytes) -> None:
        self.left -= len(data)
        if self.left < 0:
            self.transport.close()

    def eof_received(self) -> None:
        return None  # the client stopped sending: the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.timer.cancel()
        self.owner.connection_lost(exc)


def _head_size(protocol: Any) -> int:
    """The bytes of the request head an httptools protocol has parsed (its line and fields)."""
    return len(protocol.url) + sum(len(name) + len(value) + 4 for name, value in protocol.headers)


def default_protocol_class() -> type[Any]:
    """httptools' protocol when installed (faster), h11's otherwise, as uvicorn chooses."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - depends on the installation
        return H11Protocol
    return HttpToolsProtocol


def server_config(
    app: Any,
    settings: Settings,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    log_config: dict[str, Any] | None = None,
    protocol: type[Any] | None = None,
) -> uvicorn.Config:
    """What ``rockets serve`` hands uvicorn: ``app`` (built to leave the request deadline to
    the server, ``create_app(settings, deadlines="server")``) on ``host:port``, spoken to by
    :func:`guarded_protocol` of ``protocol`` (by default :func:`default_protocol_class`), with
    the keep-alive and shutdown timeouts of ``settings``. ``log_config`` None leaves logging
    as it is."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config,
        access_log=settings.access_log,
        http=guarded_protocol(protocol or default_protocol_class(), settings),
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=max(1, round(settings.keep_alive_timeout)),
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout)),
    )


def on_stop_signals(callback: Callable[[], None]) -> None:
    """Run ``callback`` in the running event loop as soon as the process is asked to stop
    (SIGTERM, SIGINT), before whatever handler the server installed runs as usual.

    The app calls it when it starts: uvicorn (under ``rockets serve`` and ``litestar run``
    alike) has installed its handlers by then, and gives an app no other notice of a stop
    before it waits for every open request to end, streams included. Outside the main thread
    (a test client's), signals cannot be handled and nothing is installed.
    """
    loop = asyncio.get_running_loop()

    def chain(previous: Any) -> Callable[[int, FrameType | None], None]:
        def handler(signum: int, frame: FrameType | None) -> None:
            loop.call_soon_threadsafe(callback)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

        return handler

    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.signal(signum, chain(signal.getsignal(signum)))
        except ValueError:  # not the main thread
            return


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, as uvicorn would bind it.

    Raises:
        OSError: the address is in use, or not one of this machine's.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class BoundServer(uvicorn.Server):
    """uvicorn's server on a socket bound beforehand, saying where it listens as it would have
    if it had bound the socket itself (it says nothing when handed one)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            address = f"[{host}]" if ":" in host else host
            logging.getLogger("uvicorn.error").info(
                "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", address, port
            )

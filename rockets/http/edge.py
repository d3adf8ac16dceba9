"""The edge: every rule a request meets on its way in, written once.

- Tokens: who may write and who may read (``ROCKETS_INGEST_TOKEN``, ``ROCKETS_READ_TOKEN``),
  compared in constant time; a 401 carries ``WWW-Authenticate``.
- Request ids: the client's ``X-Request-ID`` (its first 128 bytes) or one made here, on every
  answer and every log line of the request.
- The headers every answer carries.
- A deadline on reading a request body (408), enforced at the ASGI level so that it holds
  whichever server runs the app (``rockets serve`` also bounds the header phase, see
  :mod:`rockets.http.server`).
- For ``POST /messages``: the JSON content type (415) and the body limit (413), applied by
  :mod:`rockets.http.ingress`, the front door.

Every other request gets the same rules through :meth:`Edge.around` and :meth:`Edge.guard`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler

from rockets.errors import InputError
from rockets.http.answers import (
    UNAUTHORIZED,
    headers_too_large,
    request_timeout,
    retry_after,
)
from rockets.http.apidocs import ASSETS_PREFIX
from rockets.http.logs import log_refusal, request_id
from rockets.settings import Settings
from rockets.wire import ErrorBody

__all__ = [
    "ACCESS_TOKEN",
    "MESSAGES_PATH",
    "OPEN_PATHS",
    "WWW_AUTHENTICATE",
    "Deadlines",
    "Edge",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "Tokens",
    "scan_headers",
]

log = logging.getLogger("rockets")

MESSAGES_PATH = "/messages"
OPEN_PATHS = frozenset({"/health", "/"})
"""Paths that never need a token: the health check, for load balancers, and the dashboard's page
(it holds no data; the data it reads needs a token as any read does)."""
OPEN_PREFIXES = ("/dashboard/", ASSETS_PREFIX)
"""And the files under these: the dashboard's, and those of the API documentation pages (the
published files of Swagger UI and RapiDoc). The pages themselves and the document are reads."""
READING = frozenset({"GET", "HEAD", "OPTIONS"})
ACCESS_TOKEN = "access_token"
"""The query parameter that may carry a read token, where no header can be set (a browser's
EventSource): every read route takes it."""
WWW_AUTHENTICATE = 'Bearer realm="rockets"'
ANSWER_HEADERS = ((b"x-content-type-options", b"nosniff"),)
"""What every answer carries; the dashboard's page adds its own (see rockets.http.dashboard)."""

# The raw ASGI shapes: scopes and messages are plain dicts here, receive and send plain
# callables (Litestar's TypedDicts would cost casts on the hot path, not safety).
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
encode_json = msgspec.json.Encoder().encode
_MAX_REQUEST_ID = 128


class Tokens:
    """Who may do what: a request that writes (any method but GET, HEAD, OPTIONS) needs the
    ingest token when one is set; one that reads needs the read token or the ingest token when
    a read token is set. ``/health``, the dashboard's page and files and the API documentation's
    files need none."""

    def __init__(self, settings: Settings) -> None:
        self.ingest = settings.ingest_token.encode() if settings.ingest_token else None
        self.read = settings.read_token.encode() if settings.read_token else None

    @property
    def active(self) -> bool:
        return self.ingest is not None or self.read is not None

    def allows(self, method: str, path: str, authorization: bytes, query_token: bytes) -> bool:
        """Whether a request may pass. ``query_token`` is the ``access_token`` query parameter,
        which a browser's EventSource must use (it cannot set headers); it counts for reads."""
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return True
        reading = method in READING
        if not reading:
            wanted = [self.ingest] if self.ingest is not None else []
        elif self.read is not None:
            wanted = [t for t in (self.read, self.ingest) if t is not None]
        else:
            wanted = []
        if not wanted:
            return True
        scheme, _, credentials = authorization.partition(b" ")
        bearer = scheme.lower() == b"bearer"
        given = credentials.strip() if bearer else query_token if reading else b""
        # Every candidate is compared, so the time taken says nothing about which was close.
        matches = [hmac.compare_digest(given, token) for token in wanted]
        return any(matches)


class Deadlines:
    """A deadline on every wait for request body bytes.

    A request's body must arrive whole within ``seconds`` of the request reaching the app;
    otherwise the wait raises :class:`InputError` with a 408. One sweeper task checks the
    waits in progress a few times per deadline, which costs a request a dictionary entry
    instead of a timer.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.enabled = True
        self._waiting: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def leave_to_the_server(self) -> None:
        """Enforce no deadline here: the server does, from a request's first byte, which covers
        the body too (``rockets serve``'s protocol, see :mod:`rockets.http.server`). Spares every
        request the bookkeeping."""
        self.enabled = False

    def start(self) -> None:
        """Start the sweeper (inside the running event loop)."""
        if self.enabled and self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="rockets-deadlines")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    def deadline(self) -> float:
        """The deadline of a request that reaches the app now."""
        return asyncio.get_running_loop().time() + self.seconds

    async def receive(self, receive: Receive, deadline: float) -> Message:
        """``await receive()``, or a 408 :class:`InputError` once ``deadline`` has passed."""
        if not self.enabled:
            return await receive()
        task = asyncio.current_task()
        assert task is not None
        waiting = self._waiting
        # A receive that is itself guarded (a route of Litestar reading through the edge
        # middleware) nests: the inner wait is the one that expires.
        outer = waiting.get(task)
        waiting[task] = deadline
        try:
            return await receive()
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            task.uncancel()
            raise InputError(request_timeout(self.seconds)) from None
        finally:
            if outer is None:
                del waiting[task]
            else:
                waiting[task] = outer

    def guard(self, receive: Receive) -> Receive:
        """``receive`` with the deadline on it until the body is complete (later calls, which
        wait for the client to go away, have none)."""
        if not self.enabled:
            return receive
        deadline = self.deadline()
        done = False

        async def guarded() -> Message:
            nonlocal done
            if done:
                return await receive()
            message = await self.receive(receive, deadline)
            done = not message.get("more_body", False)
            return message

        return guarded

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        every = min(1.0, self.seconds / 4)
        while True:
            await asyncio.sleep(every)
            now = loop.time()
            for task, deadline in list(self._waiting.items()):
                if deadline <= now and task not in self._expired:
                    self._expired.add(task)
                    task.cancel()


class Edge:
    """The edge rules of one app, built from its settings.

    Args:
        settings: the configuration (tokens, body limit, request deadline, CORS origins).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tokens = Tokens(settings)
        self.deadlines = Deadlines(settings.request_timeout)
        self.max_body = settings.max_body_bytes
        self.max_headers = settings.max_headers
        self.headers_too_large = headers_too_large(settings.max_header_bytes, settings.max_headers)
        self.cors = bool(settings.cors_origins)
        # Request ids: a per-process prefix and a counter, cheaper than a UUID per request.
        self._prefix = os.urandom(4).hex()
        self._counter = itertools.count(1)

    def request_id(self, given: bytes | None) -> bytes:
        """The id of a request: the client's ``X-Request-ID`` (``given``), or a new one."""
        if given:
            return given[:_MAX_REQUEST_ID]
        return f"{self._prefix}{next(self._counter):08x}".encode()

    def cors_config(self) -> CORSConfig | None:
        """CORS for dashboards served from other origins (``ROCKETS_CORS_ORIGINS``)."""
        if not self.cors:
            return None
        return CORSConfig(
            allow_origins=list(self.settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            expose_headers=["X-Total-Count", "Retry-After"],
            max_age=600,
        )

    def guard(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        """The token rule as a Litestar guard (a 401 otherwise)."""
        if not self.tokens.active:
            return
        scope = connection.scope
        allowed = self.tokens.allows(
            str(scope.get("method", "GET")),
            scope["path"],
            connection.headers.get("authorization", "").encode("latin-1"),
            connection.query_params.get(ACCESS_TOKEN, "").encode(),
        )
        if not allowed:
            raise NotAuthorizedException(
                detail=UNAUTHORIZED.detail, headers={"WWW-Authenticate": WWW_AUTHENTICATE}
            )

    async def send_json(
        self,
        send: Send,
        status: int,
        body: bytes,
        rid: bytes,
        retry_after: int | None,
        close: bool = False,
    ) -> None:
        """Answer with a JSON body the edge made itself, with every header an answer carries;
        with ``close``, the connection is closed after it."""
        headers = [
            _JSON,
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", rid),
            *ANSWER_HEADERS,
        ]
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        if status == 401:
            headers.append((b"www-authenticate", WWW_AUTHENTICATE.encode()))
        if close or status == 408:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def refuse(self, scope: Scope, send: Send, body: ErrorBody) -> None:
        """Answer ``body`` to a request the edge refuses before anything else sees it, and
        close the connection: what is left of the request is unread, and a client refused for
        holding too much must not keep holding the connection."""
        rid = self.request_id(scan_headers(scope)[0])
        if body.status < 500:
            token = request_id.set(rid.decode("latin-1"))
            try:
                log_refusal(str(scope.get("method", "")), scope["path"], body)
            finally:
                request_id.reset(token)
        await self.send_json(
            send, body.status, encode_json(body), rid, retry_after(body.status), close=True
        )

    def too_many_headers(self, scope: Scope) -> bool:
        """Whether the request has more header fields than allowed (checked under any server;
        the bytes of the head are bounded by ``rockets serve``'s protocol)."""
        return len(scope["headers"]) > self.max_headers

    async def around(
        self, app: Callable[..., Awaitable[None]], scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Run ``app`` on an HTTP request with the edge's rules: the request id, the answer
        headers and the body deadline (every answer gets them, a 404 of Litestar's router
        included)."""
        rid = self.request_id(scan_headers(scope)[0])
        token = request_id.set(rid.decode("latin-1"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", rid))
                headers.extend(h for h in ANSWER_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, self.deadlines.guard(receive), send_with_headers)
        finally:
            request_id.reset(token)


def scan_headers(scope: Scope) -> tuple[bytes | None, bytes | None, bytes | None, bytes | None]:
    """``(x-request-id, content-type, content-length, authorization)`` of a request, found in
    one pass over its headers (None: absent)."""
    rid = content_type = length = authorization = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = value
        elif name == b"authorization":
            authorization = value
        elif name == b"x-request-id":
            rid = value
    return rid, content_type, length, authorization

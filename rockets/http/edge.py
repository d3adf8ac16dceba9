"""The edge: every rule a request meets on its way in, written once, for the front door of
``POST /messages`` (:mod:`rockets.http.ingress`) and for every route of Litestar alike.

- The head of a request, read by one function in one pass (:func:`read_head`): whatever the
  rules below need of its header fields comes from there.
- The number of header fields (431; the bytes of the head are bounded by ``rockets serve``'s
  protocol, see :mod:`rockets.http.server`).
- Tokens: who may write and who may read (``ROCKETS_INGEST_TOKEN``, ``ROCKETS_READ_TOKEN``),
  compared in constant time; a 401 carries ``WWW-Authenticate``. :meth:`Edge.authorized` decides
  for both paths (for the routes through :meth:`Edge.guard`, a Litestar guard, so that an
  unknown path stays a 404). Plugins' routes meet the same rule, unless one declares itself
  public (:data:`PUBLIC`); they may not take a reserved path (:func:`reserved`), so none can
  hide among the paths that need no token.
- Request ids: the client's ``X-Request-ID`` (its first 128 bytes) or one made here, on every
  answer and every log line of the request.
- The headers every answer carries, CORS's among them (``ROCKETS_CORS_ORIGINS``): preflights
  are answered here, for every path.
- A deadline on reading a request body (408), enforced at the ASGI level so that it holds
  whichever server runs the app, unless the server keeps it (``rockets serve``).
- The body limit (413), by the declared length and by what arrives; and, for ``POST /messages``,
  the JSON content type (415).
- Answers given before a body was read (413, 401, 415, 404...) readable by a client that sends
  its whole body first (urllib, requests): a server that closes a connection the client is still
  sending on has it reset, and such a client sees the reset, not the answer. ``rockets serve``
  lingers after the answer (see :mod:`rockets.http.server`); under any other server the app
  cannot read after answering, so it reads and throws away what is left of the body first
  (:meth:`Edge.drain`), within ``linger_bytes`` and ``linger_seconds``, and ends the connection
  with the answer if the body is still not all in.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, cast
from urllib.parse import parse_qsl

import msgspec
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.constants import DEFAULT_ALLOWED_CORS_HEADERS
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler

from rockets.errors import InputError
from rockets.http.answers import (
    CLIENT_GONE,
    TOO_LARGE,
    UNAUTHORIZED,
    headers_too_large,
    request_timeout,
    retry_after,
    unsupported_media_type,
)
from rockets.http.apidocs import ASSETS_PREFIX
from rockets.http.logs import log_refusal, request_id
from rockets.settings import Settings
from rockets.wire import ErrorBody

__all__ = [
    "ACCESS_TOKEN",
    "MESSAGES_PATH",
    "OPEN_PATHS",
    "PUBLIC",
    "RESERVED_PATHS",
    "WWW_AUTHENTICATE",
    "Cors",
    "DeadlineKeeper",
    "Deadlines",
    "Edge",
    "Header",
    "Message",
    "Receive",
    "RequestHead",
    "Scope",
    "Send",
    "Tokens",
    "read_head",
    "reserved",
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
RESERVED_PATHS = (
    MESSAGES_PATH,
    "/rockets",
    "/stream",
    "/health",
    "/metrics",
    "/plugins",
    "/projections",
    "/stalled",
    "/schema",
    "/dashboard",
)
"""The first segments of the built-in routes' paths: a plugin's route may take none of them,
nor anything under them, nor ``/`` (see :func:`reserved`)."""
PUBLIC = "public"
"""The ``opt`` key by which a plugin's route declares it needs no token:
``@get("/status", opt={"public": True})``. Any other route needs the token its method needs."""
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
Header = tuple[bytes, bytes]

DeadlineKeeper = Literal["app", "server"]
"""Who keeps the deadline on reading a request: the app (its edge, under any server), or the
server, from the request's first byte (``rockets serve``'s protocol). Whoever keeps it also sees
that an answer given before a body was read can be read: the server by lingering after it, the
app by reading the rest of the body before it (:meth:`Edge.drain`)."""

_JSON = (b"content-type", b"application/json")
_TEXT = (b"content-type", b"text/plain; charset=utf-8")
encode_json = msgspec.json.Encoder().encode
_MAX_REQUEST_ID = 128


class RequestHead(msgspec.Struct, frozen=True, gc=False):
    """What the edge reads of a request's header fields, found in one pass (:func:`read_head`);
    None where a field is absent."""

    request_id: bytes | None
    content_type: bytes | None
    content_length: bytes | None
    authorization: bytes | None
    origin: bytes | None


def read_head(scope: Scope) -> RequestHead:
    """The header fields of a request the edge's rules read, in one pass over its headers."""
    rid = content_type = length = authorization = origin = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = value
        elif name == b"authorization":
            authorization = value
        elif name == b"x-request-id":
            rid = value
        elif name == b"origin":
            origin = value
    return RequestHead(rid, content_type, length, authorization, origin)


def reserved(path: str) -> str | None:
    """Why a plugin's route may not be served at ``path`` (a route's path as Litestar
    normalizes it), or None when it may: it is ``/``, or it is one of :data:`RESERVED_PATHS`
    or under one, or it starts with a path parameter (which would take them all)."""
    if path.rstrip("/") == "":
        return "'/' is the dashboard's page"
    first = "/" + path.lstrip("/").partition("/")[0]
    if first.startswith("/{"):
        return "it starts with a path parameter, which would take the reserved paths"
    if first in RESERVED_PATHS:
        return f"rockets keeps {first!r} and every path under it for its own routes"
    return None


class Tokens:
    """Who may do what: a request that writes (any method but GET, HEAD, OPTIONS) needs the
    ingest token when one is set; one that reads needs the read token or the ingest token when
    a read token is set. ``/health``, the dashboard's page and files and the API documentation's
    files need none, and neither does a plugin's route declared public (:data:`PUBLIC`, decided
    by :meth:`Edge.guard`)."""

    def __init__(self, settings: Settings) -> None:
        self.ingest = settings.ingest_token.encode() if settings.ingest_token else None
        self.read = settings.read_token.encode() if settings.read_token else None
        self.active = self.ingest is not None or self.read is not None
        """Whether any token is set (else every request passes)."""

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

    Args:
        seconds: the deadline, from the request reaching the app.
        kept_by: ``"server"`` when the server enforces a deadline from a request's first byte,
            which covers the body too (``rockets serve``'s protocol, see
            :mod:`rockets.http.server`): none is enforced here, which spares every request
            the bookkeeping.
    """

    def __init__(self, seconds: float, *, kept_by: DeadlineKeeper = "app") -> None:
        self.seconds = seconds
        self.enabled = kept_by == "app"
        self._waiting: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the sweeper (inside the running event loop)."""
        if self.enabled and self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="rockets-deadlines")

    async def stop(self) -> None:
        """Stop the sweeper."""
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
        # A receive that is itself guarded (a route of Litestar reading through the edge)
        # nests: the inner wait is the one that expires.
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


class Cors:
    """CORS for dashboards served from other origins (``ROCKETS_CORS_ORIGINS``), applied as
    Litestar's own CORS handling applies it, from the public values of its ``CORSConfig``.

    A preflight (``OPTIONS`` with an ``Origin``) is answered here, whatever its path; every other
    answer to a request with an ``Origin`` gets :meth:`headers`.

    Args:
        origins: the origins allowed (``*`` in any part of one stands for anything; ``*`` alone
            allows every origin).
    """

    def __init__(self, origins: Sequence[str]) -> None:
        self.config = config = CORSConfig(
            allow_origins=list(origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            expose_headers=["X-Total-Count", "Retry-After"],
            max_age=600,
        )
        simple = {
            **config.simple_headers,
            "Access-Control-Allow-Headers": ", ".join(sorted(set(config.allow_headers))),
            "Access-Control-Allow-Methods": ", ".join(sorted(set(config.allow_methods))),
        }
        self._simple = tuple(_encoded(simple))
        self._allowed_headers = {
            h.lower() for h in (*config.allow_headers, *DEFAULT_ALLOWED_CORS_HEADERS)
        }

    def headers(self, scope: Scope, origin: bytes) -> Sequence[Header]:
        """The CORS headers of an answer to a request from ``origin`` (an origin not allowed
        gets no ``Access-Control-Allow-Origin``)."""
        config = self.config
        if config.is_allow_all_origins:
            # A request with credentials cannot be answered "*": it gets its origin back.
            if not any(name == b"cookie" for name, _ in scope["headers"]):
                return self._simple
            simple = tuple(h for h in self._simple if h[0] != b"access-control-allow-origin")
        elif config.is_origin_allowed(origin.decode("latin-1")):
            simple = self._simple
        else:
            return self._simple
        return (*simple, (b"access-control-allow-origin", origin), (b"vary", b"Origin"))

    def preflight(self, scope: Scope, origin: bytes) -> tuple[int, list[Header], bytes]:
        """The answer to a preflight from ``origin``: 204 with what it may do, or 400 saying
        what it may not (its method, its origin, its headers)."""
        config = self.config
        asked = dict(reversed(scope["headers"]))  # a field given twice: its first value
        method = asked.get(b"access-control-request-method", b"").decode("latin-1")
        failures = []
        if not config.is_allow_all_methods and method and method not in config.allow_methods:
            failures.append("method")
        headers = dict(config.preflight_headers)
        if not config.is_origin_allowed(origin.decode("latin-1")):
            failures.append("Origin")
        elif headers.get("Access-Control-Allow-Origin") != "*":
            headers["Access-Control-Allow-Origin"] = origin.decode("latin-1")
        requested = asked.get(b"access-control-request-headers", b"").decode("latin-1")
        wanted = [h.strip() for h in requested.split(",") if h.strip()]
        if wanted and config.is_allow_all_headers:
            allowed = ", ".join(sorted(set(wanted) | DEFAULT_ALLOWED_CORS_HEADERS))
            headers["Access-Control-Allow-Headers"] = allowed
        elif any(h.lower() not in self._allowed_headers for h in wanted):
            failures.append("headers")
        if failures:
            body = f"Disallowed CORS {', '.join(failures)}".encode()
            return 400, [_TEXT, (b"content-length", str(len(body)).encode())], body
        return 204, _encoded(headers), b""


def _encoded(headers: dict[str, str]) -> list[Header]:
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]


class Edge:
    """The edge rules of one app, built from its settings.

    Args:
        settings: the configuration (tokens, limits, request deadline, CORS origins).
        deadlines: who keeps the deadline on reading a request (:data:`DeadlineKeeper`).
    """

    def __init__(self, settings: Settings, *, deadlines: DeadlineKeeper = "app") -> None:
        self.settings = settings
        self.tokens = Tokens(settings)
        self.deadlines = Deadlines(settings.request_timeout, kept_by=deadlines)
        self.drains = deadlines == "app"
        """Whether an answer given before a body was read waits for the rest of it
        (:meth:`drain`): not under a server that lingers after the answer instead."""
        self.linger_bytes = settings.linger_bytes
        self.linger_seconds = settings.linger_seconds
        self.max_body = settings.max_body_bytes
        self.max_headers = settings.max_headers
        self.headers_too_large = headers_too_large(settings.max_header_bytes, settings.max_headers)
        self.cors = Cors(settings.cors_origins) if settings.cors_origins else None
        # Request ids: a per-process prefix and a counter, cheaper than a UUID per request.
        self._prefix = os.urandom(4).hex()
        self._counter = itertools.count(1)

    def too_many_headers(self, scope: Scope) -> bool:
        """Whether the request has more header fields than allowed (checked under any server;
        the bytes of the head are bounded by ``rockets serve``'s protocol)."""
        return len(scope["headers"]) > self.max_headers

    def request_id(self, given: bytes | None) -> bytes:
        """The id of a request: the client's ``X-Request-ID`` (``given``), or a new one."""
        if given:
            return given[:_MAX_REQUEST_ID]
        return f"{self._prefix}{next(self._counter):08x}".encode()

    def authorized(self, scope: Scope, head: RequestHead) -> bool:
        """Whether the request's credentials let it pass (:class:`Tokens`): a bearer token in
        its ``Authorization``, or, for a read, its ``access_token`` query parameter."""
        tokens = self.tokens
        if not tokens.active:
            return True
        method = str(scope.get("method", "GET"))
        authorization = head.authorization or b""
        query_token = b""
        # The query is parsed only for a read that carries no bearer token.
        if method in READING and authorization.partition(b" ")[0].lower() != b"bearer":
            query_token = _query_token(scope)
        return tokens.allows(method, scope["path"], authorization, query_token)

    def guard(
        self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        """:meth:`authorized`, as a Litestar guard (a 401 otherwise); a route whose ``opt``
        declares it public (:data:`PUBLIC`) lets every request pass."""
        if handler.opt.get(PUBLIC) is True:
            return
        scope = cast(Scope, connection.scope)
        if not self.authorized(scope, read_head(scope)):
            raise NotAuthorizedException(
                detail=UNAUTHORIZED.detail, headers={"WWW-Authenticate": WWW_AUTHENTICATE}
            )

    def json_refusal(self, head: RequestHead) -> ErrorBody | None:
        """What a JSON body is refused for by the head alone: a content type that is not JSON
        (415), a declared length over the body limit (413); None if nothing."""
        content_type, length = head.content_type, head.content_length
        if content_type is not None and b"json" not in content_type.lower():
            return unsupported_media_type(content_type.decode("latin-1"))
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return TOO_LARGE
        return None

    async def drain(self, receive: Receive, read: int = 0) -> bool:
        """Read and throw away what is left of a request's body, of which ``read`` bytes were
        read already (and not all), before an answer given without it; whether it is all in.

        Only where the app keeps the request's rules (:attr:`drains`; ``rockets serve`` lingers
        after the answer instead, and this returns False at once), and within
        ``linger_bytes`` in all and ``linger_seconds``: past either, the connection is to end
        with the answer."""
        if not self.drains:
            return False
        left = self.linger_bytes - read
        try:
            async with asyncio.timeout(self.linger_seconds):
                while left >= 0:
                    message = await receive()
                    if message["type"] != "http.request":
                        return False  # the client is gone
                    left -= len(message.get("body", b""))
                    if not message.get("more_body"):
                        return True
        except (TimeoutError, InputError):  # InputError: a receive the edge already limits
            pass
        return False

    async def read_body(self, receive: Receive) -> bytes:
        """The request's body, read whole within the body limit and the deadline.

        Raises:
            InputError: too large (413), too slow (408), or the client went away (400).
        """
        deadlines = self.deadlines
        # The whole body is most often in the first message: read it here, the rest below,
        # and spare the common case a call when the server keeps the deadline.
        if deadlines.enabled:
            deadline = deadlines.deadline()
            message = await deadlines.receive(receive, deadline)
        else:
            deadline = 0.0
            message = await receive()
        body: bytes = message.get("body", b"")
        if message.get("more_body"):
            return await self._read_rest(body, receive, deadline)
        if len(body) > self.max_body:
            raise InputError(TOO_LARGE)
        return body

    async def _read_rest(self, first: bytes, receive: Receive, deadline: float) -> bytes:
        deadlines = self.deadlines
        limit = self.max_body
        chunks = [first]
        size = len(first)
        message: Message = {"more_body": True}
        while message.get("more_body"):
            message = await deadlines.receive(receive, deadline)
            if message["type"] == "http.disconnect":
                raise InputError(CLIENT_GONE)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                if message.get("more_body"):
                    await self.drain(receive, size)
                raise InputError(TOO_LARGE)
            chunks.append(chunk)
        return b"".join(chunks)

    def cors_headers(self, scope: Scope, head: RequestHead) -> Sequence[Header]:
        """The CORS headers of an answer to this request (none without CORS or an ``Origin``)."""
        if self.cors is None or not head.origin:
            return ()
        return self.cors.headers(scope, head.origin)

    async def send_json(
        self,
        send: Send,
        status: int,
        body: bytes,
        rid: bytes,
        retry_after: int | None,
        close: bool = False,
        *,
        cors: Sequence[Header] = (),
    ) -> None:
        """Answer with a JSON body the edge made itself, with every header an answer carries
        (``cors``: :meth:`cors_headers`); with ``close``, the connection is closed after it."""
        headers = [
            _JSON,
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", rid),
            *ANSWER_HEADERS,
            *cors,
        ]
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        if status == 401:
            headers.append((b"www-authenticate", WWW_AUTHENTICATE.encode()))
        if close or status == 408:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def refuse(
        self, scope: Scope, send: Send, body: ErrorBody, receive: Receive | None = None
    ) -> None:
        """Answer ``body`` to a request the edge refuses before anything else sees it, and
        close the connection: what is left of the request is unread, and a client refused for
        holding too much must not keep holding the connection. With ``receive``, the rest of
        the body is read first where the app does (:meth:`drain`)."""
        if receive is not None:
            await self.drain(receive)
        rid = self.request_id(read_head(scope).request_id)
        if body.status < 500:
            token = request_id.set(rid.decode("latin-1"))
            try:
                log_refusal(str(scope.get("method", "")), scope["path"], body)
            finally:
                request_id.reset(token)
        await self.send_json(
            send, body.status, encode_json(body), rid, retry_after(body.status), close=True
        )

    async def around(
        self, app: Callable[..., Awaitable[None]], scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Run ``app`` on an HTTP request with the edge's rules: the request id, the answer
        headers (CORS's among them), the body deadline and limit (every answer gets them, a 404
        of Litestar's router included); a CORS preflight is answered here."""
        head = read_head(scope)
        rid = self.request_id(head.request_id)
        token = request_id.set(rid.decode("latin-1"))
        try:
            cors: Sequence[Header] = ()
            if self.cors is not None and head.origin:
                if scope["method"] == "OPTIONS":
                    status, headers, body = self.cors.preflight(scope, head.origin)
                    await self._answer(send, status, headers, body, rid)
                    return
                cors = self.cors.headers(scope, head.origin)
            read = _BodyRead()
            limited = self._limited(receive, head, read)
            answer = self._with_headers(send, rid, cors)
            if self.drains:
                answer = self._draining(answer, receive, scope, head, read)
            await app(scope, limited, answer)
        finally:
            request_id.reset(token)

    def _limited(self, receive: Receive, head: RequestHead, body: _BodyRead) -> Receive:
        """``receive`` for a route: the body deadline and limit on it (a 413 or 408
        :class:`InputError` from a call), until the body is complete (kept in ``body``); later
        calls, which wait for the client to go away, have none."""
        deadlines = self.deadlines
        limit = self.max_body
        length = head.content_length
        declared_over = length is not None and length.isdigit() and int(length) > limit
        deadline = deadlines.deadline() if deadlines.enabled else 0.0

        async def limited() -> Message:
            if body.done:
                return await receive()
            if declared_over:
                raise InputError(TOO_LARGE)
            message = await deadlines.receive(receive, deadline)
            body.size += len(message.get("body", b""))
            if body.size > limit:
                raise InputError(TOO_LARGE)
            body.done = not message.get("more_body", False)
            return message

        return limited

    def _draining(
        self, send: Send, receive: Receive, scope: Scope, head: RequestHead, body: _BodyRead
    ) -> Send:
        """``send`` for a route, where the app drains (:attr:`drains`): an answer that starts
        before the request's body was read whole waits for the rest of it (:meth:`drain`), and
        ends the connection if it is still not all in."""

        async def draining(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and not body.done
                and message["status"] != 408  # too slow: no more time for it
                and _may_have_body(scope, head)
            ):
                body.done = True  # whatever comes now, the route does not read it
                if not await self.drain(receive, body.size):
                    headers = message.get("headers", ())
                    message["headers"] = [*headers, (b"connection", b"close")]
            await send(message)

        return draining

    @staticmethod
    def _with_headers(send: Send, rid: bytes, cors: Sequence[Header]) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if cors:
                    # CORS's headers replace any of the same name, as Litestar's would.
                    names = {name for name, _ in cors}
                    headers = [h for h in headers if h[0].lower() not in names]
                    headers.extend(cors)
                present = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", rid))
                headers.extend(h for h in ANSWER_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        return send_with_headers

    @staticmethod
    async def _answer(
        send: Send, status: int, headers: list[Header], body: bytes, rid: bytes
    ) -> None:
        headers = [*headers, (b"x-request-id", rid), *ANSWER_HEADERS]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _BodyRead:
    """How much of a request's body a route has read, and whether all of it."""

    __slots__ = ("done", "size")

    def __init__(self) -> None:
        self.done = False
        self.size = 0


def _may_have_body(scope: Scope, head: RequestHead) -> bool:
    """Whether a request may have a body (a length other than 0, or a chunked one): only then
    is there anything to drain (a receive for a request without one waits for the client to
    go away)."""
    length = head.content_length
    if length is not None:
        return length.strip() != b"0"
    if scope.get("method") in READING:
        return False
    return any(name == b"transfer-encoding" for name, _ in scope["headers"])


def _query_token(scope: Scope) -> bytes:
    """The first ``access_token`` of the query, read as Litestar reads a query."""
    query: bytes = scope.get("query_string", b"")
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, separator="&"):
        if name == ACCESS_TOKEN:
            return value.encode()
    return b""

"""The ingest fast path: ``POST /messages`` answered by a raw ASGI handler in front of Litestar.

A Litestar route handler costs about three times what uvicorn itself spends on a request (see
docs/performance.md), which is most of a message's cost. So the app that uvicorn serves is this
thin ASGI function: it answers ``POST /messages`` itself and hands every other request (and
``POST /messages`` from browsers when CORS is on, so that CORS stays Litestar's job) to the
Litestar app, which still holds the route for OpenAPI.

It keeps every behaviour of the Litestar route: the token check, the JSON content type (415),
the body limit (413, before reading when ``Content-Length`` says so), the request id, the
security headers, ``Retry-After``, and the same JSON answers, since both call
``RocketService.ingest``.
"""

from __future__ import annotations

import hmac
import itertools
import logging
import os
import time
from typing import Any

import msgspec
from litestar import Litestar

from rockets.errors import ErrorBody
from rockets.logs import request_id
from rockets.metrics import Metrics
from rockets.service import IngestAnswer, RocketService

__all__ = ["fast_ingest"]

log = logging.getLogger("rockets")

_PATH = "/messages"
_SECURITY = (b"x-content-type-options", b"nosniff")
_JSON = (b"content-type", b"application/json")


def fast_ingest(app: Litestar, service: RocketService) -> Any:
    """The ASGI app to serve: ``POST /messages`` here, everything else by ``app``."""
    settings = service.settings
    limit = settings.max_body_bytes
    token = settings.ingest_token.encode() if settings.ingest_token else None
    cors = bool(settings.cors_origins)
    encode = msgspec.json.Encoder().encode
    metrics: Metrics = service.metrics
    # Request ids: a per-process prefix and a counter, cheaper than a UUID per request.
    prefix = os.urandom(4).hex()
    counter = itertools.count(1)

    def error(status: int, kind: str, detail: str) -> IngestAnswer:
        return IngestAnswer(status, ErrorBody(status=status, error=kind, detail=detail))

    too_large = error(413, "too_large", "the request body is larger than this server accepts")
    unauthorized = error(
        401, "unauthorized", "this request needs 'Authorization: Bearer <token>' with a valid token"
    )

    async def answer(send: Any, reply: IngestAnswer, rid: bytes) -> None:
        body = encode(reply.body)
        headers = [
            _JSON,
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", rid),
            _SECURITY,
        ]
        if reply.retry_after is not None:
            headers.append((b"retry-after", str(reply.retry_after).encode()))
        if reply.status_code == 401:
            headers.append((b"www-authenticate", b'Bearer realm="rockets"'))
        await send({"type": "http.response.start", "status": reply.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def ingest(scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        content_type = authorization = length = given_rid = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
            elif name == b"authorization":
                authorization = value
            elif name == b"x-request-id":
                given_rid = value[:128]
        rid = given_rid or f"{prefix}{next(counter):08x}".encode()
        reset = request_id.set(rid.decode("latin-1"))
        try:
            try:
                reply = await handle(receive, content_type, authorization, length)
            except Exception:
                log.exception("unhandled error on POST /messages")
                reply = error(500, "internal", "internal error; see the server log")
            await answer(send, reply, rid)
            metrics.request(reply.status_code, time.perf_counter() - started)
        finally:
            request_id.reset(reset)

    async def handle(
        receive: Any, content_type: bytes | None, authorization: bytes | None, length: bytes | None
    ) -> IngestAnswer:
        if token is not None:
            scheme, _, given = (authorization or b"").partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), token):
                return unauthorized
        if content_type is not None and b"json" not in content_type.lower():
            return error(
                415,
                "unsupported_media_type",
                "send JSON (Content-Type: application/json), not "
                f"{content_type.decode('latin-1')!r}",
            )
        if length is not None and length.isdigit() and int(length) > limit:
            return too_large
        message = await receive()
        body: bytes = message.get("body", b"")
        if message.get("more_body"):
            chunks = [body]
            size = len(body)
            while message.get("more_body"):
                message = await receive()
                if message["type"] == "http.disconnect":
                    return error(400, "bad_request", "the client went away")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    return too_large
                chunks.append(chunk)
            body = b"".join(chunks)
        elif len(body) > limit:
            return too_large
        return await service.ingest(body)

    async def serve(scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == _PATH
            and scope["method"] == "POST"
            and not (cors and any(name == b"origin" for name, _ in scope["headers"]))
        ):
            await ingest(scope, receive, send)
        else:
            await app(scope, receive, send)

    return serve

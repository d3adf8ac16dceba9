"""Baseline: a plain Litestar route handler that decodes the body with msgspec and answers 202."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post


class Metadata(msgspec.Struct):
    messageType: str
    channel: str | None = None
    messageNumber: int | None = None
    messageTime: str | None = None


class Envelope(msgspec.Struct):
    metadata: Metadata
    message: msgspec.Raw


decoder = msgspec.json.Decoder(Envelope)


@post("/messages", status_code=202)
async def messages(request: Request[Any, Any, Any]) -> Response[bytes]:
    envelope = decoder.decode(await request.body())
    return Response(
        b'{"channel":"%s","status":"accepted"}' % (envelope.metadata.channel or "").encode(),
        media_type="application/json",
        status_code=202,
    )


@get("/health")
async def health() -> dict[str, str]:
    """What the harness polls to know the server is up."""
    return {"status": "ok"}


app = Litestar([messages, health])

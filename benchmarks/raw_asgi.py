"""Baseline: a raw ASGI app on uvicorn that decodes the body with msgspec and answers 202."""

from __future__ import annotations

from typing import Any

import msgspec

from benchmarks.noop_litestar import Envelope

decoder = msgspec.json.Decoder(Envelope)
HEADERS = [(b"content-type", b"application/json")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/health":
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": b'{"status":"ok"}'})
        return
    envelope = decoder.decode(body)
    await send({"type": "http.response.start", "status": 202, "headers": HEADERS})
    channel = (envelope.metadata.channel or "").encode()
    await send(
        {"type": "http.response.body", "body": b'{"channel":"%s","status":"accepted"}' % channel}
    )

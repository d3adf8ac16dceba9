"""The front door of ``POST /messages``: the edge's rules for it (token, JSON content type,
body limit with a streamed read, deadline), then the service, answered at the cost of a raw ASGI
app. The app's own entry point calls :class:`Ingress` for every such request."""

from __future__ import annotations

import logging
import time

from rockets.errors import InputError, ValidatorRefusedError
from rockets.http.answers import (
    CLIENT_GONE,
    INTERNAL,
    TOO_LARGE,
    UNAUTHORIZED,
    IngestAnswer,
    ingest_answer,
    unsupported_media_type,
    validator_refusal,
)
from rockets.http.edge import (
    MESSAGES_PATH,
    Edge,
    Message,
    Receive,
    Scope,
    Send,
    encode_json,
    scan_headers,
)
from rockets.http.logs import log_refusal, request_id
from rockets.runtime.metrics import Metrics
from rockets.runtime.service import RocketService
from rockets.wire import ErrorBody

__all__ = ["Ingress"]

log = logging.getLogger("rockets")


class Ingress:
    """``POST /messages``, answered without Litestar's routing: the app's entry point hands
    it every such request (but a browser's when CORS is on, which goes through Litestar's CORS
    handling to the route, which calls :meth:`answer` too).

    Args:
        edge: the app's edge rules.
        service: the service that ingests the body.
        metrics: where each request is counted.
    """

    def __init__(self, edge: Edge, service: RocketService, metrics: Metrics) -> None:
        self.edge = edge
        self.service = service
        self.metrics = metrics
        self._encode = encode_json

    def takes(self, scope: Scope) -> bool:
        """Whether the entry point answers this ``POST /messages`` itself."""
        return not (self.edge.cors and any(name == b"origin" for name, _ in scope["headers"]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        given, content_type, length, authorization = scan_headers(scope)
        rid = self.edge.request_id(given)
        reset = request_id.set(rid.decode("latin-1"))
        try:
            reply = await self.answer(receive, content_type, length, authorization)
            await self.edge.send_json(
                send, reply.status_code, self._encode(reply.body), rid, reply.retry_after
            )
        finally:
            request_id.reset(reset)

    async def answer_route(self, scope: Scope, receive: Receive) -> IngestAnswer:
        """The answer to a ``POST /messages`` that came through Litestar's route."""
        return await self.answer(receive, *scan_headers(scope)[1:])

    async def answer(
        self,
        receive: Receive,
        content_type: bytes | None,
        length: bytes | None,
        authorization: bytes | None,
    ) -> IngestAnswer:
        """The answer to one ``POST /messages`` with these headers: every edge rule, then the
        service."""
        started = time.perf_counter()
        try:
            reply = await self._answer(receive, content_type, length, authorization)
        except Exception:
            log.exception("unhandled error on POST /messages")
            reply = IngestAnswer.of(INTERNAL)
        self.metrics.request(reply.status_code, time.perf_counter() - started)
        if isinstance(reply.body, ErrorBody) and reply.status_code < 500:
            log_refusal("POST", MESSAGES_PATH, reply.body)
        return reply

    async def _answer(
        self,
        receive: Receive,
        content_type: bytes | None,
        length: bytes | None,
        authorization: bytes | None,
    ) -> IngestAnswer:
        edge = self.edge
        if edge.tokens.ingest is not None and not edge.tokens.allows(
            "POST", MESSAGES_PATH, authorization or b"", b""
        ):
            return self._refused(UNAUTHORIZED)
        if content_type is not None and b"json" not in content_type.lower():
            return self._refused(unsupported_media_type(content_type.decode("latin-1")))
        if length is not None and length.isdigit() and int(length) > edge.max_body:
            return self._refused(TOO_LARGE)
        deadlines = edge.deadlines
        try:
            # The whole body is most often in the first message: read it here, the rest below,
            # and spare the common case a call when the server enforces the deadline.
            if deadlines.enabled:
                deadline = deadlines.deadline()
                message = await deadlines.receive(receive, deadline)
            else:
                deadline = 0.0
                message = await receive()
            body: bytes = message.get("body", b"")
            if message.get("more_body"):
                body = await self._read_rest(body, receive, deadline)
            elif len(body) > edge.max_body:
                return self._refused(TOO_LARGE)
        except InputError as exc:
            return self._refused(exc.body)
        try:
            ingested = await self.service.ingest(body)
        except InputError as exc:
            return IngestAnswer.of(exc.body)
        except ValidatorRefusedError as exc:
            return IngestAnswer.of(validator_refusal(exc))
        return ingest_answer(ingested)

    def _refused(self, body: ErrorBody) -> IngestAnswer:
        """The answer to a request the edge refuses whole, counted by the service."""
        self.service.refused(body.error)
        return IngestAnswer.of(body)

    async def _read_rest(self, first: bytes, receive: Receive, deadline: float) -> bytes:
        """The body whose first chunk is ``first``, within the limit and the deadline.

        Raises:
            InputError: too large (413), too slow (408), or the client went away (400).
        """
        deadlines = self.edge.deadlines
        limit = self.edge.max_body
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
                raise InputError(TOO_LARGE)
            chunks.append(chunk)
        return b"".join(chunks)

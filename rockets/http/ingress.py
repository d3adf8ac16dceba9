"""The front door of ``POST /messages``: the edge's rules for it (token, JSON content type,
body limit with a streamed read, deadline, CORS), then the service, answered at the cost of a
raw ASGI app. The app's own entry point calls :class:`Ingress` for every such request."""

from __future__ import annotations

import logging
import time

from rockets.errors import InputError, ValidatorRefusedError
from rockets.http.answers import (
    INTERNAL,
    UNAUTHORIZED,
    IngestAnswer,
    ingest_answer,
    validator_refusal,
)
from rockets.http.edge import (
    MESSAGES_PATH,
    Edge,
    Receive,
    RequestHead,
    Scope,
    Send,
    encode_json,
    read_head,
)
from rockets.http.http_series import UNANSWERED
from rockets.http.logs import log_refusal, request_id
from rockets.runtime.metrics import Metrics
from rockets.runtime.service import RocketService
from rockets.wire import ErrorBody

__all__ = ["Ingress"]

log = logging.getLogger("rockets")

_UNREAD = frozenset({401, 413, 415})
"""What the front door answers before it has read the body whole: the connection ends with the
answer (after what is left of the body was read, or while the server lingers; see
:meth:`rockets.http.edge.Edge.drain`)."""


class Ingress:
    """``POST /messages``, answered without Litestar's routing: the app's entry point hands
    it every such request (the route of Litestar, which documents it, calls :meth:`answer_route`,
    the same code).

    Args:
        edge: the app's edge rules.
        service: the service that ingests the body.
        metrics: where each request is counted, in the HTTP series of every route.
    """

    def __init__(self, edge: Edge, service: RocketService, metrics: Metrics) -> None:
        self.edge = edge
        self.service = service
        self.series = metrics.route("POST", MESSAGES_PATH)
        self._encode = encode_json

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        edge = self.edge
        head = read_head(scope)
        rid = edge.request_id(head.request_id)
        reset = request_id.set(rid.decode("latin-1"))
        # Counted here, not in answer(): Litestar's route (answer_route) is counted by the
        # middleware of the HTTP series, as every route it answers.
        series = self.series
        series.in_progress += 1
        status = UNANSWERED
        try:
            reply = await self.answer(scope, receive, head)
            status = reply.status_code
            await edge.send_json(
                send,
                reply.status_code,
                self._encode(reply.body),
                rid,
                reply.retry_after,
                reply.status_code in _UNREAD,
                cors=edge.cors_headers(scope, head),
            )
        finally:
            request_id.reset(reset)
            series.in_progress -= 1
            series.answered(status, time.perf_counter() - started)

    async def answer_route(self, scope: Scope, receive: Receive) -> IngestAnswer:
        """The answer to a ``POST /messages`` that came through Litestar's route."""
        return await self.answer(scope, receive, read_head(scope))

    async def answer(self, scope: Scope, receive: Receive, head: RequestHead) -> IngestAnswer:
        """The answer to one ``POST /messages`` whose head is ``head``: every edge rule, then
        the service."""
        try:
            reply = await self._answer(scope, receive, head)
        except Exception:
            log.exception("unhandled error on POST /messages")
            reply = IngestAnswer.of(INTERNAL)
        if isinstance(reply.body, ErrorBody) and reply.status_code < 500:
            log_refusal("POST", MESSAGES_PATH, reply.body)
        return reply

    async def _answer(self, scope: Scope, receive: Receive, head: RequestHead) -> IngestAnswer:
        edge = self.edge
        if not edge.authorized(scope, head):
            await edge.drain(receive)
            return self._refused(UNAUTHORIZED)
        refusal = edge.json_refusal(head)
        if refusal is not None:
            await edge.drain(receive)
            return self._refused(refusal)
        try:
            body = await edge.read_body(receive)
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

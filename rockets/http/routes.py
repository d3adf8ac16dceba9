"""The HTTP routes: the route table of thin Litestar handlers that read the request, call the
service and return Structs.

Their query is checked by :mod:`rockets.http.query_rules`; what they raise is answered by
:mod:`rockets.http.error_handlers`; what the OpenAPI document says beyond their signatures is in
:mod:`rockets.http.openapi`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import msgspec
from litestar import Request, Response, get, post, route
from litestar.enums import HttpMethod, MediaType
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, HeaderParameter, PathParameter, QueryParameter
from litestar.response import Stream
from prometheus_client import CONTENT_TYPE_LATEST

from rockets.errors import InputError, PluginError
from rockets.http.answers import error, one_of, parameter_problem, retry_after
from rockets.http.dashboard import dashboard_handlers
from rockets.http.error_handlers import exception_handlers
from rockets.http.ingress import Ingress
from rockets.http.introspection import PluginsReport, current
from rockets.http.openapi import (
    DocumentedOperation,
    error_answers,
    messages_operation_class,
    operation_class,
    response_spec,
    rockets_operation_class,
    state_point_type,
)
from rockets.http.query_rules import QueryRules, plugin_filters
from rockets.runtime.projections import RunningProjection
from rockets.runtime.service import RocketService
from rockets.runtime.stream_hub import PING_SECONDS, Position, with_pings
from rockets.state import RocketState
from rockets.wire import (
    CHANNEL_PATTERN,
    MAX_CHANNEL_LENGTH,
    MAX_COUNT,
    MAX_MESSAGE_NUMBER,
    PRINTABLE_PATTERN,
    Ack,
    EventView,
    Health,
    ProjectionInfo,
    RocketQuery,
    StalledChannel,
    StatePoint,
    StreamReset,
)

__all__ = ["build_routes", "exception_handlers"]

if TYPE_CHECKING:
    # Names in the handlers' annotations that only the app knows, given to Litestar by each
    # route's ``signature_namespace`` (see build_routes): the app's state type, plugins' fields
    # included, what /history sends of it, and what a projection serves. The type checker sees
    # the types they stand for.
    AppState = RocketState
    AppStatePoint = StatePoint
    Served = Any

EVENT_STREAM = "text/event-stream"
LISTING_PIECE = 1000
"""Rows (rocket states, stalled channels, events, states over time) encoded and written at a
time in a long answer: a client that does not read holds one piece of the server's memory, not
the whole answer (each piece waits for the transport to drain)."""
PIECE_BYTES = 1024 * 1024
"""A piece ends at the row that takes it to this many bytes of JSON, if before
:data:`LISTING_PIECE` rows: rows of large payloads weigh by their bytes, not their count."""
_encoder = msgspec.json.Encoder()
_encode = _encoder.encode


EVENTS_READ = 100
"""Events an answer of ``GET /rockets/{channel}/events`` reads from the store at a time (at
most 100 times ``ROCKETS_MAX_PAYLOAD_BYTES``): what a client that does not read holds is one
piece and one read, not all it asked for."""


async def _pieces(pages: AsyncIterator[list[Any]]) -> AsyncIterator[tuple[bytes, bool]]:
    """The rows of ``pages`` as one JSON array, encoded a piece at a time (see
    :data:`LISTING_PIECE`, :data:`PIECE_BYTES`), each with whether it is the last. It takes
    each page over: the rows of a piece are dropped from it once encoded, so that what was
    written is not held while the rest waits."""
    piece = bytearray(b"[")
    count = 0
    async for rows in pages:
        while rows:
            if count == LISTING_PIECE or len(piece) >= PIECE_BYTES:
                yield bytes(piece), False  # rows follow: the piece is not the last
                piece, count = bytearray(b","), 0
            taken = 0
            for row in rows:
                if count:
                    piece += b","
                _encoder.encode_into(row, piece, -1)
                count += 1
                taken += 1
                if count == LISTING_PIECE or len(piece) >= PIECE_BYTES:
                    break
            del rows[:taken]
    piece += b"]"
    yield bytes(piece), True


async def _page(rows: list[Any]) -> AsyncIterator[list[Any]]:
    yield rows


async def _in_pieces(first: bytes, rest: AsyncIterator[tuple[bytes, bool]]) -> AsyncIterator[bytes]:
    yield first
    del first  # written: not held while the next piece waits for the transport
    async for piece, _ in rest:
        yield piece


async def _listing(pages: AsyncIterator[list[Any]], headers: dict[str, str]) -> Response[Any]:
    """The answer holding the rows of ``pages`` as one JSON array: one piece, written at once
    (with its length), or a stream of pieces, each encoded once the one before has drained."""
    pieces = _pieces(pages)
    first, last = await anext(pieces)
    if last:
        return Response(content=first, headers=headers, media_type=MediaType.JSON)
    stream = Stream(_in_pieces(first, pieces), media_type=MediaType.JSON, headers=headers)
    return cast("Response[Any]", stream)  # a name for the type checker only


# The path and query values of the API: a channel as POST /messages takes it, printable text
# for a filter, integers that every JSON client reads exactly.
ChannelInPath = Annotated[
    str, PathParameter(max_length=MAX_CHANNEL_LENGTH, pattern=CHANNEL_PATTERN)
]
ChannelInQuery = Annotated[
    str | None, QueryParameter(max_length=MAX_CHANNEL_LENGTH, pattern=CHANNEL_PATTERN)
]
TextInQuery = Annotated[str | None, QueryParameter(pattern=PRINTABLE_PATTERN)]
FromNumber = Annotated[int, QueryParameter(name="from", ge=1, le=MAX_MESSAGE_NUMBER)]
# A listing's page: ``limit`` items (all when absent) after the first ``offset``.
Limit = Annotated[int | None, QueryParameter(ge=1, le=MAX_COUNT)]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_COUNT)]


def _projection_handler(
    service: RocketService, running: RunningProjection
) -> Callable[[], Awaitable[Response[Any]]]:
    """``GET /projections/{name}``: the value as served (typed in OpenAPI by what it serves,
    the route's ``Served``), and ``X-Position``, the log position it is the value of; a 500
    naming the projection when its value cannot be served, a 503 while its code is busy."""
    name = running.kind.name

    async def projection() -> Response[Served]:
        try:
            snapshot = await service.projection_snapshot(name)
        except PluginError as exc:
            raise HTTPException(status_code=500, detail=str(exc)) from None
        except TimeoutError as exc:
            headers = {"Retry-After": str(retry_after(503))}
            raise HTTPException(status_code=503, detail=str(exc), headers=headers) from None
        headers = {"X-Position": str(snapshot.position)}
        # Encoded already, once per position, where the projection's code runs.
        return Response(content=snapshot.body, headers=headers, media_type=MediaType.JSON)

    projection.__name__ = f"projection_{running.kind.name.replace('-', '_')}"
    return projection


def build_routes(
    service: RocketService, ingress: Ingress, report: PluginsReport
) -> list[BaseRouteHandler]:
    """The built-in route handlers of one app, bound to its ``service``; ``POST /messages`` is
    answered by ``ingress`` at the front door; its route here documents it in OpenAPI and, were
    a request to reach it, answers with the same code."""
    settings = service.settings
    schema = service.registry.state
    sortable = list(schema.fields)
    heads: list[HTTPRouteHandler] = []
    rules = QueryRules()
    # Answers are documented with the app's state type, plugins' fields included.
    documented = {
        "AppState": schema.state_type,
        "AppStatePoint": state_point_type(schema.state_type),
    }

    def reads(*codes: int) -> dict[int, ResponseSpec]:
        """The documented errors of a read route: a bad query, a token, and ``codes``."""
        return error_answers(400, *codes, token=settings.read_token is not None)

    def read(path: str, **options: Any) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
        """``GET path``, whose query is checked (:meth:`QueryRules.check`); and ``HEAD path``,
        answered alike by the same handler (the server drops the body of a HEAD answer), kept in
        ``heads`` and out of the OpenAPI document, since every GET implies it. Its handler's
        annotations may name the app's types (``AppState``, ``AppStatePoint``) besides those
        ``options["signature_namespace"]`` gives."""

        options.setdefault("operation_class", DocumentedOperation)
        options["signature_namespace"] = {**documented, **options.get("signature_namespace", {})}

        def declare(handler: Callable[..., Any]) -> HTTPRouteHandler:
            strict = options.get("include_in_schema", True)
            options["opt"] = {**options.get("opt", {}), "strict_query": strict}
            hidden = {**options, "include_in_schema": False}
            head = route(path, http_method=HttpMethod.HEAD, before_request=rules.check, **hidden)
            heads.append(head(handler))
            return get(path, before_request=rules.check, **options)(handler)

        return declare

    @post(
        "/messages",
        status_code=202,
        operation_class=messages_operation_class(service.registry, settings.max_batch),
        responses=error_answers(
            400, 409, 413, 415, 422, 429, 503, token=settings.ingest_token is not None
        ),
        summary="Post one message or a batch",
        tags=["messages"],
    )
    async def post_messages(request: Request[Any, Any, Any]) -> Response[Ack | list[Ack]]:
        """Accept one message (an object) or a batch (an array, validated all-or-nothing).

        Every message is acknowledged once it is stored: ``accepted`` when new (applied now or
        waiting behind a gap), ``duplicate`` when already received. A 409 names both sides of a
        conflict; a batch always gets one acknowledgement per message, in order.
        """
        answer = await ingress.answer_route(cast(Any, request.scope), cast(Any, request.receive))
        headers = None
        if answer.retry_after is not None:
            headers = {"Retry-After": str(answer.retry_after)}
        return Response(
            content=cast(Any, answer.body), status_code=answer.status_code, headers=headers
        )

    @read(
        "/rockets",
        summary="List rockets",
        tags=["rockets"],
        operation_class=rockets_operation_class(schema),
        responses=reads(503),
        opt={"query": [field.json_name for field in schema.plugin_fields]},
    )
    async def list_rockets(
        request: Request[Any, Any, Any],
        sort: FromQuery[str] = "channel",
        order: FromQuery[Literal["asc", "desc"]] = "asc",
        status: TextInQuery = None,
        rocket_type: Annotated[
            str | None, QueryParameter(name="type", pattern=PRINTABLE_PATTERN)
        ] = None,
        mission: TextInQuery = None,
        limit: Limit = None,
        offset: Offset = 0,
    ) -> Response[list[AppState]]:
        """Every rocket's current state. ``sort`` takes any state field; ``status``, ``type``,
        ``mission`` and every plugin's state field filter by exact match. ``X-Total-Count``
        holds how many rockets matched before ``limit``/``offset``."""
        if sort not in schema.fields:
            problem = one_of(sortable)
            raise InputError(error(400, parameter_problem("query", "sort", problem)))
        query = RocketQuery(
            sort=sort,
            order=order,
            status=status,
            type=rocket_type,
            mission=mission,
            where=plugin_filters(schema, request),
            limit=limit,
            offset=offset,
        )
        total, rows = await service.rockets(query)
        return await _listing(_page(rows), {"X-Total-Count": str(total)})

    @read(
        "/rockets/{channel:str}",
        summary="One rocket",
        tags=["rockets"],
        responses=reads(404, 503),
    )
    async def get_rocket(
        channel: ChannelInPath,
        at: Annotated[int | None, QueryParameter(ge=1, le=MAX_MESSAGE_NUMBER)] = None,
    ) -> AppState:
        """The rocket's current state, or with ``at=N`` its state right after event N."""
        if at is None:
            return await service.rocket(channel)
        return await service.rocket_at(channel, at)

    @read(
        "/rockets/{channel:str}/events",
        summary="A rocket's events",
        tags=["rockets"],
        operation_class=operation_class("X-Total-Count"),
        responses=reads(404, 503),
    )
    async def get_events(
        channel: ChannelInPath,
        start: FromNumber = 1,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1000,
    ) -> Response[list[EventView]]:
        """The applied events in order, from number ``from`` on; ``X-Total-Count`` holds how
        many events the rocket has."""
        total, events = await service.events(channel, start, min(limit, EVENTS_READ))
        last = min(start + limit - 1, total)  # not beyond the events counted in the header

        async def pages(rows: list[EventView], start: int) -> AsyncIterator[list[EventView]]:
            while rows:
                start += len(rows)
                yield rows
                if start > last:
                    return
                _, rows = await service.events(channel, start, min(EVENTS_READ, last - start + 1))

        return await _listing(pages(events, start), {"X-Total-Count": str(total)})

    @read(
        "/health",
        summary="Health",
        tags=["service"],
        # Open to all, tokens or not (load balancers ask it).
        responses={
            **error_answers(400, token=False),
            503: response_spec(Health, "The store is unreachable"),
        },
    )
    async def health() -> Response[Health]:
        """200 while messages are taken: ``ok``, or ``degraded`` when something ingestion does
        not need has stopped (a projection, a listener, the stream's follower), each named in
        ``stopped``; 503 ``unavailable`` when they cannot be (the store does not answer), with
        ``failing`` naming what failed and ``detail`` saying what it answered."""
        report = await service.health()
        if report.status != "unavailable":
            return Response(content=report)
        return Response(
            content=report, status_code=503, headers={"Retry-After": str(retry_after(503))}
        )

    @read(
        "/stalled",
        summary="Stalled channels",
        tags=["rockets"],
        operation_class=operation_class("X-Total-Count"),
        responses=reads(503),
    )
    async def stalled(
        min_seconds: Annotated[float, QueryParameter(name="minSeconds", ge=0)] = (
            settings.stall_seconds
        ),
        limit: Limit = None,
        offset: Offset = 0,
    ) -> Response[list[StalledChannel]]:
        """Channels whose gap has stayed open: messages wait for a number that has not come
        for at least ``minSeconds`` (default ``ROCKETS_STALL_SECONDS``), longest first (as
        measured on a clock that does not step), and at once those waiting at a message set
        aside. ``X-Total-Count`` holds how many there are before ``limit``/``offset``."""
        total, rows = await service.stalled(min_seconds, limit, offset)
        return await _listing(_page(rows), {"X-Total-Count": str(total)})

    @read(
        "/rockets/{channel:str}/history",
        summary="A rocket's states over time",
        tags=["rockets"],
        responses=reads(404, 503),
    )
    async def get_history(
        channel: ChannelInPath,
        start: FromNumber = 1,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1000,
    ) -> Response[list[AppStatePoint]]:
        """The rocket's state right after each of its events from number ``from`` on (replayed
        from the log: for charts, such as speed over time)."""
        return await _listing(_page(await service.history(channel, start, limit)), {})

    @get(
        "/stream",
        before_request=rules.check,
        summary="Live events (server-sent events)",
        tags=["rockets"],
        media_type=EVENT_STREAM,
        operation_class=DocumentedOperation,
        responses=reads(503),
    )
    async def stream(
        channel: ChannelInQuery = None,
        last_event_id: Annotated[str | None, HeaderParameter(name="Last-Event-ID")] = None,
    ) -> Stream:
        """Every applied event with the rocket's new state, as server-sent events, for all
        rockets or one ``channel``. Each ``applied`` event has an ``id``; reconnecting with
        ``Last-Event-ID`` replays what was missed (while the server keeps it, see
        ``ROCKETS_STREAM_HISTORY``), then goes on live. A ``reset`` event says some events were
        missed for good: reload the state. A comment line every 15 s keeps idle connections
        open."""
        after = Position.parse(last_event_id)

        async def chunks() -> AsyncIterator[bytes]:
            yield b"retry: 1000\n\n"
            async for batch in with_pings(service.hub.batches(after, channel), PING_SECONDS):
                if batch is None:
                    yield b": ping\n\n"
                    continue
                text = []
                for kind, position, data in batch:
                    if kind != "applied":
                        data = _encode(StreamReset(detail=data)).decode()
                    text.append(f"id: {position}\nevent: {kind}\ndata: {data}\n\n")
                chunk = "".join(text).encode()
                # Not held while the write waits for a client that does not read.
                del text, batch
                yield chunk

        return Stream(
            chunks(),
            media_type=EVENT_STREAM,
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    @read(
        "/metrics",
        summary="Prometheus metrics",
        tags=["service"],
        media_type=CONTENT_TYPE_LATEST,
        responses=reads(503),
    )
    async def metrics() -> Response[bytes]:
        """The service's metrics in Prometheus' text format (see docs/operations.md)."""
        # Litestar would add a second "; charset=utf-8" to this text/ media type, which has one.
        return Response(await service.metrics_text(), headers={"content-type": CONTENT_TYPE_LATEST})

    @read("/plugins", summary="Loaded plugins", tags=["service"], responses=reads())
    async def list_plugins() -> PluginsReport:
        """Every loaded plugin (where it came from, its version, the hooks it implements), every
        message type with its payload's JSON Schema and its version, every state field plugins
        add, every projection with where it stands, and what each plugin's code stopped that
        is stopped still."""
        return current(report, service)

    @read("/projections", summary="Projections", tags=["projections"], responses=reads())
    async def list_projections() -> list[ProjectionInfo]:
        """Every projection plugins registered: where it stands in the log, and whether it runs
        (``stopped``: it could not take the event at ``failedAt``; ``error`` says why)."""
        return [running.info() for running in service.projections.running.values()]

    projections = [
        read(
            f"/projections/{name}",
            summary=f"Projection {name}",
            description=running.kind.description or None,
            tags=["projections"],
            operation_class=operation_class("X-Position"),
            responses=reads(503),
            signature_namespace={"Served": running.kind.served_type()},
        )(_projection_handler(service, running))
        for name, running in service.projections.running.items()
    ]
    dashboard = [
        read(path, include_in_schema=False)(page) for path, page in dashboard_handlers().items()
    ]
    return [
        post_messages,
        list_rockets,
        get_rocket,
        get_events,
        get_history,
        stream,
        metrics,
        health,
        stalled,
        list_plugins,
        list_projections,
        *projections,
        *dashboard,
        *heads,
    ]

"""The HTTP routes: thin handlers that parse the query, call the service and return Structs;
and the exception handlers that make every error an :class:`ErrorBody`."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal, cast

import msgspec
from litestar import Request, Response, get, post, route
from litestar.enums import HttpMethod
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, HeaderParameter, PathParameter, QueryParameter
from litestar.response import Stream
from prometheus_client import CONTENT_TYPE_LATEST

from rockets.errors import InputError, StoreError, UnreadableEventError
from rockets.http.answers import (
    INTEGER_IN_DIGITS,
    INTERNAL,
    NUMBER_IN_DIGITS,
    STORE_UNAVAILABLE,
    TOO_LARGE,
    error,
    given_more_than_once,
    one_of,
    parameter_problem,
    retry_after,
    unknown_parameter,
    unreadable_event,
)
from rockets.http.dashboard import dashboard_handlers
from rockets.http.edge import ACCESS_TOKEN
from rockets.http.ingress import Ingress
from rockets.http.introspection import PluginsReport
from rockets.http.logs import log_refusal
from rockets.http.openapi import (
    DocumentedOperation,
    messages_operation_class,
    operation_class,
    rockets_operation_class,
    state_point_type,
)
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
    ErrorBody,
    EventView,
    Health,
    Printable,
    ProjectionInfo,
    RocketQuery,
    StalledChannel,
    StatePoint,
    StreamReset,
    in_words,
)

__all__ = ["build_routes", "exception_handlers"]

log = logging.getLogger("rockets")


def _error_response(body: ErrorBody, headers: dict[str, str] | None = None) -> Response[ErrorBody]:
    return Response(content=body, status_code=body.status, headers=headers)


def _refusal(
    request: Request[Any, Any, Any], body: ErrorBody, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    """The answer to a request refused (a 4xx), with its DEBUG line."""
    log_refusal(request.method, request.url.path, body)
    return _error_response(body, headers)


def _on_input_error(request: Request[Any, Any, Any], exc: InputError) -> Response[ErrorBody]:
    return _refusal(request, exc.body)


def _parameter(request: Request[Any, Any, Any], key: str) -> tuple[str, Any]:
    """A parameter's name as the API spells it (``from``), where Litestar names the handler's
    argument (``start``), and its type (None: not an argument of the handler)."""
    handler = request.scope.get("route_handler")
    field = handler.parsed_fn_signature.parameters.get(key) if handler is not None else None
    alias = getattr(getattr(field, "kwarg_definition", None), "name", None)
    return (alias if isinstance(alias, str) else key), getattr(field, "annotation", None)


def _problem(annotation: Any, message: str) -> str:
    """What is wrong with a value of type ``annotation``, in words: the allowed values where
    there are few, else msgspec's sentence with its rule in words."""
    allowed = _literal_values(annotation)
    return one_of(allowed) if allowed is not None else in_words(message)


def _on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    detail = exc.detail
    if status == 413:
        detail = TOO_LARGE.detail
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        problems = []
        for item in exc.extra:
            if not isinstance(item, dict):
                continue
            name, annotation = _parameter(request, str(item.get("key")))
            source = getattr(item.get("source"), "value", "request")
            problems.append(
                parameter_problem(source, name, _problem(annotation, str(item.get("message"))))
            )
        detail = "; ".join(problems) or detail
    body = error(status, detail)
    if status >= 500:
        return _error_response(body, exc.headers)
    return _refusal(request, body, exc.headers)


def _retry_later(body: ErrorBody) -> Response[ErrorBody]:
    return _error_response(body, {"Retry-After": str(retry_after(body.status))})


def _on_store_error(request: Request[Any, Any, Any], exc: StoreError) -> Response[ErrorBody]:
    # Not a bug but a store that is down or slow: one line, no traceback, and the client is
    # told to come back, as a write would be.
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return _retry_later(STORE_UNAVAILABLE)


def _on_unreadable(
    request: Request[Any, Any, Any], exc: UnreadableEventError
) -> Response[ErrorBody]:
    # A log this process's plugins cannot read: no bug of the request, nothing a retry
    # changes, and the sentence says which event and which plugin; no traceback.
    log.error("%s %s: %s", request.method, request.url.path, exc)
    return _error_response(unreadable_event(exc))


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_response(INTERNAL)


exception_handlers: dict[type[Exception] | int, Any] = {
    InputError: _on_input_error,
    StoreError: _on_store_error,
    UnreadableEventError: _on_unreadable,
    HTTPException: _on_http_exception,
    Exception: _on_unexpected,
}
"""Every error answer, whoever raised it, is an :class:`ErrorBody`."""


EVENT_STREAM = "text/event-stream"
LISTING_PIECE = 1000
"""Rocket states encoded and written at a time in a long listing: a client that does not read
holds one piece of the server's memory, not the whole answer (each piece waits for the
transport to drain)."""
_encode = msgspec.json.Encoder().encode


async def _in_pieces(rows: list[RocketState]) -> AsyncIterator[bytes]:
    """``rows`` as one JSON array, encoded a piece at a time."""
    for start in range(0, len(rows), LISTING_PIECE):
        piece = _encode(rows[start : start + LISTING_PIECE])
        yield (b"[" if start == 0 else b",") + piece[1:-1]
    yield b"]"


def _spec(data: Any, description: str) -> ResponseSpec:
    # Generated examples would hold empty msgspec.Raw values, which are not JSON.
    return ResponseSpec(data, description=description, generate_examples=False)


_ERRORS = {
    400: _spec(ErrorBody, "Malformed JSON, a schema violation, an unknown type, a bad query"),
    404: _spec(ErrorBody, "Unknown channel, or event not applied yet"),
    422: _spec(ErrorBody, "A plugin refused the message; `plugin` and `detail` say why"),
    409: _spec(
        ErrorBody | list[Ack],
        "A number already taken by another message (a batch: one Ack per message)",
    ),
    401: _spec(ErrorBody, "A token is required (ROCKETS_INGEST_TOKEN / ROCKETS_READ_TOKEN)"),
    405: _spec(
        ErrorBody,
        "A method the path does not take (`Allow` lists those it takes); HEAD is taken "
        "wherever GET is, but by /stream",
    ),
    408: _spec(
        ErrorBody,
        "The request did not arrive whole within ROCKETS_REQUEST_TIMEOUT (its head as well as "
        "its body under `rockets serve`)",
    ),
    413: _spec(ErrorBody, "Request body too large"),
    415: _spec(ErrorBody, "The body is not sent as JSON"),
    429: _spec(ErrorBody | list[Ack], "Pending buffers full (a batch: one Ack per message)"),
    431: _spec(
        ErrorBody,
        "The request's head is over ROCKETS_MAX_HEADER_BYTES, or has over ROCKETS_MAX_HEADERS "
        "fields",
    ),
    500: _spec(ErrorBody, "A bug: the body carries no trace, the server log does"),
    503: _spec(ErrorBody, "Shutting down or store unavailable; see Retry-After"),
}
ANY_REQUEST = (405, 408, 431, 500)
"""What any request may be answered, whatever its route."""


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

Kind = Literal["integer", "number"]
_WRITTEN: dict[Kind, tuple[re.Pattern[str], str]] = {
    "integer": (re.compile(r"-?[0-9]+"), INTEGER_IN_DIGITS),
    "number": (re.compile(r"-?[0-9]+(?:\.[0-9]+)?"), NUMBER_IN_DIGITS),
}
"""How an integer and a number are written in a query: plain decimal digits."""


def _members(annotation: Any) -> tuple[Any, ...]:
    info = msgspec.inspect.type_info(annotation)
    return info.types if isinstance(info, msgspec.inspect.UnionType) else (info,)


def _kind(annotation: Any) -> Kind | None:
    """Whether a parameter of this type takes an integer, a number, or something else."""
    members = _members(annotation)
    if any(isinstance(member, msgspec.inspect.IntType) for member in members):
        return "integer"
    if any(isinstance(member, msgspec.inspect.FloatType) for member in members):
        return "number"
    return None


def _literal_values(annotation: Any) -> list[str] | None:
    """The values a parameter of this type may take, when they are listed in the type."""
    if annotation is None:
        return None
    for member in _members(annotation):
        if isinstance(member, msgspec.inspect.LiteralType):
            return [str(value) for value in member.values]
    return None


def _refuse_unless_written_right(name: str, value: str, kind: Kind | None) -> None:
    # Litestar converts leniently, and msgspec then reads "1e3" and "1.0" as integers, "nan"
    # and "inf" as numbers.
    if kind is None:
        return
    pattern, problem = _WRITTEN[kind]
    if not pattern.fullmatch(value):
        raise InputError(error(400, parameter_problem("query", name, problem)))


def _query(service: RocketService, request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The plugin-field filters of a ``GET /rockets`` request, converted to the fields' types."""
    where: dict[str, Any] = {}
    for field in service.registry.state.plugin_fields:
        name = field.json_name
        raw = request.query_params.get(name)
        if raw is None:
            continue
        try:
            msgspec.convert(raw, Printable)
            _refuse_unless_written_right(name, raw, _kind(field.type))
            where[name] = msgspec.convert(raw, field.type, strict=False)
        except msgspec.ValidationError as exc:
            problem = _problem(field.type, str(exc))
            raise InputError(error(400, parameter_problem("query", name, problem))) from None
    return where


def _projection_handler(running: RunningProjection) -> Callable[[], Awaitable[Response[Any]]]:
    """``GET /projections/{name}``: the value as served, typed in OpenAPI by what it serves,
    and ``X-Position``, the log position it has taken in."""
    kind = running.kind
    served = kind.served_type()

    async def projection() -> Response[Any]:
        headers = {"X-Position": str(running.position)}
        return Response(content=running.served(), headers=headers)

    projection.__name__ = f"projection_{kind.name.replace('-', '_')}"
    projection.__annotations__["return"] = Response[served]  # type: ignore[valid-type]
    return projection


class _QueryRules:
    """What a read route takes in its query: the parameters it declares (as Litestar reads
    them), those its ``opt["query"]`` adds (the plugins' fields of ``GET /rockets``, read by the
    handler itself) and ``access_token``; found once per route handler."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[list[str], dict[str, Kind | None]]] = {}

    def of(self, request: Request[Any, Any, Any]) -> tuple[list[str], dict[str, Kind | None]]:
        """The parameter names ``request``'s route takes, in order, and the kind of each."""
        handler = request.route_handler
        found = self._known.get(id(handler))
        if found is None:
            found = self._known[id(handler)] = self._find(handler, list(request.path_params))
        return found

    @staticmethod
    def _find(
        handler: HTTPRouteHandler, path_parameters: list[str]
    ) -> tuple[list[str], dict[str, Kind | None]]:
        # Litestar's own model of what it reads from a request: the query parameters it finds
        # there are exactly those it would convert (and whatever name they are given).
        model = handler.create_kwargs_model(
            path_parameters=cast(Any, dict.fromkeys(path_parameters))
        )
        signature = handler.parsed_fn_signature.parameters
        order = list(signature)
        declared = sorted(model.expected_query_params, key=lambda p: order.index(p.field_name))
        kinds: dict[str, Kind | None] = {
            p.field_alias: _kind(signature[p.field_name].annotation) for p in declared
        }
        for name in handler.opt.get("query", ()):
            kinds.setdefault(name, None)
        kinds.setdefault(ACCESS_TOKEN, None)
        return list(kinds), kinds


def _meant(name: str, known: list[str]) -> str | None:
    """The known parameter ``name`` probably stands for: the same letters but for case and
    ``_`` (``last_site`` for ``lastSite``), else a close spelling."""

    def letters(text: str) -> str:
        return text.replace("_", "").lower()

    same = [k for k in known if letters(k) == letters(name)]
    close = difflib.get_close_matches(name, known, n=1)
    candidates = same or close
    return candidates[0] if candidates else None


def build_routes(
    service: RocketService, ingress: Ingress, report: PluginsReport
) -> list[BaseRouteHandler]:
    """The built-in route handlers of one app, bound to its ``service``; ``POST /messages`` is
    answered by ``ingress`` (the route is reached only through CORS, and documents it)."""
    settings = service.settings
    schema = service.registry.state

    def errors(*codes: int, token: str | None) -> dict[int, ResponseSpec]:
        """The documented errors of a route: ``codes``, a 401 when ``token`` is set, and what
        any request may get."""
        wanted = (*codes, 401) if token is not None else codes
        return {code: _ERRORS[code] for code in sorted({*wanted, *ANY_REQUEST})}

    def reads(*codes: int) -> dict[int, ResponseSpec]:
        """The documented errors of a read route: a bad query, a token, and ``codes``."""
        return errors(400, *codes, token=settings.read_token)

    State = schema.state_type  # noqa: N806 - a type, used in annotations below
    sortable = list(schema.fields)
    heads: list[HTTPRouteHandler] = []
    rules = _QueryRules()

    async def check_query(request: Request[Any, Any, Any]) -> None:
        """Refuse a query that names a parameter the route does not take, or whose integer or
        number is not written in digits (before Litestar converts the parameters)."""
        known, kinds = rules.of(request)
        # The dashboard's page and files are for browsers, which may add what they like.
        strict = request.route_handler.opt.get("strict_query", True)
        for name in request.query_params:
            if name not in kinds and strict:
                problem = unknown_parameter(known, _meant(name, known))
                raise InputError(error(400, parameter_problem("query", name, problem)))
            values = request.query_params.getall(name, ())
            if len(values) > 1 and strict:
                # Litestar would take the last one silently: which one was meant is a guess.
                problem = given_more_than_once(len(values))
                raise InputError(error(400, parameter_problem("query", name, problem)))
            for value in values:
                _refuse_unless_written_right(name, value, kinds.get(name))

    def read(path: str, **options: Any) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
        """``GET path``, whose query is checked (:func:`check_query`); and ``HEAD path``,
        answered alike by the same handler (the server drops the body of a HEAD answer), kept in
        ``heads`` and out of the OpenAPI document, since every GET implies it."""

        options.setdefault("operation_class", DocumentedOperation)

        def declare(handler: Callable[..., Any]) -> HTTPRouteHandler:
            strict = options.get("include_in_schema", True)
            options["opt"] = {**options.get("opt", {}), "strict_query": strict}
            hidden = {**options, "include_in_schema": False}
            head = route(path, http_method=HttpMethod.HEAD, before_request=check_query, **hidden)
            heads.append(head(handler))
            return get(path, before_request=check_query, **options)(handler)

        return declare

    @post(
        "/messages",
        status_code=202,
        operation_class=messages_operation_class(service.registry, settings.max_batch),
        responses=errors(400, 409, 413, 415, 422, 429, 503, token=settings.ingest_token),
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

    async def list_rockets(
        request: Request[Any, Any, Any],
        sort: FromQuery[str] = "channel",
        order: FromQuery[Literal["asc", "desc"]] = "asc",
        status: TextInQuery = None,
        rocket_type: Annotated[
            str | None, QueryParameter(name="type", pattern=PRINTABLE_PATTERN)
        ] = None,
        mission: TextInQuery = None,
        limit: Annotated[int | None, QueryParameter(ge=1, le=MAX_COUNT)] = None,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_COUNT)] = 0,
    ) -> Response[list[RocketState]]:
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
            where=_query(service, request),
            limit=limit,
            offset=offset,
        )
        total, rows = await service.rockets(query)
        headers = {"X-Total-Count": str(total)}
        if len(rows) <= LISTING_PIECE:
            return Response(content=rows, headers=headers)
        return cast(
            Response[list[RocketState]],
            Stream(_in_pieces(rows), media_type="application/json", headers=headers),
        )

    async def get_rocket(
        channel: ChannelInPath,
        at: Annotated[int | None, QueryParameter(ge=1, le=MAX_MESSAGE_NUMBER)] = None,
    ) -> RocketState:
        """The rocket's current state, or with ``at=N`` its state right after event N."""
        if at is None:
            return await service.rocket(channel)
        return await service.rocket_at(channel, at)

    # Answers are documented with the app's state type, plugins' fields included.
    list_rockets.__annotations__["return"] = Response[list[State]]  # type: ignore[valid-type]
    get_rocket.__annotations__["return"] = State

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
        total, events = await service.events(channel, start, limit)
        return Response(content=events, headers={"X-Total-Count": str(total)})

    @read(
        "/health",
        summary="Health",
        tags=["service"],
        # Open to all, tokens or not (load balancers ask it).
        responses={**errors(400, token=None), 503: _spec(Health, "The store is unreachable")},
    )
    async def health() -> Response[Health]:
        """200 while the store is reachable; 503 otherwise, with ``failing`` naming the store
        and ``detail`` saying what it answered."""
        report = await service.health()
        if report.status == "ok":
            return Response(content=report)
        return Response(
            content=report, status_code=503, headers={"Retry-After": str(retry_after(503))}
        )

    @read("/stalled", summary="Stalled channels", tags=["rockets"], responses=reads(503))
    async def stalled(
        min_seconds: Annotated[float, QueryParameter(name="minSeconds", ge=0)] = (
            settings.stall_seconds
        ),
    ) -> list[StalledChannel]:
        """Channels whose gap has stayed open: messages wait for a number that has not come
        for at least ``minSeconds`` (default ``ROCKETS_STALL_SECONDS``), longest first."""
        return await service.stalled(min_seconds)

    async def get_history(
        channel: ChannelInPath,
        start: FromNumber = 1,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1000,
    ) -> list[StatePoint]:
        """The rocket's state right after each of its events from number ``from`` on (replayed
        from the log: for charts, such as speed over time)."""
        return await service.history(channel, start, limit)

    # Documented with the app's state type, as the listing and the state are (see above).
    get_history.__annotations__["return"] = list[state_point_type(State)]  # type: ignore[misc]

    @get(
        "/stream",
        before_request=check_query,
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
                yield "".join(text).encode()

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
        add, and every projection with where it stands."""
        infos = [running.info() for running in service.projections.running.values()]
        return msgspec.structs.replace(report, projections=infos)

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
            responses=reads(),
        )(_projection_handler(running))
        for name, running in service.projections.running.items()
    ]
    dashboard = [
        read(path, include_in_schema=False)(page) for path, page in dashboard_handlers().items()
    ]
    return [
        post_messages,
        read(
            "/rockets",
            summary="List rockets",
            tags=["rockets"],
            operation_class=rockets_operation_class(schema),
            responses=reads(503),
            opt={"query": [field.json_name for field in schema.plugin_fields]},
        )(list_rockets),
        read(
            "/rockets/{channel:str}",
            summary="One rocket",
            tags=["rockets"],
            responses=reads(404, 503),
        )(get_rocket),
        get_events,
        read(
            "/rockets/{channel:str}/history",
            summary="A rocket's states over time",
            tags=["rockets"],
            responses=reads(404, 503),
        )(get_history),
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

"""The rockets SDK: typed sync and async clients over httpx.

Responses decode into the very Structs the server encodes (``RocketState``, ``EventView``,
``Ack``, ``Health``, ``ErrorBody``), and messages are built from the same ``Envelope`` the
server decodes, so client and server share one definition of every shape.

A payload is any msgspec Struct whose class names its ``message_type`` (the standard types'
Structs are in ``rockets_standard.messages``), or a plain mapping with an explicit
``message_type=`` for a type the SDK does not know. ``docs/sdk.md`` has worked examples.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Literal
from urllib.parse import quote

import httpx
import msgspec
from typing_extensions import TypeVar

from rockets.state import RocketState
from rockets.wire import (
    Ack,
    Envelope,
    ErrorBody,
    EventView,
    Health,
    Metadata,
    RocketQuery,
    StreamedEvent,
    StreamReset,
    message_type_of,
)

__all__ = [
    "DEFAULT_URL",
    "ApiError",
    "AsyncRocketsClient",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "ConnectionFailedError",
    "InvalidResponseError",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "RateLimitedError",
    "RetryPolicy",
    "RocketsClient",
    "ServerError",
    "StreamItem",
    "UnavailableError",
    "message",
]

DEFAULT_URL = "http://127.0.0.1:8088"

T = TypeVar("T")
S = TypeVar("S", bound=RocketState, default=RocketState)
"""The state type answers decode into: ``RocketState``, or a plugin's subclass of it."""


class Page(msgspec.Struct, Generic[T], frozen=True):
    """One page of a listing, and how many items the listing holds in all."""

    items: list[T]
    total: int


# --- errors ---------------------------------------------------------------------------------


class ClientError(Exception):
    """Base class of every error the SDK raises."""


class ConnectionFailedError(ClientError):
    """The server could not be reached (after every retry)."""


class InvalidResponseError(ClientError):
    """The server answered with something that is not the JSON rockets sends (a proxy's error
    page, say)."""


class ApiError(ClientError):
    """The server answered with an error status.

    Attributes:
        status: the HTTP status code.
        error: the server's error body, when it sent one.
        acks: for a batch answered 409 or 429, the acknowledgement of every message.
        retry_after: the server's ``Retry-After``, in seconds, when it sent one.
    """

    def __init__(
        self,
        status: int,
        error: ErrorBody | None,
        acks: list[Ack] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.acks = acks
        self.retry_after = retry_after
        if error is not None:
            text = error.detail + (f" (at {error.path})" if error.path else "")
        elif acks is not None:
            text = "; ".join(
                f"{a.channel}#{a.message_number} {a.status}: {a.detail}"
                for a in acks
                if a.status in ("conflict", "rejected")
            )
        else:
            text = "no error body"
        super().__init__(f"HTTP {status}: {text}")

    @property
    def detail(self) -> str | None:
        return None if self.error is None else self.error.detail

    @property
    def path(self) -> str | None:
        return None if self.error is None else self.error.path


class BadRequestError(ApiError):
    """400: the request is malformed or fails validation; ``path`` says where."""


class NotFoundError(ApiError):
    """404: unknown channel, or an event that is not applied yet."""


class ConflictError(ApiError):
    """409: a message number is taken by another message; ``error.conflict`` has both."""


class PayloadTooLargeError(ApiError):
    """413: the request body is over the server's limit."""


class RateLimitedError(ApiError):
    """429: a pending buffer is full; try again after ``retry_after`` seconds."""


class UnavailableError(ApiError):
    """503: the server is shutting down or its store failed; nothing was kept."""


class ServerError(ApiError):
    """Any other 5xx."""


_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitedError,
    503: UnavailableError,
}

# --- retries --------------------------------------------------------------------------------


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How the clients retry. ``RetryPolicy(attempts=1)`` (or ``retry=None``) turns it off.

    Connection errors and the statuses in ``statuses`` are retried with exponential backoff
    (``backoff`` * 2^n, at most ``max_delay``, with jitter), or after the server's
    ``Retry-After`` when it sends one. Resending is safe because the server deduplicates — but
    only for messages that name their channel and number, so a request holding a message
    without them is never resent.
    """

    attempts: int = 5
    backoff: float = 0.05
    max_delay: float = 5.0
    statuses: frozenset[int] = frozenset({429, 503})

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try number ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        base: float = min(self.backoff * 2.0 ** (attempt - 1), self.max_delay)
        return base * (0.5 + random.random() / 2)


NO_RETRY = RetryPolicy(attempts=1)

# --- building requests and reading answers (shared by both clients) --------------------------

_encoder = msgspec.json.Encoder()
_ack = msgspec.json.Decoder(Ack)
_acks = msgspec.json.Decoder(list[Ack])
_events = msgspec.json.Decoder(list[EventView])
_health = msgspec.json.Decoder(Health)
_error = msgspec.json.Decoder(ErrorBody | list[Ack])


def message(
    payload: msgspec.Struct | Mapping[str, Any],
    *,
    message_type: str | None = None,
    channel: str | None = None,
    number: int | None = None,
    time: datetime | str | None = None,
) -> Envelope:
    """Build one message.

    Args:
        payload: the ``message`` object: a payload Struct (such as the standard types in
            ``rockets_standard.messages``) or, for a type the SDK does not know, a mapping.
        message_type: the ``messageType``; when omitted, the one the payload Struct declares
            (its class name, or its ``message_type`` class attribute).
        channel: the rocket's channel; the server generates one when omitted.
        number: the ``messageNumber``; the server numbers the message when omitted.
        time: the ``messageTime``; the server uses the time of receipt when omitted.
    """
    kind = message_type
    if kind is None and isinstance(payload, msgspec.Struct):
        kind = message_type_of(type(payload))
    if not kind:
        raise TypeError(
            f"cannot tell the messageType of a {type(payload).__name__}: pass message_type="
        )
    if isinstance(time, datetime):
        time = time.isoformat()
    metadata = Metadata(
        message_type=kind, channel=channel, message_number=number, message_time=time
    )
    return Envelope(metadata=metadata, message=msgspec.Raw(_encoder.encode(payload)))


@dataclass(frozen=True)
class _Request:
    method: Literal["GET", "POST"]
    path: str
    params: dict[str, str | int] = field(default_factory=dict)
    content: bytes | None = None
    retryable: bool = True
    answers: frozenset[int] = frozenset()
    """Error statuses whose body is the answer, not an error (``/health``'s 503)."""


def _identified(envelopes: Sequence[Envelope]) -> bool:
    return all(e.metadata.channel and (e.metadata.message_number or 0) > 0 for e in envelopes)


def _post(body: Envelope | Sequence[Envelope]) -> _Request:
    envelopes = [body] if isinstance(body, Envelope) else list(body)
    content = _encoder.encode(body if isinstance(body, Envelope) else envelopes)
    return _Request("POST", "/messages", content=content, retryable=_identified(envelopes))


def _post_one(
    payload: msgspec.Struct | Mapping[str, Any] | Envelope,
    message_type: str | None,
    channel: str | None,
    number: int | None,
    time: datetime | str | None,
) -> _Request:
    if isinstance(payload, Envelope):
        return _post(payload)
    return _post(
        message(payload, message_type=message_type, channel=channel, number=number, time=time)
    )


def _rockets_request(query: RocketQuery) -> _Request:
    fields = msgspec.structs.asdict(query)
    where = fields.pop("where")
    params = {k: v for k, v in {**fields, **where}.items() if v is not None}
    return _Request("GET", "/rockets", params=params)


def _rocket_request(channel: str, at: int | None) -> _Request:
    path = f"/rockets/{quote(channel, safe='')}"
    return _Request("GET", path, params={} if at is None else {"at": at})


def _events_request(channel: str, start: int, limit: int) -> _Request:
    path = f"/rockets/{quote(channel, safe='')}/events"
    return _Request("GET", path, params={"from": start, "limit": limit})


_HEALTH = _Request("GET", "/health", retryable=False, answers=frozenset({503}))
_STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)  # the server pings every 15 s


class StreamItem(msgspec.Struct, Generic[S], frozen=True):
    """One event of the live stream: its ``id`` and what it says — an applied event with the
    rocket's new state, or a reset (events were missed for good: reload the state)."""

    id: str
    data: StreamedEvent[S] | StreamReset


class _SSE:
    """Reads server-sent events line by line (the parts of the format ``/stream`` uses)."""

    def __init__(self) -> None:
        self.kind = ""
        self.id = ""
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, str, str] | None:
        if not line:
            event = (self.kind or "message", self.id, "\n".join(self.data))
            self.kind, self.data = "", []
            return event if event[2] else None
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self.kind = value
        elif field == "id":
            self.id = value
        elif field == "data":
            self.data.append(value)
        return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _decode(decoder: msgspec.json.Decoder[T], response: httpx.Response) -> T:
    try:
        return decoder.decode(response.content)
    except msgspec.DecodeError as exc:
        raise InvalidResponseError(
            f"HTTP {response.status_code} from {response.request.url}: not a rockets answer ({exc})"
        ) from exc


def _raise_for(request: _Request, response: httpx.Response) -> None:
    if response.status_code < 400 or response.status_code in request.answers:
        return
    try:
        body = _error.decode(response.content)
    except msgspec.DecodeError:
        body = None
    error, acks = (None, body) if isinstance(body, list) else (body, None)
    cls = _ERRORS.get(response.status_code)
    if cls is None:
        cls = ServerError if response.status_code >= 500 else ApiError
    raise cls(response.status_code, error, acks, _retry_after(response))


def _total(response: httpx.Response) -> int:
    return int(response.headers.get("x-total-count", "0"))


# --- the clients ----------------------------------------------------------------------------


class _Base(Generic[S]):
    def __init__(self, retry: RetryPolicy | None, state_type: type[S]) -> None:
        self.retry = retry or NO_RETRY
        self.state_type = state_type
        self._state = msgspec.json.Decoder(state_type)
        self._states = msgspec.json.Decoder(list[state_type])  # type: ignore[valid-type]
        self._streamed = msgspec.json.Decoder(StreamedEvent[state_type])  # type: ignore[valid-type]
        self._reset = msgspec.json.Decoder(StreamReset)

    def _stream_item(self, kind: str, position: str, data: str) -> StreamItem[S] | None:
        if kind == "applied":
            return StreamItem(position, self._streamed.decode(data))
        if kind == "reset":
            return StreamItem(position, self._reset.decode(data))
        return None

    @staticmethod
    def _stream_params(
        channel: str | None, last: str | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        params = {} if channel is None else {"channel": channel}
        headers = {"accept": "text/event-stream"}
        if last:
            headers["last-event-id"] = last
        return params, headers

    def _should_retry(self, request: _Request, attempt: int, failure: int | Exception) -> bool:
        """Whether to send ``request`` again after ``failure`` (a status or a transport error)."""
        if attempt >= self.retry.attempts:
            return False
        if isinstance(failure, httpx.ConnectError):
            return True  # nothing reached the server: safe to send anything again
        if not request.retryable:
            return False
        return isinstance(failure, Exception) or failure in self.retry.statuses


class RocketsClient(_Base[S]):
    """A synchronous rockets client.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8088``.
        retry: the retry policy; ``None`` turns retries off.
        timeout: seconds per request.
        http: an existing ``httpx.Client`` to use (its ``base_url`` is used; the caller keeps
            ownership), for instance Litestar's ``TestClient`` to run in-process.
        transport: an httpx transport for a client this object creates.
        state_type: what rocket states decode into: ``RocketState`` (fields of plugins are
            dropped), or a plugin's subclass of it that declares its fields.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        retry: RetryPolicy | None = RetryPolicy(),  # noqa: B008 - immutable
        timeout: float = 10.0,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        state_type: type[S] = RocketState,  # type: ignore[assignment]
    ) -> None:
        super().__init__(retry, state_type)
        self._owned = http is None
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> RocketsClient[S]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (unless the httpx client was given)."""
        if self._owned:
            self._http.close()

    def _call(self, request: _Request) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(
                    request.method, request.path, params=request.params, content=request.content
                )
            except httpx.TransportError as exc:
                if not self._should_retry(request, attempt, exc):
                    raise ConnectionFailedError(f"{request.method} {request.path}: {exc}") from exc
                time.sleep(self.retry.delay(attempt, None))
                continue
            if response.status_code >= 400 and self._should_retry(
                request, attempt, response.status_code
            ):
                time.sleep(self.retry.delay(attempt, _retry_after(response)))
                continue
            _raise_for(request, response)
            return response

    def send(
        self,
        payload: msgspec.Struct | Mapping[str, Any] | Envelope,
        *,
        message_type: str | None = None,
        channel: str | None = None,
        number: int | None = None,
        time: datetime | str | None = None,
    ) -> Ack:
        """Post one message (an ``Envelope``, or a payload plus metadata; see :func:`message`)."""
        request = _post_one(payload, message_type, channel, number, time)
        return _decode(_ack, self._call(request))

    def send_batch(self, envelopes: Sequence[Envelope]) -> list[Ack]:
        """Post messages as one batch; one acknowledgement per message, in order.

        Raises:
            ConflictError: a message conflicts (``acks`` has every message's outcome).
            RateLimitedError: a pending buffer stayed full through every retry.
        """
        return _decode(_acks, self._call(_post(envelopes)))

    def rockets(
        self,
        *,
        sort: str = "channel",
        order: Literal["asc", "desc"] = "asc",
        status: str | None = None,
        type: str | None = None,
        mission: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        where: Mapping[str, Any] | None = None,
    ) -> Page[S]:
        """Rocket states, filtered (exact matches; ``where`` for plugins' fields, by JSON
        name), sorted by any state field, and paged."""
        query = RocketQuery(
            sort=sort, order=order, status=status, type=type, mission=mission, limit=limit,
            offset=offset, where=dict(where or {}),
        )  # fmt: skip
        response = self._call(_rockets_request(query))
        return Page(_decode(self._states, response), _total(response))

    def rocket(self, channel: str, at: int | None = None) -> S:
        """A rocket's current state, or its state right after event ``at``."""
        return _decode(self._state, self._call(_rocket_request(channel, at)))

    def events(self, channel: str, start: int = 1, limit: int = 1000) -> Page[EventView]:
        """A page of a rocket's applied events, from number ``start`` on."""
        response = self._call(_events_request(channel, start, limit))
        return Page(_decode(_events, response), _total(response))

    def health(self) -> Health:
        """The server's health report; ``status`` is ``unavailable`` when its store is not."""
        return _decode(_health, self._call(_HEALTH))

    def stream(
        self, channel: str | None = None, *, last_event_id: str | None = None
    ) -> Iterator[StreamItem[S]]:
        """Live applied events with the rockets' new states (``GET /stream``), for all rockets
        or one ``channel``, from after ``last_event_id`` (default: from now on).

        The connection is resumed when it drops: the SDK reconnects (with the retry policy's
        backoff) and sends the id of the last event it got, so that nothing is lost or
        repeated while the server still keeps the missed events; otherwise a reset item says
        so. Ends only when the caller stops iterating.
        """
        last = last_event_id
        failures = 0
        while True:
            params, headers = self._stream_params(channel, last)
            try:
                with self._http.stream(
                    "GET", "/stream", params=params, headers=headers, timeout=_STREAM_TIMEOUT
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                    _raise_for(_Request("GET", "/stream"), response)
                    failures = 0
                    sse = _SSE()
                    for line in response.iter_lines():
                        event = sse.feed(line)
                        if event is None:
                            continue
                        item = self._stream_item(*event)
                        if item is not None:
                            last = item.id
                            yield item
            except (httpx.TransportError, UnavailableError) as exc:
                failures += 1
                if failures >= max(self.retry.attempts, 2):
                    raise ConnectionFailedError(f"GET /stream: {exc}") from exc
            time.sleep(self.retry.delay(max(failures, 1), None))


class AsyncRocketsClient(_Base[S]):
    """The asyncio twin of :class:`RocketsClient`: the same methods, awaited."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        retry: RetryPolicy | None = RetryPolicy(),  # noqa: B008 - immutable
        timeout: float = 10.0,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        state_type: type[S] = RocketState,  # type: ignore[assignment]
    ) -> None:
        super().__init__(retry, state_type)
        self._owned = http is None
        self._http = http or httpx.AsyncClient(
            base_url=base_url, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncRocketsClient[S]:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections (unless the httpx client was given)."""
        if self._owned:
            await self._http.aclose()

    async def _call(self, request: _Request) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    request.method, request.path, params=request.params, content=request.content
                )
            except httpx.TransportError as exc:
                if not self._should_retry(request, attempt, exc):
                    raise ConnectionFailedError(f"{request.method} {request.path}: {exc}") from exc
                await asyncio.sleep(self.retry.delay(attempt, None))
                continue
            if response.status_code >= 400 and self._should_retry(
                request, attempt, response.status_code
            ):
                await asyncio.sleep(self.retry.delay(attempt, _retry_after(response)))
                continue
            _raise_for(request, response)
            return response

    async def send(
        self,
        payload: msgspec.Struct | Mapping[str, Any] | Envelope,
        *,
        message_type: str | None = None,
        channel: str | None = None,
        number: int | None = None,
        time: datetime | str | None = None,
    ) -> Ack:
        """Post one message (an ``Envelope``, or a payload plus metadata; see :func:`message`)."""
        request = _post_one(payload, message_type, channel, number, time)
        return _decode(_ack, await self._call(request))

    async def send_batch(self, envelopes: Sequence[Envelope]) -> list[Ack]:
        """Post messages as one batch; one acknowledgement per message, in order."""
        return _decode(_acks, await self._call(_post(envelopes)))

    async def rockets(
        self,
        *,
        sort: str = "channel",
        order: Literal["asc", "desc"] = "asc",
        status: str | None = None,
        type: str | None = None,
        mission: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        where: Mapping[str, Any] | None = None,
    ) -> Page[S]:
        """Rocket states, filtered (exact matches; ``where`` for plugins' fields, by JSON
        name), sorted by any state field, and paged."""
        query = RocketQuery(
            sort=sort, order=order, status=status, type=type, mission=mission, limit=limit,
            offset=offset, where=dict(where or {}),
        )  # fmt: skip
        response = await self._call(_rockets_request(query))
        return Page(_decode(self._states, response), _total(response))

    async def rocket(self, channel: str, at: int | None = None) -> S:
        """A rocket's current state, or its state right after event ``at``."""
        return _decode(self._state, await self._call(_rocket_request(channel, at)))

    async def events(self, channel: str, start: int = 1, limit: int = 1000) -> Page[EventView]:
        """A page of a rocket's applied events, from number ``start`` on."""
        response = await self._call(_events_request(channel, start, limit))
        return Page(_decode(_events, response), _total(response))

    async def health(self) -> Health:
        """The server's health report; ``status`` is ``unavailable`` when its store is not."""
        return _decode(_health, await self._call(_HEALTH))

    async def stream(
        self, channel: str | None = None, *, last_event_id: str | None = None
    ) -> AsyncIterator[StreamItem[S]]:
        """The asyncio twin of :meth:`RocketsClient.stream`, resumed the same way."""
        last = last_event_id
        failures = 0
        while True:
            params, headers = self._stream_params(channel, last)
            try:
                async with self._http.stream(
                    "GET", "/stream", params=params, headers=headers, timeout=_STREAM_TIMEOUT
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                    _raise_for(_Request("GET", "/stream"), response)
                    failures = 0
                    sse = _SSE()
                    async for line in response.aiter_lines():
                        event = sse.feed(line)
                        if event is None:
                            continue
                        item = self._stream_item(*event)
                        if item is not None:
                            last = item.id
                            yield item
            except (httpx.TransportError, UnavailableError) as exc:
                failures += 1
                if failures >= max(self.retry.attempts, 2):
                    raise ConnectionFailedError(f"GET /stream: {exc}") from exc
            await asyncio.sleep(self.retry.delay(max(failures, 1), None))

"""What both clients share, free of I/O: every API call as a request plus how its answer reads,
the typed errors, the retry decisions and the bookkeeping of a resumable stream.

A driver (:mod:`rockets.client.aio`, and :mod:`rockets.client.sync` generated from it) sends
a :class:`Call`'s request, asks :class:`Retries` whether and when to send it again, and gives
the last :data:`Attempt` to :meth:`Call.answer`. For ``/stream`` it sends :class:`Resume`'s
request, feeds it the lines read, and asks it how long to wait before reconnecting.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, TypeAlias
from urllib.parse import quote

import httpx
import msgspec
from typing_extensions import TypeVar

from rockets.client.errors import (
    ConnectionFailedError,
    InvalidResponseError,
    UnavailableError,
    error_class,
)
from rockets.state import RocketState
from rockets.wire import (
    Ack,
    Envelope,
    ErrorBody,
    EventView,
    Health,
    MessageSummary,
    Metadata,
    PluginsReport,
    ProjectionInfo,
    RocketQuery,
    StalledChannel,
    StatePoint,
    StreamedEvent,
    StreamReset,
    message_type_of,
)

__all__ = [
    "DEFAULT_URL",
    "NO_RETRY",
    "RESUMABLE",
    "STREAM_TIMEOUT",
    "Attempt",
    "Call",
    "Calls",
    "ClientBase",
    "Page",
    "Payloads",
    "Projected",
    "Resume",
    "Retries",
    "RetryPolicy",
    "StreamItem",
    "message",
    "raise_for",
]

DEFAULT_URL = "http://127.0.0.1:8088"

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S", bound=RocketState, default=RocketState)
"""The state type answers decode into: ``RocketState``, or a plugin's subclass of it."""


class Page(msgspec.Struct, Generic[T], frozen=True):
    """One page of a listing, and how many items the listing holds in all."""

    items: list[T]
    total: int


class Projected(msgspec.Struct, Generic[T], frozen=True):
    """A projection's value as the server serves it, and the log position it stands at
    (``X-Position``): the value has taken in every event up to that position, and none after."""

    value: T
    position: int


class StreamItem(msgspec.Struct, Generic[S], frozen=True):
    """One event of the live stream: its ``id`` and what it says — an applied event with the
    rocket's new state, or a reset (events were missed for good: reload the state)."""

    id: str
    data: StreamedEvent[S] | StreamReset


# --- messages -------------------------------------------------------------------------------

_encoder = msgspec.json.Encoder()


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


# --- reading answers ------------------------------------------------------------------------

Attempt: TypeAlias = httpx.Response | httpx.TransportError
"""How one try of a request ended: with the server's answer, or with the transport's error."""

_error = msgspec.json.Decoder(ErrorBody | list[Ack])


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def raise_for(response: httpx.Response) -> None:
    """Raise the typed error an error status stands for (the body must have been read)."""
    if response.status_code < 400:
        return
    try:
        body = _error.decode(response.content)
    except msgspec.DecodeError:
        body = None
    error, acks = (None, body) if isinstance(body, list) else (body, None)
    cls = error_class(response.status_code)
    raise cls(response.status_code, error, acks, _retry_after(response))


def _decode(decoder: msgspec.json.Decoder[T], response: httpx.Response) -> T:
    try:
        return decoder.decode(response.content)
    except msgspec.DecodeError as exc:
        raise InvalidResponseError(
            f"HTTP {response.status_code} from {response.request.url}: not a rockets answer ({exc})"
        ) from exc


def _body(decoder: msgspec.json.Decoder[T]) -> Callable[[httpx.Response], T]:
    """Reads an answer whose body is one ``T``."""

    def read(response: httpx.Response) -> T:
        return _decode(decoder, response)

    return read


def _page(decoder: msgspec.json.Decoder[list[T]]) -> Callable[[httpx.Response], Page[T]]:
    """Reads a page of a listing: its body, and the total in ``X-Total-Count``."""

    def read(response: httpx.Response) -> Page[T]:
        return Page(_decode(decoder, response), int(response.headers.get("x-total-count", "0")))

    return read


def _projected(decoder: msgspec.json.Decoder[T]) -> Callable[[httpx.Response], Projected[T]]:
    """Reads a projection: its body, and the position in ``X-Position``."""

    def read(response: httpx.Response) -> Projected[T]:
        value = _decode(decoder, response)
        position = response.headers.get("x-position", "")
        # Without its position a value cannot be told apart from an older one: not an answer.
        if not (position.isascii() and position.isdigit()):
            raise InvalidResponseError(
                f"HTTP {response.status_code} from {response.request.url}: not a rockets "
                f"answer (X-Position {position!r})"
            )
        return Projected(value, int(position))

    return read


_read_ack = _body(msgspec.json.Decoder(Ack))
_read_acks = _body(msgspec.json.Decoder(list[Ack]))
_read_events = _page(msgspec.json.Decoder(list[EventView]))
_read_health = _body(msgspec.json.Decoder(Health))
_read_stalled = _body(msgspec.json.Decoder(list[StalledChannel]))
_read_plugins = _body(msgspec.json.Decoder(PluginsReport))
_read_projections = _body(msgspec.json.Decoder(list[ProjectionInfo]))
_reset = msgspec.json.Decoder(StreamReset)


# --- payloads -------------------------------------------------------------------------------


class Payloads:
    """The payload Structs a client was given, by the messageType each names: what an event's
    ``message`` decodes into (a plain dict for any other type)."""

    _any = msgspec.json.Decoder(dict[str, Any])

    def __init__(self, types: Iterable[type[msgspec.Struct]]) -> None:
        self._decoders: dict[str, tuple[type[msgspec.Struct], msgspec.json.Decoder[Any]]] = {}
        for payload_type in types:
            name = message_type_of(payload_type)
            known = self._decoders.get(name)
            if known is not None and known[0] is not payload_type:
                raise ValueError(
                    f"two payload types name the messageType {name!r}: "
                    f"{known[0].__qualname__} and {payload_type.__qualname__}"
                )
            self._decoders[name] = (payload_type, msgspec.json.Decoder(payload_type))

    def decode(self, event: EventView | MessageSummary) -> msgspec.Struct | dict[str, Any]:
        """``event.message`` decoded: into the payload Struct of ``event.message_type`` when
        one was given, else into a dict.

        Raises:
            InvalidResponseError: the payload does not fit the Struct given for its type (the
                client's Struct and the server's schema disagree).
        """
        known = self._decoders.get(event.message_type)
        if known is None:
            return self._any.decode(event.message)
        payload_type, decoder = known
        try:
            payload: msgspec.Struct = decoder.decode(event.message)
        except msgspec.DecodeError as exc:
            raise InvalidResponseError(
                f"a {event.message_type} payload does not fit {payload_type.__qualname__}: {exc}"
            ) from exc
        return payload


# --- the calls ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call(Generic[R]):
    """One API call: the request to send, and how its answer reads."""

    method: Literal["GET", "POST"]
    path: str
    read: Callable[[httpx.Response], R]
    params: dict[str, str | int] = field(default_factory=dict)
    content: bytes | None = None
    retryable: bool = True
    """Whether the request may be sent again once it may have reached the server."""
    retried: bool = True
    """Whether the call is retried at all (``/health`` is not: a probe tells what it sees)."""
    answers: frozenset[int] = frozenset()
    """Error statuses whose body is the answer, not an error (``/health``'s 503)."""

    def answer(self, attempt: Attempt) -> R:
        """The decoded answer of the final try; or the typed error it is."""
        if isinstance(attempt, httpx.TransportError):
            raise ConnectionFailedError(f"{self.method} {self.path}: {attempt}") from attempt
        if attempt.status_code not in self.answers:
            raise_for(attempt)
        return self.read(attempt)


def _identified(envelopes: Sequence[Envelope]) -> bool:
    return all(e.metadata.channel and (e.metadata.message_number or 0) > 0 for e in envelopes)


def _post(body: Envelope | Sequence[Envelope], read: Callable[[httpx.Response], R]) -> Call[R]:
    envelopes = [body] if isinstance(body, Envelope) else list(body)
    content = _encoder.encode(body if isinstance(body, Envelope) else envelopes)
    # The server deduplicates by channel and number only: a message without them could be
    # stored twice if a request that reached the server were sent again.
    return Call("POST", "/messages", read, content=content, retryable=_identified(envelopes))


_HEALTH = Call("GET", "/health", _read_health, retried=False, answers=frozenset({503}))
_STALLED = "/stalled"
_PLUGINS = Call("GET", "/plugins", _read_plugins)
_PROJECTIONS = Call("GET", "/projections", _read_projections)


class Calls(Generic[S]):
    """Every API call, for answers whose rocket states decode into ``state_type``."""

    def __init__(self, state_type: type[S]) -> None:
        self._state_type = state_type
        self._read_state = _body(msgspec.json.Decoder(state_type))
        self._read_states = _page(msgspec.json.Decoder(list[state_type]))  # type: ignore[valid-type]
        self._read_history = _body(msgspec.json.Decoder(list[StatePoint[state_type]]))  # type: ignore[valid-type]
        self._streamed = msgspec.json.Decoder(StreamedEvent[state_type])  # type: ignore[valid-type]
        fields = msgspec.structs.fields(state_type)
        self._fields = {f.encode_name for f in fields}
        self._python_names = {f.name: f.encode_name for f in fields}
        self._projected: dict[Any, Callable[[httpx.Response], Projected[Any]]] = {}

    def send(
        self,
        payload: msgspec.Struct | Mapping[str, Any] | Envelope,
        message_type: str | None,
        channel: str | None,
        number: int | None,
        time: datetime | str | None,
    ) -> Call[Ack]:
        """``POST /messages`` with one message (see :func:`message`)."""
        if not isinstance(payload, Envelope):
            payload = message(
                payload, message_type=message_type, channel=channel, number=number, time=time
            )
        return _post(payload, _read_ack)

    def send_batch(self, envelopes: Sequence[Envelope]) -> Call[list[Ack]]:
        """``POST /messages`` with a batch."""
        return _post(envelopes, _read_acks)

    def rockets(
        self,
        *,
        sort: str,
        order: Literal["asc", "desc"],
        status: str | None,
        type: str | None,
        mission: str | None,
        limit: int | None,
        offset: int,
        where: Mapping[str, Any] | None,
    ) -> Call[Page[S]]:
        """``GET /rockets``: plugins' fields in ``where`` become query parameters of their own.

        Raises:
            ValueError: a key of ``where`` is not the JSON name of a field of the state type
                (the server would ignore it, and list every rocket).
        """
        self._check_where(where or {})
        query = RocketQuery(
            sort=sort, order=order, status=status, type=type, mission=mission, limit=limit,
            offset=offset, where=dict(where or {}),
        )  # fmt: skip
        fields = msgspec.structs.asdict(query)
        where_fields = fields.pop("where")
        params = {k: v for k, v in {**fields, **where_fields}.items() if v is not None}
        return Call("GET", "/rockets", self._read_states, params=params)

    def _check_where(self, where: Mapping[str, Any]) -> None:
        for key in where:
            if key in self._fields:
                continue
            state = self._state_type.__qualname__
            if key in self._python_names:
                hint = f"write it by its JSON name, {self._python_names[key]!r}"
            else:
                hint = (
                    f"the fields of {state} are {', '.join(sorted(self._fields))}; for a "
                    "plugin's field, give the client the plugin's state class (state_type=)"
                )
            raise ValueError(f"where: {key!r} is not a field of {state}: {hint}")

    def rocket(self, channel: str, at: int | None) -> Call[S]:
        """``GET /rockets/{channel}``, at event ``at`` when given."""
        path = f"/rockets/{quote(channel, safe='')}"
        return Call("GET", path, self._read_state, params={} if at is None else {"at": at})

    def events(self, channel: str, start: int, limit: int) -> Call[Page[EventView]]:
        """``GET /rockets/{channel}/events``."""
        path = f"/rockets/{quote(channel, safe='')}/events"
        return Call("GET", path, _read_events, params={"from": start, "limit": limit})

    def history(self, channel: str, start: int, limit: int) -> Call[list[StatePoint[S]]]:
        """``GET /rockets/{channel}/history`` (``start`` is the API's ``from``)."""
        path = f"/rockets/{quote(channel, safe='')}/history"
        return Call("GET", path, self._read_history, params={"from": start, "limit": limit})

    def stalled(self, min_seconds: float | None) -> Call[list[StalledChannel]]:
        """``GET /stalled``, by the server's ``ROCKETS_STALL_SECONDS`` unless ``min_seconds``."""
        params: dict[str, str | int] = {}
        if min_seconds is not None:
            params["minSeconds"] = str(min_seconds)
        return Call("GET", _STALLED, _read_stalled, params=params)

    def plugins(self) -> Call[PluginsReport]:
        """``GET /plugins``."""
        return _PLUGINS

    def projections(self) -> Call[list[ProjectionInfo]]:
        """``GET /projections``."""
        return _PROJECTIONS

    def projection(self, name: str, kind: Any) -> Call[Projected[Any]]:
        """``GET /projections/{name}``, its value decoded into ``kind`` (None: a dict, since a
        projection serves a Struct, a JSON object)."""
        if kind is None:
            kind = dict[str, Any]
        read = self._projected.get(kind)
        if read is None:
            # A decoder per type, built once: a dashboard may read a projection every second.
            read = self._projected[kind] = _projected(msgspec.json.Decoder(kind))
        return Call("GET", f"/projections/{quote(name, safe='')}", read)

    def health(self) -> Call[Health]:
        """``GET /health``: sent once, never retried, since it reports what it sees; its 503 is
        an answer."""
        return _HEALTH

    def stream(
        self, channel: str | None, last_event_id: str | None, policy: RetryPolicy
    ) -> Resume[S]:
        """``GET /stream``, from after ``last_event_id``, resumed under ``policy``."""
        return Resume(self._streamed, channel, last_event_id, policy)


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


class Retries:
    """The retry decisions of one call: after each try, whether to send it again, and when."""

    def __init__(self, policy: RetryPolicy, call: Call[Any]) -> None:
        self._policy = policy
        self._call = call
        self._tries = 0

    def after(self, attempt: Attempt) -> float | None:
        """Seconds to wait before sending the call again after ``attempt``, or None when
        ``attempt`` is final (give it to :meth:`Call.answer`)."""
        self._tries += 1
        if isinstance(attempt, httpx.TransportError):
            return self._policy.delay(self._tries, None) if self._may_resend(attempt) else None
        if attempt.status_code < 400 or not self._may_resend(attempt.status_code):
            return None
        return self._policy.delay(self._tries, _retry_after(attempt))

    def _may_resend(self, failure: int | httpx.TransportError) -> bool:
        if not self._call.retried or self._tries >= self._policy.attempts:
            return False
        if isinstance(failure, httpx.ConnectError):
            return True  # nothing reached the server: safe to send anything again
        if not self._call.retryable:
            return False
        return isinstance(failure, Exception) or failure in self._policy.statuses


# --- the live stream ------------------------------------------------------------------------

STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)  # the server pings every 15 s

RESUMABLE: tuple[type[Exception], ...] = (httpx.TransportError, UnavailableError)
"""What ends a connection of the stream but not the stream: the client reconnects."""


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
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self.kind = value
        elif name == "id":
            self.id = value
        elif name == "data":
            self.data.append(value)
        return None


class Resume(Generic[S]):
    """One ``/stream`` across its connections: the request that resumes it after the last event
    received, the items read from the lines of a connection, and when to reconnect or give up.
    """

    method: ClassVar[str] = "GET"
    path: ClassVar[str] = "/stream"
    timeout: ClassVar[httpx.Timeout] = STREAM_TIMEOUT

    def __init__(
        self,
        streamed: msgspec.json.Decoder[StreamedEvent[S]],
        channel: str | None,
        last_event_id: str | None,
        policy: RetryPolicy,
    ) -> None:
        self._streamed = streamed
        self._channel = channel
        self._policy = policy
        self.last_event_id = last_event_id
        self.failures = 0
        """Connections that failed in a row."""
        self._sse = _SSE()

    @property
    def params(self) -> dict[str, str]:
        return {} if self._channel is None else {"channel": self._channel}

    @property
    def headers(self) -> dict[str, str]:
        headers = {"accept": "text/event-stream"}
        if self.last_event_id:
            headers["last-event-id"] = self.last_event_id
        return headers

    def opened(self, response: httpx.Response) -> None:
        """A connection answered (an error's body read): raise its error, or start reading."""
        raise_for(response)
        self.failures = 0
        self._sse = _SSE()

    def feed(self, line: str) -> StreamItem[S] | None:
        """The item a line of the open connection completes, if any."""
        event = self._sse.feed(line)
        if event is None:
            return None
        kind, position, data = event
        item: StreamItem[S]
        if kind == "applied":
            item = StreamItem(position, self._streamed.decode(data))
        elif kind == "reset":
            item = StreamItem(position, _reset.decode(data))
        else:
            return None
        self.last_event_id = item.id
        return item

    def dropped(self, failure: Exception) -> None:
        """A connection failed with one of :data:`RESUMABLE`; raise when it is one too many."""
        self.failures += 1
        if self.failures >= max(self._policy.attempts, 2):
            raise ConnectionFailedError(f"{self.method} {self.path}: {failure}") from failure

    def delay(self) -> float:
        """Seconds to wait before reconnecting, after a connection ended or failed."""
        return self._policy.delay(max(self.failures, 1), None)


class ClientBase(Generic[S]):
    """What both clients hold: the retry policy, the calls for their state type and the payload
    Structs they know."""

    def __init__(
        self,
        retry: RetryPolicy | None,
        state_type: type[S],
        payload_types: Iterable[type[msgspec.Struct]],
    ) -> None:
        self.retry = retry or NO_RETRY
        self.state_type = state_type
        self._calls = Calls(state_type)
        self._payloads = Payloads(payload_types)

    def payload(self, event: EventView | MessageSummary) -> msgspec.Struct | dict[str, Any]:
        """An event's ``message``, decoded: into the payload Struct given for its type
        (``payload_types=``), else into a dict. Works for the events of :meth:`events`, of a
        stream item (``item.data.event``) and for both sides of a conflict.

        Raises:
            InvalidResponseError: the payload does not fit the Struct given for its type.
        """
        return self._payloads.decode(event)

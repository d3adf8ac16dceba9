"""What both clients share, free of I/O: every API call as a request plus how its answer reads,
and the payload decoders.

A driver (:mod:`rockets_client.aio`, and :mod:`rockets_client.sync` generated from it) sends
a :class:`Call`'s request, asks its :class:`~rockets_client.retries.Retries` whether and when to
send it again, and gives the last :data:`~rockets_client.retries.Attempt` to
:meth:`Call.answer`. The live stream's bookkeeping is :mod:`rockets_client.stream`, the walks
through every rocket or event :mod:`rockets_client.paging`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal
from urllib.parse import quote

import httpx
import msgspec
from typing_extensions import TypeVar

from rockets_client.errors import ConnectionFailedError, InvalidResponseError, error_class
from rockets_client.retries import NO_RETRY, Attempt, Retries, RetryPolicy, retry_after
from rockets_client.state import RocketState
from rockets_client.wire import (
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
    message_type_of,
)

__all__ = [
    "DEFAULT_URL",
    "Call",
    "Calls",
    "ClientBase",
    "Page",
    "Payloads",
    "Projected",
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
            ``rockets_client.standard``) or, for a type the SDK does not know, a mapping.
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

_error = msgspec.json.Decoder(ErrorBody | list[Ack])


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
    raise cls(response.status_code, error, acks, retry_after(response))


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

    def retries(self, policy: RetryPolicy) -> Retries:
        """The retry decisions of one sending of this call."""
        return Retries(policy, retried=self.retried, resendable=self.retryable)

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
        self.streamed = msgspec.json.Decoder(StreamedEvent[state_type])  # type: ignore[valid-type]
        """How an ``applied`` event of the stream reads."""
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

    def stalled(
        self, min_seconds: float | None, limit: int | None = None, offset: int = 0
    ) -> Call[list[StalledChannel]]:
        """``GET /stalled``, by the server's ``ROCKETS_STALL_SECONDS`` unless ``min_seconds``;
        a page of ``limit`` from ``offset`` (all of them without ``limit``)."""
        params: dict[str, str | int] = {}
        if min_seconds is not None:
            params["minSeconds"] = str(min_seconds)
        if limit is not None:
            params["limit"] = limit
        if offset:
            params["offset"] = offset
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

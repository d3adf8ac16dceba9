"""The synchronous client: the calls of :mod:`rockets_client.core` sent over ``httpx.Client``.

Generated from :mod:`rockets_client.aio` by :mod:`rockets_client.unasync`: edit that module,
then run ``python sdk/src/rockets_client/unasync.py``; do not edit this one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, overload

import httpx
import msgspec
from typing_extensions import TypeVar

from rockets_client.core import DEFAULT_URL, Call, ClientBase, Page, Projected, S
from rockets_client.paging import EventPages, RocketPages
from rockets_client.retries import Attempt, RetryPolicy
from rockets_client.state import RocketState
from rockets_client.stream import RESUMABLE, Events, Resume, StreamItem
from rockets_client.wire import (
    Ack,
    Envelope,
    EventView,
    Health,
    PluginsReport,
    ProjectionInfo,
    StalledChannel,
    StatePoint,
)

__all__ = ["RocketsClient"]

R = TypeVar("R")
T = TypeVar("T")


class RocketsClient(ClientBase[S]):
    """A rockets client over ``httpx.Client``: each method sends its request, again under
    the retry policy when it may, and decodes the answer.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8088``.
        retry: the retry policy; ``None`` turns retries off.
        timeout: seconds per request.
        http: an existing ``httpx.Client`` to use (its ``base_url`` is used; the caller
            keeps ownership), for instance Litestar's ``TestClient`` to run in-process.
        transport: an httpx transport for a client this object creates.
        state_type: what rocket states decode into: ``RocketState`` (fields of plugins are
            dropped), a plugin's subclass of it that declares its fields, or several plugins'
            subclasses joined by :func:`compose_state`.
        payload_types: the payload Structs :meth:`payload` decodes events' messages into, by
            the messageType each names (such as :data:`PAYLOAD_TYPES`, the standard ones); a
            message of any other type decodes into a dict.
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
        payload_types: Iterable[type[msgspec.Struct]] = (),
    ) -> None:
        super().__init__(retry, state_type, payload_types)
        self._owned = http is None
        self._http = http or httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
        )

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

    def _run(self, call: Call[R]) -> R:
        retries = call.retries(self.retry)
        while True:
            attempt: Attempt
            try:
                attempt = self._http.request(
                    call.method, call.path, params=call.params, content=call.content
                )
            except httpx.TransportError as exc:
                attempt = exc
            delay = retries.after(attempt)
            if delay is None:
                return call.answer(attempt)
            time.sleep(delay)

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
        return self._run(self._calls.send(payload, message_type, channel, number, time))

    def send_batch(self, envelopes: Sequence[Envelope]) -> list[Ack]:
        """Post messages as one batch; one acknowledgement per message, in order.

        Raises:
            ConflictError: a message conflicts (``acks`` has every message's outcome).
            RateLimitedError: a pending buffer stayed full through every retry.
        """
        return self._run(self._calls.send_batch(envelopes))

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
        call = self._calls.rockets(
            sort=sort, order=order, status=status, type=type, mission=mission, limit=limit,
            offset=offset, where=where,
        )  # fmt: skip
        return self._run(call)

    def rocket(self, channel: str, at: int | None = None) -> S:
        """A rocket's current state, or its state right after event ``at``."""
        return self._run(self._calls.rocket(channel, at))

    def events(self, channel: str, start: int = 1, limit: int = 1000) -> Page[EventView]:
        """A page of a rocket's applied events, from number ``start`` on (the API's ``from``).
        :meth:`payload` decodes an event's ``message``."""
        return self._run(self._calls.events(channel, start, limit))

    def history(self, channel: str, start: int = 1, limit: int = 1000) -> list[StatePoint[S]]:
        """A rocket's state right after each of its events, from number ``start`` on (the
        API's ``from``), replayed by the server from the log."""
        return self._run(self._calls.history(channel, start, limit))

    def stalled(
        self, min_seconds: float | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[StalledChannel]:
        """Channels whose gap has stayed open at least ``min_seconds`` (by default the
        server's ``ROCKETS_STALL_SECONDS``), the longest-waiting first: ``limit`` of them from
        ``offset`` (all of them without ``limit``)."""
        return self._run(self._calls.stalled(min_seconds, limit, offset))

    def plugins(self) -> PluginsReport:
        """What the server loaded: every plugin, message type (with its payload's JSON Schema
        and version), state field and projection plugins add."""
        return self._run(self._calls.plugins())

    def projections(self) -> list[ProjectionInfo]:
        """Every projection the server's plugins registered: the log position it has taken in,
        and whether it runs (``stopped``: it could not take the event at ``failed_at``, and
        ``error`` says why)."""
        return self._run(self._calls.projections())

    @overload
    def projection(self, name: str, type: None = None) -> Projected[dict[str, Any]]: ...

    @overload
    def projection(self, name: str, type: type[T]) -> Projected[T]: ...

    def projection(self, name: str, type: Any = None) -> Projected[Any]:
        """A projection's value (``GET /projections/{name}``), decoded into ``type`` (a
        msgspec Struct, say, whose fields are the JSON names it serves; fields it leaves out
        are ignored) or, without it, into a dict; and ``position``, the log position it has
        taken in (``X-Position``).

        Raises:
            NotFoundError: no loaded plugin registers a projection of that name.
        """
        return self._run(self._calls.projection(name, type))

    def health(self) -> Health:
        """The server's health report; ``status`` is ``unavailable`` when its store is not.
        Sent once: a connection error raises at once, never retried."""
        return self._run(self._calls.health())

    def iter_rockets(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        mission: str | None = None,
        where: Mapping[str, Any] | None = None,
        page_size: int = 100,
    ) -> Iterator[S]:
        """Every rocket that matches the filters (as :meth:`rockets` takes them), by channel,
        ``page_size`` a request: each rocket that exists when the walk begins (and matches
        throughout) exactly once, however many rockets are created meanwhile; a rocket created
        during the walk may come or not."""
        pages = RocketPages(
            self._calls, page_size, status=status, type=type, mission=mission, where=where
        )
        while (call := pages.next()) is not None:
            yield from pages.take(self._run(call))

    def iter_events(
        self, channel: str, start: int = 1, page_size: int = 1000
    ) -> Iterator[EventView]:
        """Every applied event of a rocket from number ``start`` on, in order, ``page_size`` a
        request (each once, events applied meanwhile included)."""
        pages = EventPages(self._calls, channel, start, page_size)
        while (call := pages.next()) is not None:
            yield from pages.take(self._run(call))

    def stream(
        self,
        channel: str | None = None,
        *,
        last_event_id: str | None = None,
        timeout: float | None = None,
        idle_timeout: float | None = None,
    ) -> Iterator[StreamItem[S]]:
        """Live applied events with the rockets' new states (``GET /stream``), for all rockets
        or one ``channel``, from after ``last_event_id`` (default: from now on).

        The connection is resumed when it drops: the SDK reconnects (with the retry policy's
        backoff) and sends the id of the last event it got, so that nothing is lost or
        repeated while the server still keeps the missed events; otherwise a reset item says
        so.

        Args:
            timeout: seconds after which the stream stops: the iteration ends, without an
                error (default: it ends only when the caller stops iterating).
            idle_timeout: seconds without a byte from the server (an event, or the comment it
                sends every 15 s) after which :class:`StreamIdleError` is raised (default:
                such a connection is taken for dead after 60 s, and opened again).
        """
        resume = Resume(
            self._calls.streamed, channel, last_event_id, self.retry, timeout, idle_timeout
        )
        while not resume.over():
            try:
                with self._http.stream(
                    resume.method,
                    resume.path,
                    params=resume.params,
                    headers=resume.headers,
                    timeout=resume.timeout,
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                    resume.opened(response)
                    with Events(response, resume.deadline) as events:
                        for event in events:
                            item = resume.feed(event)
                            if item is not None:
                                yield item
            except RESUMABLE as exc:
                resume.dropped(exc)
            time.sleep(resume.delay())

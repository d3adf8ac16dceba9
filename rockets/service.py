"""The service behind the HTTP routes: ingest a request body, answer reads.

It owns the pieces of one running app (codec, worker pool, engine, store, projection) and turns
the engine's verdicts into API answers. It knows nothing of HTTP frameworks, so a faster
front end can call it exactly as the Litestar routes do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import UTC, datetime
from typing import cast

import msgspec

from rockets.aggregate import apply_record, event_of, fold, initial_state
from rockets.codec import Codec
from rockets.engine import Engine, Listener, Outcome
from rockets.errors import ConflictDetail, ErrorBody, InputError, MessageSummary, StoreError
from rockets.hookcalls import PluginHooks
from rockets.metrics import Metrics
from rockets.pool import PoolClosedError, PoolFullError, WorkerPool
from rockets.projection import RocketQuery
from rockets.records import Record
from rockets.registry import Registry
from rockets.schemas import (
    MAX_MESSAGE_NUMBER,
    Ack,
    AckStatus,
    EventView,
    Health,
    StalledChannel,
    StatePoint,
    StreamedEvent,
)
from rockets.sequencer import Verdict
from rockets.settings import Settings
from rockets.state import RocketState
from rockets.stores import Limits, Store, open_store
from rockets.stream import StreamHub

__all__ = ["IngestAnswer", "RocketService"]

RETRY_AFTER_SECONDS = 1

log = logging.getLogger("rockets")
ingest_log = logging.getLogger("rockets.ingest")


class IngestAnswer(msgspec.Struct, frozen=True):
    """The HTTP answer to one ``POST /messages``: status, JSON body and optional Retry-After."""

    status_code: int
    body: Ack | list[Ack] | ErrorBody
    retry_after: int | None = None


def _summary(record: Record) -> MessageSummary:
    return MessageSummary(message_type=record.message_type, message=msgspec.Raw(record.payload))


class _Refusal(msgspec.Struct, frozen=True):
    """How a message that was not taken is answered: HTTP status, error kind, sentence."""

    status: int
    error: str
    detail: str


_REFUSALS = {
    Verdict.CONFLICT: _Refusal(
        409, "conflict", "this number was already received with a different type or payload"
    ),
    Verdict.CHANNEL_FULL: _Refusal(
        429,
        "pending_full",
        "the channel's pending buffer is full: send the messages that fill its gap first",
    ),
    Verdict.ALL_FULL: _Refusal(429, "pending_full", "the pending buffers are full: retry later"),
    Verdict.NUMBERS_EXHAUSTED: _Refusal(
        400,
        "numbers_exhausted",
        f"the channel has used messageNumber {MAX_MESSAGE_NUMBER}, the largest there is",
    ),
}
_STORE_FAILED = _Refusal(503, "unavailable", "the store failed and kept nothing: send it again")
_SHUTTING_DOWN = _Refusal(503, "unavailable", "the service is shutting down: send it again")
_OVER_CAPACITY = _Refusal(503, "unavailable", "the service is over capacity: send it again")
_INTERNAL = _Refusal(500, "internal", "internal error; see the server log")
# A batch's status is that of its most urgent refusal: what a retry may fix comes first.
_PRECEDENCE = (503, 429, 500, 400, 409)

Answer = Outcome | Exception
"""What became of one message: an outcome, or the exception its worker's group failed with."""


def _refusal(answer: Answer) -> _Refusal | None:
    if isinstance(answer, Outcome):
        verdict = answer.verdict
        # Identity first: hashing an Enum member runs Python code, and this is per message.
        if verdict is Verdict.ACCEPTED or verdict is Verdict.DUPLICATE:
            return None
        return _REFUSALS.get(verdict)
    if isinstance(answer, StoreError):
        return _STORE_FAILED
    if isinstance(answer, PoolClosedError):
        return _SHUTTING_DOWN
    if isinstance(answer, PoolFullError):
        return _OVER_CAPACITY
    return _INTERNAL


def _status(answer: Answer, refusal: _Refusal | None) -> AckStatus:
    """What became of one message, as its acknowledgement and the metrics name it;
    ``refusal`` is ``_refusal(answer)``."""
    if refusal is None:
        assert isinstance(answer, Outcome)
        return "accepted" if answer.verdict is Verdict.ACCEPTED else "duplicate"
    return "conflict" if refusal.error == "conflict" else "rejected"


def _ack(record: Record, answer: Answer, refusal: _Refusal | None, status: AckStatus) -> Ack:
    """The acknowledgement of one message."""
    if isinstance(answer, Outcome):
        record = answer.record  # numbered, if the sender left the number out
    return Ack(
        channel=record.channel,
        message_number=record.message_number,
        status=status,
        detail=None if refusal is None else refusal.detail,
    )


def _single(
    record: Record, answer: Answer, refusal: _Refusal | None, status: AckStatus
) -> IngestAnswer:
    """The answer for a request that held one message."""
    if refusal is None:
        return IngestAnswer(202, _ack(record, answer, None, status))
    if refusal is _INTERNAL:
        assert isinstance(answer, Exception)
        raise answer  # the app's handler logs it and answers 500
    if isinstance(answer, Outcome):
        record = answer.record
    body = ErrorBody(
        status=refusal.status,
        error=refusal.error,
        detail=refusal.detail,
        channel=record.channel,
        message_number=record.message_number or None,
    )
    if isinstance(answer, Outcome) and answer.existing is not None:
        existing = answer.existing
        detail = (
            f"message {record.message_number} of channel {record.channel!r} was already "
            f"received, as {existing.message_type}, with different content; the first one is "
            "kept"
        )
        conflict = ConflictDetail(existing=_summary(existing), received=_summary(record))
        body = msgspec.structs.replace(body, detail=detail, conflict=conflict)
    return IngestAnswer(refusal.status, body, _retry_after(refusal.status))


def _batch(
    records: list[Record],
    answers: list[Answer],
    refusals: list[_Refusal | None],
    statuses: list[AckStatus],
) -> IngestAnswer:
    """The answer for a batch: one acknowledgement per message, in request order."""
    acks = []
    codes = set()
    for record, answer, refusal, status in zip(records, answers, refusals, statuses, strict=True):
        if refusal is _INTERNAL and isinstance(answer, Exception):
            log.error("a batch share failed", exc_info=answer)
        if refusal is not None:
            codes.add(refusal.status)
        acks.append(_ack(record, answer, refusal, status))
    code = next((c for c in _PRECEDENCE if c in codes), 202)
    return IngestAnswer(code, acks, _retry_after(code))


def _retry_after(status: int) -> int | None:
    return RETRY_AFTER_SECONDS if status in (429, 503) else None


class RocketService:
    """One running rockets service.

    Args:
        settings: the configuration.
        registry: the message types, built from the plugins.
        store: the event store; by default the one ``settings.store`` names.
    """

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        store: Store | None = None,
        hooks: PluginHooks | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.hooks = hooks
        self.codec = Codec(registry, settings.max_batch, settings.max_payload_bytes)
        limits = Limits(
            max_pending_per_channel=settings.max_pending_per_channel,
            max_pending_total=settings.max_pending_total,
        )
        self.store = store if store is not None else open_store(settings.store, limits)
        streamed = msgspec.json.Encoder()
        self.hub = StreamHub(
            settings.stream_history,
            lambda record, state: streamed.encode(
                StreamedEvent(channel=record.channel, event=EventView.of(record), state=state)
            ).decode(),
        )
        self.metrics = Metrics()
        listeners: list[Listener] = [self.hub.publish, self.metrics.applied]
        if hooks is not None and hooks.has_listeners:
            listeners.append(hooks.applied)
        self.engine = Engine(
            registry, self.store, listeners, on_commit=self.metrics.commit_seconds.observe
        )
        self.pool: WorkerPool[list[Record], list[Outcome]] = WorkerPool(
            settings.worker_count,
            self.engine.process,
            max_queue=-(-settings.max_queue // settings.worker_count),
        )
        self._started = False
        self._tally: Counter[str] = Counter()
        self._summaries: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the store (which rebuilds what it keeps in memory), start the workers, run the
        plugins' ``startup``. Starting a started service does nothing; a start that fails
        closes what it opened."""
        if self._started:
            return
        recovered = await self.store.open(self.registry)
        try:
            self.pool.start()
            if self.hooks is not None:
                await self.hooks.lifecycle("startup", self, stop_on_error=True)
        except BaseException:
            await self.pool.close()
            await self.store.close()
            raise
        self._started = True
        self._summaries = asyncio.create_task(self._summarize(), name="rockets-log-summary")
        log.info(
            "rockets ready: %s store (%d messages recovered, %d rockets), %d workers, "
            "message types: %s",
            self.store.name,
            recovered,
            await self.store.count(),
            self.pool.size,
            ", ".join(self.registry.names),
        )

    async def stop(self) -> None:
        """Apply everything queued, run the plugins' ``shutdown``, close the store. Stopping a
        service that is not started does nothing."""
        if not self._started:
            return
        self._started = False
        self.hub.close()
        if self._summaries is not None:
            self._summaries.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._summaries
        log.info("rockets stopping: applying %d queued requests", self.pool.queued)
        await self.pool.close()
        if self.hooks is not None:
            await self.hooks.lifecycle("shutdown", self, stop_on_error=False)
        rockets = await self.store.count()
        await self.store.close()
        log.info("rockets stopped: %d rockets", rockets)

    async def ingest(self, body: bytes) -> IngestAnswer:
        """Decode, sequence, apply and store the messages of one request body."""
        try:
            decoded = self.codec.decode(body, datetime.now(UTC))
        except InputError as exc:
            self.metrics.count([("", "invalid")])
            return IngestAnswer(exc.body.status, exc.body)
        records = decoded.records
        if self.hooks is not None and self.hooks.has_validators:
            refusal = self._validate(records, decoded.is_batch)
            if refusal is not None:
                self.metrics.count((r.message_type, "rejected") for r in records)
                return IngestAnswer(refusal.status, refusal)
        answers = await self._dispatch(records)
        refusals = [_refusal(answer) for answer in answers]
        statuses = [_status(a, r) for a, r in zip(answers, refusals, strict=True)]
        self.metrics.count(zip([r.message_type for r in records], statuses, strict=True))
        self._tally.update(statuses)
        if ingest_log.isEnabledFor(logging.DEBUG):
            for record, answer, status in zip(records, answers, statuses, strict=True):
                numbered = answer.record if isinstance(answer, Outcome) else record
                ingest_log.debug(
                    "%s#%d %s: %s",
                    numbered.channel,
                    numbered.message_number,
                    numbered.message_type,
                    status,
                )
        if not decoded.is_batch:
            return _single(records[0], answers[0], refusals[0], statuses[0])
        return _batch(records, answers, refusals, statuses)

    def _validate(self, records: list[Record], is_batch: bool) -> ErrorBody | None:
        """Ask the plugins' validators about every message; the first refusal, if any."""
        assert self.hooks is not None
        for i, record in enumerate(records):
            refused = self.hooks.validate(event_of(self.registry, record))
            if refused is not None:
                plugin, reason = refused
                return ErrorBody(
                    status=422,
                    error="rejected",
                    detail=reason,
                    path=f"$[{i}]" if is_batch else "$",
                    plugin=plugin,
                    channel=record.channel,
                    message_number=record.message_number or None,
                )
        return None

    async def _dispatch(self, records: list[Record]) -> list[Answer]:
        """Hand each worker its share of ``records``; answers come back in request order.

        The shares of a batch are committed by their workers independently: when one fails,
        the others stand, and each message's answer says which happened to it.
        """
        pool = self.pool
        if len(records) == 1:
            # The common case, without the bookkeeping of shares.
            index = pool.index(records[0].channel)
            try:
                (outcome,) = await pool.submit(index, records)
            except Exception as exc:
                return [exc]
            return [outcome]
        shares: dict[int, list[int]] = {}
        for i, record in enumerate(records):
            shares.setdefault(pool.index(record.channel), []).append(i)
        # Submission never awaits, so either every share is queued or none is.
        if not pool.has_room(shares):
            return [PoolFullError("the service is over capacity: retry later")] * len(records)
        try:
            futures = [pool.submit(w, [records[i] for i in idx]) for w, idx in shares.items()]
        except PoolClosedError as exc:
            return [exc] * len(records)
        results = await asyncio.gather(*futures, return_exceptions=True)
        answers: list[Answer | None] = [None] * len(records)
        for idx, result in zip(shares.values(), results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                for i in idx:
                    answers[i] = result
            else:
                for i, outcome in zip(idx, result, strict=True):
                    answers[i] = outcome
        # Every index belongs to exactly one share, so no slot is left empty.
        return cast(list[Answer], answers)

    async def rocket(self, channel: str) -> RocketState:
        """The current state of ``channel``.

        Raises:
            InputError: the channel has received no message (404).
        """
        state = await self.store.rocket(channel)
        if state is None:
            raise InputError(
                ErrorBody(
                    status=404,
                    error="not_found",
                    detail=f"no rocket on channel {channel!r}",
                    channel=channel,
                )
            )
        return state

    async def rocket_at(self, channel: str, number: int) -> RocketState:
        """The state of ``channel`` right after event ``number``, rebuilt by replaying the log.

        Raises:
            InputError: unknown channel, or event ``number`` is not applied yet (404).
        """
        current = await self.rocket(channel)
        if number > current.last_message_number:
            raise InputError(
                ErrorBody(
                    status=404,
                    error="not_found",
                    detail=(
                        f"channel {channel!r} has no event {number} yet "
                        f"(last applied: {current.last_message_number})"
                    ),
                    channel=channel,
                    message_number=number,
                )
            )
        records = await self.store.events(channel, 1, number)
        state = fold(self.registry, channel, records)
        return state.with_backlog(current.pending, current.waiting_since)

    async def events(self, channel: str, start: int, limit: int) -> tuple[int, list[EventView]]:
        """A page of ``channel``'s applied events, and how many events it has in all."""
        total = (await self.rocket(channel)).last_message_number
        records = await self.store.events(channel, start, limit)
        return total, [EventView.of(r) for r in records]

    async def history(self, channel: str, start: int, limit: int) -> list[StatePoint]:
        """The rocket's state after each of its events ``start`` to ``start + limit - 1``,
        rebuilt by replaying the log from the first event."""
        current = await self.rocket(channel)
        last = min(start + limit - 1, current.last_message_number)
        points = []
        state = initial_state(self.registry, channel)
        for record in await self.store.events(channel, 1, last):
            state = apply_record(self.registry, state, record)
            if record.message_number >= start:
                points.append(
                    StatePoint(
                        message_number=record.message_number,
                        message_time=record.message_time,
                        state=state,
                    )
                )
        return points

    async def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        """Filtered, sorted, paged rocket states and the number that matched."""
        return await self.store.rockets(query)

    async def stalled(self, min_seconds: float) -> list[StalledChannel]:
        """Channels whose oldest waiting message has waited at least ``min_seconds``, the
        longest-waiting first."""
        now = datetime.now(UTC)
        found = []
        for state in await self.store.waiting():
            since = state.waiting_since
            if since is None:
                continue
            waited = (now - since).total_seconds()
            if waited >= min_seconds:
                found.append(
                    StalledChannel(
                        channel=state.channel,
                        awaited_number=state.last_message_number + 1,
                        pending=state.pending,
                        waiting_since=since,
                        waiting_seconds=round(waited, 3),
                    )
                )
        return sorted(found, key=lambda s: (s.waiting_since, s.channel))

    async def _summarize(self) -> None:
        """Every ``log_summary_seconds``, one INFO line of what was ingested (none if nothing)."""
        every = self.settings.log_summary_seconds
        while True:
            await asyncio.sleep(every)
            tally, self._tally = self._tally, Counter()
            total = sum(tally.values())
            if total:
                detail = ", ".join(f"{n} {outcome}" for outcome, n in sorted(tally.items()))
                log.info(
                    "ingested %d messages in the last %gs (%.0f/s): %s; %d requests queued",
                    total,
                    every,
                    total / every,
                    detail,
                    self.pool.queued,
                )

    async def refresh_metrics(self) -> None:
        """Bring the gauges up to date (before ``/metrics`` is rendered)."""
        metrics = self.metrics
        for worker, depth in enumerate(self.pool.depths()):
            metrics.queue.labels(str(worker)).set(depth)
        waiting = await self.store.waiting()
        now = datetime.now(UTC)
        ages = [(now - s.waiting_since).total_seconds() for s in waiting if s.waiting_since]
        metrics.waiting.set(len(waiting))
        metrics.pending.set(sum(s.pending for s in waiting))
        metrics.stalled.set(sum(1 for age in ages if age >= self.settings.stall_seconds))
        metrics.oldest_gap.set(max(ages, default=0.0))
        metrics.rockets.set(await self.store.count())
        if self.hooks is not None:
            metrics.listener_failures.set(self.hooks.listener_failures)
        metrics.stream_subscribers.set(self.hub.subscribers)
        metrics.stream_delivered.set(self.hub.delivered)

    async def health(self) -> Health:
        """Whether the service can take messages, and a few vital figures."""
        detail = None
        rockets = None
        try:
            await self.store.ping()
            rockets = await self.store.count()
        except StoreError as exc:
            detail = str(exc)
        return Health(
            status="ok" if detail is None else "unavailable",
            store=self.store.name,
            rockets=rockets,
            workers=self.pool.size,
            queued=self.pool.queued,
            message_types=self.registry.names,
            detail=detail,
        )

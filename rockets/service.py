"""The service behind the HTTP routes: ingest a request body, answer reads.

It owns the pieces of one running app (codec, worker pool, engine, store, projection) and turns
the engine's verdicts into API answers. It knows nothing of HTTP frameworks, so a faster
front end can call it exactly as the Litestar routes do.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import msgspec

from rockets.aggregate import fold
from rockets.codec import Codec
from rockets.engine import Engine, Outcome
from rockets.errors import ConflictDetail, ErrorBody, InputError, MessageSummary, StoreError
from rockets.pool import PoolClosedError, WorkerPool
from rockets.projection import Projection, RocketQuery
from rockets.records import Record
from rockets.registry import Registry
from rockets.schemas import Ack, EventView, Health
from rockets.sequencer import Sequencer, Verdict
from rockets.settings import Settings
from rockets.state import RocketState
from rockets.stores import Store, open_store

__all__ = ["IngestAnswer", "RocketService"]

RETRY_AFTER_SECONDS = 1

log = logging.getLogger("rockets")


class IngestAnswer(msgspec.Struct, frozen=True):
    """The HTTP answer to one ``POST /messages``: status, JSON body and optional Retry-After."""

    status_code: int
    body: Ack | list[Ack] | ErrorBody
    retry_after: int | None = None


def _summary(record: Record) -> MessageSummary:
    return MessageSummary(message_type=record.message_type, message=msgspec.Raw(record.payload))


def _ack(outcome: Outcome) -> Ack:
    record, verdict = outcome.record, outcome.verdict
    if verdict is Verdict.ACCEPTED or verdict is Verdict.DUPLICATE:
        return Ack(
            channel=record.channel, message_number=record.message_number, status=verdict.value
        )
    if verdict is Verdict.CONFLICT:
        return Ack(
            channel=record.channel,
            message_number=record.message_number,
            status="conflict",
            detail="this number was already received with a different type or payload",
        )
    return Ack(
        channel=record.channel,
        message_number=record.message_number,
        status="rejected",
        detail=_full_detail(verdict),
    )


def _full_detail(verdict: Verdict) -> str:
    if verdict is Verdict.CHANNEL_FULL:
        return "the channel's pending buffer is full: send the messages that fill its gap first"
    return "the pending buffers are full: retry later"


def _error(outcome: Outcome) -> IngestAnswer:
    """The error answer for a single message that was not accepted."""
    record, verdict = outcome.record, outcome.verdict
    if verdict is Verdict.CONFLICT:
        assert outcome.existing is not None
        body = ErrorBody(
            status=409,
            error="conflict",
            detail=(
                f"message {record.message_number} of channel {record.channel!r} was already "
                f"received as {outcome.existing.message_type} with another payload; the first "
                f"one is kept"
            ),
            channel=record.channel,
            message_number=record.message_number,
            conflict=ConflictDetail(existing=_summary(outcome.existing), received=_summary(record)),
        )
        return IngestAnswer(409, body)
    body = ErrorBody(
        status=429,
        error="pending_full",
        detail=_full_detail(verdict),
        channel=record.channel,
        message_number=record.message_number,
    )
    return IngestAnswer(429, body, retry_after=RETRY_AFTER_SECONDS)


def _unavailable(detail: str) -> IngestAnswer:
    body = ErrorBody(status=503, error="unavailable", detail=detail)
    return IngestAnswer(503, body, retry_after=RETRY_AFTER_SECONDS)


class RocketService:
    """One running rockets service.

    Args:
        settings: the configuration.
        registry: the message types, built from the plugins.
        store: the event store; by default the one ``settings.store`` names.
    """

    def __init__(self, settings: Settings, registry: Registry, store: Store | None = None) -> None:
        self.settings = settings
        self.registry = registry
        self.codec = Codec(registry, settings.max_batch)
        self.store = store if store is not None else open_store(settings.store)
        self.projection = Projection()
        self.sequencer = Sequencer(settings.max_pending_per_channel, settings.max_pending_total)
        self.engine = Engine(registry, self.store, self.sequencer, self.projection)
        self.pool: WorkerPool[list[Record], list[Outcome]] = WorkerPool(
            settings.worker_count, self.engine.process
        )

    async def start(self) -> None:
        """Open the store, rebuild state from it, then start the workers."""
        await self.store.open()
        recovered = await self.engine.recover()
        self.pool.start()
        log.info(
            "rockets ready: %s store (%d messages recovered, %d rockets), %d workers, "
            "message types: %s",
            self.store.name,
            recovered,
            len(self.projection),
            self.pool.size,
            ", ".join(self.registry.names),
        )

    async def stop(self) -> None:
        """Apply everything queued, then close the store."""
        log.info("rockets stopping: applying %d queued requests", self.pool.queued)
        await self.pool.close()
        await self.store.close()
        log.info("rockets stopped: %d rockets", len(self.projection))

    async def ingest(self, body: bytes) -> IngestAnswer:
        """Decode, sequence, apply and store the messages of one request body."""
        try:
            decoded = self.codec.decode(body, datetime.now(UTC))
        except InputError as exc:
            return IngestAnswer(exc.body.status, exc.body)
        try:
            outcomes = await self._dispatch(decoded.records)
        except PoolClosedError as exc:
            return _unavailable(str(exc))
        except StoreError as exc:
            return _unavailable(f"the store failed; nothing of this request was kept: {exc}")
        if not decoded.is_batch:
            outcome = outcomes[0]
            if outcome.verdict is Verdict.ACCEPTED or outcome.verdict is Verdict.DUPLICATE:
                return IngestAnswer(202, _ack(outcome))
            return _error(outcome)
        acks = [_ack(outcome) for outcome in outcomes]
        statuses = {ack.status for ack in acks}
        if "rejected" in statuses:
            return IngestAnswer(429, acks, retry_after=RETRY_AFTER_SECONDS)
        return IngestAnswer(409 if "conflict" in statuses else 202, acks)

    async def _dispatch(self, records: list[Record]) -> list[Outcome]:
        pool = self.pool
        if len(records) == 1:
            (outcome,) = await pool.submit(pool.index(records[0].channel), records)
            return [outcome]
        # Each worker gets its share of the batch in request order; answers are put back in it.
        shares: dict[int, list[int]] = {}
        for i, record in enumerate(records):
            shares.setdefault(pool.index(record.channel), []).append(i)
        futures = [pool.submit(w, [records[i] for i in idx]) for w, idx in shares.items()]
        answers = await asyncio.gather(*futures)
        outcomes: list[Outcome | None] = [None] * len(records)
        for idx, answer in zip(shares.values(), answers, strict=True):
            for i, outcome in zip(idx, answer, strict=True):
                outcomes[i] = outcome
        return outcomes  # type: ignore[return-value]

    def rocket(self, channel: str) -> RocketState:
        """The current state of ``channel``.

        Raises:
            InputError: the channel has received no message (404).
        """
        state = self.projection.get(channel)
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
        current = self.rocket(channel)
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
        return msgspec.structs.replace(state, pending=current.pending)

    async def events(self, channel: str, start: int, limit: int) -> tuple[int, list[EventView]]:
        """A page of ``channel``'s applied events, and how many events it has in all."""
        total = self.rocket(channel).last_message_number
        records = await self.store.events(channel, start, limit)
        return total, [
            EventView(
                message_number=r.message_number,
                message_type=r.message_type,
                message_time=r.message_time,
                received_at=r.received_at,
                message=msgspec.Raw(r.payload),
            )
            for r in records
        ]

    def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        """Filtered, sorted, paged rocket states and the number that matched."""
        return self.projection.query(query)

    async def health(self) -> Health:
        """Whether the service can take messages, and a few vital figures."""
        detail = None
        try:
            await self.store.ping()
        except StoreError as exc:
            detail = str(exc)
        return Health(
            status="ok" if detail is None else "unavailable",
            store=self.store.name,
            rockets=len(self.projection),
            workers=self.pool.size,
            queued=self.pool.queued,
            message_types=self.registry.names,
            detail=detail,
        )

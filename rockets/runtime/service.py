"""The service behind the edge: its lifecycle, the ingest of a request body, and the reads.

It is handed its collaborators (codec, store, worker pool, stream hub, metrics, plugins) by the
composition root (:func:`rockets.app.build_service`) and knows nothing of HTTP frameworks. What
plugins see of it is :class:`ServiceView`, never the service itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from msgspec import UNSET

from rockets.core.aggregate import apply_record, apply_records, event_of, initial_state, shown
from rockets.core.codec import Codec
from rockets.core.registry import Registry
from rockets.core.sequencer import Verdict
from rockets.errors import (
    EventNotAppliedError,
    InputError,
    PluginError,
    PoolClosedError,
    PoolFullError,
    StoreError,
    UnknownChannelError,
    UnknownProjectionError,
    ValidatorRefusedError,
)
from rockets.records import Applied, Record
from rockets.runtime.engine import Engine, Outcome
from rockets.runtime.faults import Fault, Faults
from rockets.runtime.hooks import PluginHooks
from rockets.runtime.listeners import Listeners
from rockets.runtime.metrics import Metrics
from rockets.runtime.pool import WorkerPool
from rockets.runtime.projection_runner import ProjectionRunner
from rockets.runtime.projections import (
    READ_WAIT,
    Projections,
    RunningProjection,
    Snapshot,
    Unservable,
)
from rockets.runtime.stream_hub import StreamHub
from rockets.runtime.summary import IngestSummary
from rockets.runtime.supervisor import Beat, Supervisor
from rockets.settings import Settings, unknown_variables
from rockets.state import RocketState
from rockets.stores import Store
from rockets.wire import (
    AckStatus,
    EventView,
    Health,
    RocketQuery,
    StalledChannel,
    StatePoint,
    Stopped,
)
from rockets.words import counted

__all__ = [
    "FOLLOWER",
    "RUNNER",
    "SUMMARY",
    "Fate",
    "Ingested",
    "RocketService",
    "ServiceView",
    "status_of",
    "stopped",
]

REPLAY_SLICE = 1000
"""Events replayed between two turns of the event loop (``?at=N``, ``/history``)."""
WARNED_KEPT = 4096
"""Distinct warnings remembered so as to be logged once."""
CATCH_UP_REPORT = 100_000
"""Events between two log lines of a projection catching up at start."""
FOLLOWER = "the log follower"
"""The supervised task that feeds the stream and the projection runner from the store's log."""
RUNNER = "the projection runner"
"""The supervised task that feeds the projections, in a thread of their own."""
SUMMARY = "the log summary"
"""The supervised task that logs the ingestion summary."""

log = logging.getLogger("rockets")
ingest_log = logging.getLogger("rockets.ingest")

Fate = Outcome | Exception
"""What became of one message: its outcome, or the exception its worker's group failed with (a
store that failed, a pool shutting down or full, a bug)."""


def stopped(fault: Fault) -> Stopped:
    """A fault as the API shows what stopped (``/health``, ``/plugins``)."""
    return Stopped(
        what=fault.key,
        plugin=fault.plugin,
        error=fault.error,
        event=fault.event,
        since=fault.since,
    )


def status_of(fate: Fate) -> AckStatus:
    """What became of one message, in a word: as its acknowledgement, the metrics and the
    summary name it."""
    if isinstance(fate, Outcome):
        verdict = fate.verdict
        # Identity first: hashing an Enum member runs Python code, and this is per message.
        if verdict is Verdict.ACCEPTED:
            return "accepted"
        if verdict is Verdict.DUPLICATE:
            return "duplicate"
        if verdict is Verdict.CONFLICT:
            return "conflict"
        if verdict is Verdict.SET_ASIDE:
            return "setAside"
    return "rejected"


class Ingested(NamedTuple):
    """What became of the messages of one request body, in request order."""

    records: list[Record]
    """The messages as decoded (numbered as the sender numbered them)."""
    fates: list[Fate]
    """What became of each (an outcome holds the record as numbered by the service)."""
    statuses: list[AckStatus]
    """Each one's fate in a word."""
    is_batch: bool
    """Whether the body was an array (a batch), even of one message."""

    @property
    def all_taken(self) -> bool:
        """Whether every message was taken: accepted (set aside included: kept, not applied),
        or a duplicate of one that was."""
        return all(s == "accepted" or s == "duplicate" or s == "setAside" for s in self.statuses)


class RocketService:
    """One running rockets service.

    Args:
        settings: the configuration.
        registry: the message types and the state type.
        codec: decodes request bodies for ``registry``.
        store: the event store (not yet open).
        pool: the worker pool whose handler is the engine (not yet started).
        hub: the live stream's hub, fed by the log's follower.
        metrics: the figures the engine and the edge report into.
        hooks: the plugins' hooks.
        projections: the plugins' projections, fed from the log's follower by the projection
            runner, in a thread of their own.
        faults: where what stopped is told (a new one when omitted).
        listeners: the plugins' listeners, called in a thread of their own (None: the engine
            calls none).
        engine: the write path behind ``pool``: it folds what a store reads back at start
            (setting aside what a plugin cannot apply) and tries set-aside messages again.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        registry: Registry,
        codec: Codec,
        store: Store,
        pool: WorkerPool[list[Record], list[Outcome]],
        hub: StreamHub,
        metrics: Metrics,
        hooks: PluginHooks,
        projections: Projections,
        faults: Faults | None = None,
        engine: Engine | None = None,
        listeners: Listeners | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.codec = codec
        self.store = store
        self.pool = pool
        self.hub = hub
        self.metrics = metrics
        self.hooks = hooks
        self.projections = projections
        self.faults = faults if faults is not None else Faults()
        self.engine = engine
        self.listeners = listeners
        self.supervisor = Supervisor(self.faults)
        """Keeps the background tasks running (:data:`FOLLOWER`, :data:`RUNNER`,
        :data:`SUMMARY`)."""
        self.runner = ProjectionRunner(projections, store, self.faults)
        self.view = ServiceView(self)
        self._followed = 0
        self._followed_changed = asyncio.Event()
        self._batches: AsyncIterator[list[Applied]] | None = None
        self._unfollowed: list[Applied] | None = None
        self.summary = IngestSummary(settings.log_summary_seconds, lambda: pool.queued)
        self._started = False
        self._warned: set[str] = set()
        self._bodies_bytes = 0
        """Bytes of the request bodies being worked on (see :meth:`ingest`)."""

    async def start(self) -> None:
        """Open the store (which rebuilds what it keeps in memory), start the workers, run the
        plugins' ``startup``. Starting a started service does nothing; a start that fails
        closes what it opened."""
        if self._started:
            return
        # A misspelt variable is said before a setting it failed to change can stop the start.
        for warning in (*unknown_variables(), *self.hooks.manager.warnings):
            log.warning("%s", warning)
        recovered = await self.open_store()
        try:
            await self.projections.restore(self.store)
            # Before the log's position is taken: what it applies, the projections catch up on.
            await self._resume_set_aside()
            position = await self.store.position()
            if self.projections and self.store.keeps_states:
                # A store that rebuilds its states replayed its log to the projections already.
                await self._catch_up(position)
            self.hub.start_at(position)
            self._followed = position
            self._followed_changed = asyncio.Event()  # of the event loop that serves
            if self.projections:
                self.runner.start(position)
                self.supervisor.start(RUNNER, self.runner.run)
            self.supervisor.start(FOLLOWER, self._follow)
            if self.listeners is not None:
                self.listeners.start()
            self.pool.start()
            await self.hooks.startup(self.view)
        except BaseException:
            await self.pool.close()
            await self._stop_following()
            await self.store.close()
            raise
        self._started = True
        self.supervisor.start(SUMMARY, lambda _: self.summary.run())
        # "started", not "ready": under `litestar run` the server binds its address after this
        # (uvicorn's "Uvicorn running on" line says when it listens).
        log.info(
            "rockets started: %s store (%s recovered, %s), %s, message types: %s",
            self.store.name,
            counted(recovered, "message"),
            counted(await self.store.count(), "rocket"),
            counted(self.pool.size, "worker"),
            ", ".join(self.registry.names),
        )

    async def open_store(self) -> int:
        """Open the store, which rebuilds what it keeps in memory by folding events with this
        app's plugins (the projections hear them); how many messages it read back."""
        registry = self.registry
        engine = self.engine
        fold = functools.partial(apply_records, registry) if engine is None else engine.fold
        replay = self._replayed if self.projections else None
        return await self.store.open(registry.state, fold, replay)

    async def _resume_set_aside(self) -> None:
        """Try once more, before serving, the messages set aside on a store whose states are
        kept (no start refolds them, as memory and SQLite do): a plugin fixed since applies
        them, and their channels go on without waiting for a message of theirs."""
        engine = self.engine
        if engine is None or not self.store.keeps_states:
            return
        # Waited forever, none has: those listed wait at a message set aside.
        _, held = await self.store.stalled(math.inf)
        channels = [w.state.channel for w in held if w.state.set_aside is not UNSET]
        if not channels:
            return
        try:
            resumed = await engine.resume(channels)
        except StoreError as exc:
            log.warning("set-aside messages not tried again at start: %s", exc)
            return
        log.info(
            "set-aside messages tried again at start: %d of %s went on",
            resumed,
            counted(len(channels), "channel"),
        )

    def _replayed(self, events: Sequence[Applied]) -> None:
        """The projections hear what the store reads back as it opens (before serving)."""
        for stop in self.projections.take(events):
            stop.tell(self.faults)

    async def _follow(self, beat: Beat) -> None:
        """Feed the stream and the projection runner every event of the log, in position
        order: this process's and, on a store several processes share, every other's. Nothing
        an event holds stops the follower (a projection that cannot take it is stopped alone,
        by the runner); should the follower itself fail, its supervisor starts it again, and it
        goes on from where it was, the batch it failed on first."""
        if self._unfollowed is not None:
            self._hand_on(self._unfollowed)
            beat()
        if self._batches is None:
            self._batches = self.store.follow(self._followed)
        batches = self._batches
        while True:
            try:
                batch = await anext(batches)
            except StopAsyncIteration:
                self._batches = None
                return
            except BaseException:
                self._batches = None  # ended by what it raised: a new one, from where it was
                raise
            self._unfollowed = batch
            self._hand_on(batch)
            beat()

    def _hand_on(self, batch: list[Applied]) -> None:
        """One batch of the log to the stream and the projection runner (neither waits)."""
        self.hub.publish(batch)
        if self.projections:
            self.runner.offer(batch)
        self._unfollowed = None
        self._followed = batch[-1].position
        self._followed_changed.set()

    async def _catch_up(self, target: int) -> None:
        """Bring the projections kept behind the log (PostgreSQL keeps them, and a new version
        of one starts from the first event) up to ``target`` before the service is ready, so
        that the stream is live from the start and no projection is served half built."""
        projections = self.projections
        start = projections.lowest
        if start is None or start >= target:
            return
        log.info("projections: catching up with %s", counted(target - start, "event"))
        reported = start
        batches = self.store.follow(start)
        try:
            async for batch in batches:
                for stop in projections.take(batch):
                    stop.tell(self.faults)
                reached = batch[-1].position
                if reached - reported >= CATCH_UP_REPORT or reached >= target:
                    log.info("projections: at position %d of %d", min(reached, target), target)
                    reported = reached
                lowest = projections.lowest
                if reached >= target or lowest is None or lowest >= target:
                    break
        finally:
            close = getattr(batches, "aclose", None)
            if close is not None:
                await close()
        kept, stops = projections.due(every=1)
        for stop in stops:
            stop.tell(self.faults)
        await projections.keep(self.store, kept)

    async def _stop_following(self) -> None:
        """Let the follower catch up with what this process stored, then stop it, the
        projection runner (keeping the projections' values where the store keeps them) and
        the listeners (once they have heard what was committed). Each wait is bounded by the
        store timeout; whatever state they are in, this never fails."""
        wait = self.settings.store_timeout
        if self.supervisor.running(FOLLOWER):
            try:
                async with asyncio.timeout(wait):
                    target = await self.store.position()
                    while self._followed < target and self.supervisor.running(FOLLOWER):
                        self._followed_changed.clear()
                        await self._followed_changed.wait()
            except (TimeoutError, StoreError):
                log.warning(
                    "the log's last events reached the stream and the projections only in part"
                )
        self.runner.halt()
        await self.supervisor.stop(FOLLOWER, RUNNER)
        batches, self._batches = self._batches, None
        close = getattr(batches, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
        if self.projections:
            await self.runner.close(wait)
        listeners = self.listeners
        if listeners is not None:
            if not await listeners.drain(wait):
                log.warning(
                    "the listeners had not heard every event within %g s; they stop now", wait
                )
            listeners.close()

    async def stop(self) -> None:
        """Apply everything queued, run the plugins' ``shutdown``, close the store. Stopping a
        service that is not started does nothing."""
        if not self._started:
            return
        self._started = False
        self.hub.close()
        await self.supervisor.stop(SUMMARY)
        await self.summary.stop()
        log.info("rockets stopping: applying %s", counted(self.pool.queued, "queued request"))
        await self.pool.close()
        await self._stop_following()
        await self.hooks.shutdown(self.view)
        await self.supervisor.stop()
        try:
            rockets = await self.store.count()
        except StoreError as exc:
            # A store that is down must not keep the service from closing it.
            await self.store.close()
            log.warning("rockets stopped; the store did not answer: %s", exc)
            return
        await self.store.close()
        log.info("rockets stopped: %s", counted(rockets, "rocket"))

    async def ingest(self, body: bytes) -> Ingested:
        """Decode, validate, sequence, apply and store the messages of one request body, and
        say what became of each.

        A body is refused (each of its messages failed with :class:`PoolFullError`) when with
        it the bodies being worked on would hold more than ``max_queue_bytes``: a queued body
        holds its decoded messages too, several times its size, and the pool's queue bounds
        requests, not bytes.

        Raises:
            InputError: the body is no valid request (nothing of it was taken).
            ValidatorRefusedError: a plugin's validator refused one of its messages (nothing of it
                was taken).
        """
        try:
            decoded = self.codec.decode(body, datetime.now(UTC))
        except InputError as exc:
            self.metrics.count([("", "invalid")])
            self.refused(exc.body.error)
            raise
        records = decoded.records
        if self.hooks.has_validators:
            try:
                self._validate(records, decoded.is_batch)
            except ValidatorRefusedError:
                self.metrics.count((r.message_type, "rejected") for r in records)
                self.refused("rejected")
                raise
        size = len(body)
        if self._bodies_bytes + size > self.settings.max_queue_bytes:
            full = PoolFullError(
                "the service is over capacity: the request bodies being worked on would hold "
                "more than ROCKETS_MAX_QUEUE_BYTES; retry later"
            )
            fates: list[Fate] = [full] * len(records)
        else:
            self._bodies_bytes += size
            try:
                fates = await self._dispatch(records)
            finally:
                self._bodies_bytes -= size
        statuses = [status_of(fate) for fate in fates]
        self.metrics.count_records(records, statuses)
        self.summary.count(statuses)
        if ingest_log.isEnabledFor(logging.DEBUG):
            for record, fate, status in zip(records, fates, statuses, strict=True):
                numbered = fate.record if isinstance(fate, Outcome) else record
                ingest_log.debug(
                    "%s#%d %s: %s",
                    numbered.channel,
                    numbered.message_number,
                    numbered.message_type,
                    status,
                )
        return Ingested(records, fates, statuses, decoded.is_batch)

    def refused(self, kind: str) -> None:
        """Count a ``POST /messages`` refused whole, before any of its messages was taken (by
        the edge, the codec or a plugin's validator), for the summary; ``kind`` is the error's
        kind as the client is told it."""
        self.summary.refused(kind)

    def _validate(self, records: list[Record], is_batch: bool) -> None:
        """Ask the plugins' validators about every message.

        Raises:
            ValidatorRefusedError: the first refusal.
        """
        for i, record in enumerate(records):
            refused = self.hooks.validate(event_of(self.registry, record))
            if refused is not None:
                plugin, reason = refused
                raise ValidatorRefusedError(
                    plugin,
                    reason,
                    record.channel,
                    record.message_number or None,
                    f"$[{i}]" if is_batch else "$",
                )

    async def _dispatch(self, records: list[Record]) -> list[Fate]:
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
        answers: list[Fate | None] = [None] * len(records)
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
        return cast(list[Fate], answers)

    def _warn_once(self, text: str) -> None:
        """Log ``text`` as a WARNING the first time it comes (a few thousand are remembered):
        a read asked again and again must not flood the log."""
        if text in self._warned:
            return
        if len(self._warned) < WARNED_KEPT:
            self._warned.add(text)
        log.warning("%s", text)

    async def rocket(self, channel: str) -> RocketState:
        """The current state of ``channel``.

        Raises:
            UnknownChannelError: the channel has received no message.
        """
        state = await self.store.rocket(channel)
        if state is None:
            raise UnknownChannelError(channel)
        return state

    async def rocket_at(self, channel: str, number: int) -> RocketState:
        """The state of ``channel`` right after event ``number``, rebuilt by replaying the log
        from the nearest state the store keeps.

        Raises:
            UnknownChannelError: the channel has received no message.
            EventNotAppliedError: event ``number`` is not applied yet.
        """
        current = await self.rocket(channel)
        if number > current.last_message_number:
            raise EventNotAppliedError(channel, number, current.last_message_number)
        at, kept = await self._kept(channel, number)
        state = kept
        async for _, state in self._replay(kept, at + 1, number):  # noqa: B007 - the last counts
            pass
        return state.with_backlog(current.pending, current.waiting_since)

    async def events(self, channel: str, start: int, limit: int) -> tuple[int, list[EventView]]:
        """A page of ``channel``'s applied events, and how many events it has in all."""
        total = (await self.rocket(channel)).last_message_number
        records = await self.store.events(channel, start, limit)
        return total, [EventView.of(self.shown(record)) for record in records]

    def shown(self, record: Record) -> Record:
        """``record`` as the API shows it (see :func:`rockets.core.aggregate.shown`); one this
        process cannot read is shown as stored, and said once in the log."""
        record, unreadable = shown(self.registry, record)
        if unreadable is not None:
            self._warn_once(f"{unreadable}; shown as stored")
        return record

    async def history(self, channel: str, start: int, limit: int) -> list[StatePoint]:
        """The rocket's state after each of its events ``start`` to ``start + limit - 1``,
        rebuilt by replaying the log from the nearest state the store keeps before them."""
        current = await self.rocket(channel)
        last = min(start + limit - 1, current.last_message_number)
        points = []
        at, kept = await self._kept(channel, start - 1)
        async for record, state in self._replay(kept, at + 1, last):
            if record.message_number >= start:
                points.append(
                    StatePoint(
                        message_number=record.message_number,
                        message_time=record.message_time,
                        state=state,
                    )
                )
        return points

    async def _kept(self, channel: str, number: int) -> tuple[int, RocketState]:
        """The nearest state the store keeps of ``channel`` at or before event ``number``, and
        the event it is the state right after (0: the state before the first), without the
        bookkeeping it was kept with."""
        initial = initial_state(self.registry, channel)
        kept = await self.store.kept_state(channel, number) if number > 0 else None
        if kept is None:
            return 0, initial
        at, state = kept
        return at, state.with_bookkeeping(initial)

    async def _replay(
        self, state: RocketState, start: int, last: int
    ) -> AsyncIterator[tuple[Record, RocketState]]:
        """Each of the channel's events ``start`` to ``last`` with the state right after it,
        folded onto ``state`` (the state right before ``start``), read from the log a slice at
        a time: other requests run between two slices, so a long replay never holds the event
        loop (nor loads the whole log at once)."""
        channel = state.channel
        while start <= last:
            records = await self.store.events(channel, start, min(REPLAY_SLICE, last - start + 1))
            if not records:
                return
            for record in records:
                state = apply_record(self.registry, state, record)
                yield record, state
            start += len(records)
            await asyncio.sleep(0)

    async def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        """Filtered, sorted, paged rocket states and the number that matched."""
        return await self.store.rockets(query)

    async def stalled(
        self, min_seconds: float, limit: int | None = None, offset: int = 0
    ) -> tuple[int, list[StalledChannel]]:
        """Channels whose oldest waiting message has waited at least ``min_seconds``, and
        those waiting at a message set aside however short a time (time alone will not move
        them), the longest-waiting first: how many, and the page ``limit``/``offset`` asks
        for. Waits are measured on a clock that does not step; ``waitingSince`` is the wall
        clock's time the oldest was received."""
        total, waiting = await self.store.stalled(min_seconds, limit, offset)
        return total, [
            StalledChannel(
                channel=state.channel,
                awaited_number=state.last_message_number + 1,
                pending=state.pending,
                waiting_since=state.waiting_since,
                waiting_seconds=round(max(0.0, found.seconds), 3),
                set_aside=state.set_aside,
            )
            for found in waiting
            if (state := found.state).waiting_since is not None
        ]

    def projection(self, name: str) -> Any:
        """A projection's value as the API serves it, decoded: a copy of the caller's own (for
        plugins, through their view). Its ``serve`` may run here, in the caller's thread.

        Raises:
            UnknownProjectionError: no projection has that name.
            PluginError: its value cannot be served (its ``serve`` raised): it is stopped.
            TimeoutError: its code held the value longer than a second.
        """
        running = self._projection(name)
        snapshot = running.current()
        if snapshot is None:
            snapshot = self._served(running.read(READ_WAIT))
        return running.served_value(snapshot)

    async def projection_snapshot(self, name: str) -> Snapshot:
        """What ``GET /projections/{name}`` answers: the value as served, encoded, and the log
        position it is the value of. Its ``serve`` runs in a thread of its own when the value
        moved since the last read, never on the event loop.

        Raises:
            UnknownProjectionError: no projection has that name.
            PluginError: its value cannot be served (its ``serve`` raised, or what it returned
                does not encode): it is stopped, and the error says so.
            TimeoutError: its code held the value longer than a second (it is busy, or hangs).
        """
        running = self._projection(name)
        snapshot = running.current()
        if snapshot is not None:
            return snapshot
        reader = self.runner.reader
        if not reader.running:  # a service that is not started: nothing else touches it
            return self._served(running.read(READ_WAIT))
        try:
            async with asyncio.timeout(READ_WAIT):
                read = await reader.call(running.read, READ_WAIT)
        except TimeoutError:
            raise TimeoutError(
                f"projection {name!r} did not answer within {READ_WAIT:g} s: its plugin's code "
                "is busy (retry later)"
            ) from None
        return self._served(read)

    def _projection(self, name: str) -> RunningProjection:
        running = self.projections.get(name)
        if running is None:
            raise UnknownProjectionError(name, list(self.projections.running))
        return running

    def _served(self, read: Snapshot | Unservable) -> Snapshot:
        if isinstance(read, Snapshot):
            return read
        if read.stop is not None:
            read.stop.tell(self.faults)
        raise PluginError(read.error)

    async def metrics_text(self) -> bytes:
        """The metrics, brought up to date, in Prometheus' text format."""
        metrics = self.metrics
        metrics.set_queues(self.pool.depths())
        metrics.set_backlog(await self.store.backlog(self.settings.stall_seconds))
        metrics.rockets.set(await self.store.count())
        metrics.listener_failures.set(self.hooks.listener_failures)
        metrics.stream_subscribers.set(self.hub.subscribers)
        metrics.stream_delivered.set(self.hub.delivered)
        # Read from what the service keeps: no plugin code runs for a scrape.
        metrics.plugin_faults = self.faults.counts
        if self.listeners is not None:
            metrics.listener_events_dropped = self.listeners.dropped
        if self.projections:
            log_position = await self.store.position()
            for name, running in self.projections.running.items():
                metrics.projection_position.labels(name).set(running.position)
                metrics.projection_stopped.labels(name).set(not running.running)
                metrics.projection_lag.labels(name).set(max(0, log_position - running.position))
        return metrics.render()

    async def health(self) -> Health:
        """Whether the service takes messages with everything running (``ok``), takes them
        with something it does not need stopped (``degraded``: a projection, a listener, the
        follower…, each in ``stopped``), or cannot take them (``unavailable``: the store does
        not answer, or something ingestion needs stopped); and a few vital figures. Calls no
        plugin code."""
        detail = failing = None
        rockets = None
        try:
            await self.store.ping()
            rockets = await self.store.count()
        except StoreError as exc:
            detail, failing = str(exc), self.store.name
        faults = self.faults.open
        if detail is None:
            blocking = next((fault for fault in faults if fault.ingest), None)
            if blocking is not None:
                detail, failing = f"{blocking.key} stopped: {blocking.error}", blocking.key
        return Health(
            status="unavailable" if detail is not None else "degraded" if faults else "ok",
            store=self.store.name,
            rockets=rockets,
            workers=self.pool.size,
            queued=self.pool.queued,
            message_types=self.registry.names,
            detail=detail,
            failing=failing,
            stopped=[stopped(fault) for fault in faults],
        )


class ServiceView:
    """The read-only view of a service that plugins get (a :class:`rockets.RocketsView`)."""

    __slots__ = ("_service",)

    def __init__(self, service: RocketService) -> None:
        self._service = service

    @property
    def registry(self) -> Registry:
        return self._service.registry

    async def rocket(self, channel: str) -> RocketState:
        return await self._service.rocket(channel)

    async def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        return await self._service.rockets(query)

    async def events(self, channel: str, start: int, limit: int) -> tuple[int, list[EventView]]:
        return await self._service.events(channel, start, limit)

    async def health(self) -> Health:
        return await self._service.health()

    def projection(self, name: str) -> Any:
        return self._service.projection(name)

"""The projection runner: the projections fed off the request path, in a thread of their own.

The log's follower hands the runner every batch of events it reads (:meth:`ProjectionRunner.
offer`, which never waits); the runner feeds them to the projections in its thread, a batch at
a time, and has the values kept (PostgreSQL) every :data:`~rockets.runtime.projections.
SAVE_EVERY` events. A slow projection makes the projections lag — ``X-Position`` says where they
are, ``rockets_projection_lag_events`` how far behind the log — while ingestion, the stream
and reads go on at their own speed.

What waits for the runner is bounded, by events and by bytes (:data:`MAX_WAITING_EVENTS`,
:data:`MAX_WAITING_BYTES`). Projections so far behind cannot be fed what does not fit (the
single-process stores cannot read their log again from a position), so they are stopped where
it began, and told: a restart rebuilds them (from the log, or from the kept value on
PostgreSQL).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading

from rockets.errors import StoreError
from rockets.records import Applied
from rockets.runtime.faults import Faults
from rockets.runtime.plugin_thread import PluginThread
from rockets.runtime.projections import SAVE_EVERY, Projections, Stop
from rockets.runtime.supervisor import Beat
from rockets.stores import Store

__all__ = ["EVENT_BYTES", "MAX_WAITING_BYTES", "MAX_WAITING_EVENTS", "ProjectionRunner"]

log = logging.getLogger("rockets.projections")

MAX_WAITING_EVENTS = 100_000
"""Events that may wait for the projections."""
MAX_WAITING_BYTES = 64 * 2**20
"""Bytes that may wait for the projections (each event counted as its payload's size plus
:data:`EVENT_BYTES`)."""
EVENT_BYTES = 512
"""What an event waiting in memory costs beyond its payload (its record, its state), about."""


class ProjectionRunner:
    """Feeds one app's projections from the log, in a thread of their own.

    Args:
        projections: the app's projections.
        store: where their values are kept.
        faults: where a projection that stops is told.
        save_every: events between two keepings of a value.
        max_events: events that may wait for the runner.
        max_bytes: bytes that may wait for the runner.
    """

    def __init__(
        self,
        projections: Projections,
        store: Store,
        faults: Faults,
        *,
        save_every: int = SAVE_EVERY,
        max_events: int = MAX_WAITING_EVENTS,
        max_bytes: int = MAX_WAITING_BYTES,
    ) -> None:
        self.projections = projections
        self.store = store
        self.faults = faults
        self.save_every = save_every
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.thread = PluginThread("rockets-projections")
        """Where the projections' ``apply`` (and their values' encoding) runs."""
        self.reader = PluginThread("rockets-projection-reads")
        """Where reads call the projections' ``serve`` (see ``RunningProjection.read``)."""
        self.waiting_events = 0
        self.waiting_bytes = 0
        self._inbox: collections.deque[tuple[list[Applied], int]] = collections.deque()
        self._offered = 0
        self._behind_at: int | None = None
        self._arrived = asyncio.Event()
        self._halt = threading.Event()

    def start(self, position: int) -> None:
        """Take the events after ``position`` from now on (inside the running event loop)."""
        self._offered = position
        self._arrived = asyncio.Event()
        self._halt.clear()
        self.thread.start()
        self.reader.start()

    def offer(self, batch: list[Applied]) -> None:
        """Hand the runner events read from the log, in position order; never waits. Events it
        was offered already are skipped."""
        if self._behind_at is not None or not batch or self.projections.lowest is None:
            return
        if batch[0].position <= self._offered:
            batch = [applied for applied in batch if applied.position > self._offered]
            if not batch:
                return
        size = sum(len(applied.record.payload) for applied in batch) + EVENT_BYTES * len(batch)
        if (
            self.waiting_events + len(batch) > self.max_events
            or self.waiting_bytes + size > self.max_bytes
        ):
            # Told once the events that did fit are taken in: the projections stop there.
            self._behind_at = batch[0].position
            self._arrived.set()
            return
        self._inbox.append((batch, size))
        self.waiting_events += len(batch)
        self.waiting_bytes += size
        self._offered = batch[-1].position
        self._arrived.set()

    async def run(self, beat: Beat) -> None:
        """Feed the projections what they are offered, until cancelled (supervised: a batch
        that was not wholly taken is taken again, from where each projection stands)."""
        projections = self.projections
        while True:
            if not self._inbox:
                if self._behind_at is not None:
                    await self._fell_behind(self._behind_at)
                self._arrived.clear()
                await self._arrived.wait()
                continue
            batch, size = self._inbox[0]
            self._tell(await self.thread.call(projections.take, batch, self._halt))
            if self._halt.is_set():
                return
            kept, stops = await self.thread.call(projections.due, self.save_every)
            self._tell(stops)
            try:
                await projections.keep(self.store, kept)
            except StoreError as exc:
                log.warning("projections not kept this time: %s", exc)
            self._inbox.popleft()
            self.waiting_events -= len(batch)
            self.waiting_bytes -= size
            beat()

    def halt(self) -> None:
        """Stop feeding the projections before their next event (at shutdown)."""
        self._halt.set()

    async def close(self, wait: float) -> None:
        """Once :meth:`run` is stopped: wait up to ``wait`` seconds for the event being taken,
        keep every value (where the store keeps them), end the threads. Never raises."""
        self.halt()
        if not self.thread.running:
            return
        try:
            if not await self.thread.idle(wait):
                log.warning(
                    "projections not kept at shutdown: a projection's code did not return "
                    "within %g s",
                    wait,
                )
                return
            kept, stops = await self.thread.call(self.projections.due, 1)
            self._tell(stops)
            await self.projections.keep(self.store, kept)
        except StoreError as exc:
            log.warning("projections not kept at shutdown: %s", exc)
        finally:
            self.thread.close()
            self.reader.close()
            self._inbox.clear()
            self.waiting_events = self.waiting_bytes = 0

    async def _fell_behind(self, position: int) -> None:
        error = RuntimeError(
            f"the projections fell more than {self.max_events:,} events or "
            f"{self.max_bytes // 2**20} MiB behind the log, and the events from position "
            f"{position} on could not wait for them; a restart rebuilds them"
        )
        self._tell(await self.thread.call(self.projections.stop_all, position, error))

    def _tell(self, stops: list[Stop]) -> None:
        for stop in stops:
            stop.tell(self.faults)

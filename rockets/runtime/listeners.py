"""The plugins' ``event_applied`` listeners, called off the request path, in a thread of their own.

The engine hands every committed group's events to :meth:`Listeners.offer` (which never waits)
and answers the request; a thread calls the listeners with them, in commit order. A slow
listener makes the listeners lag, never ingestion. A listener that raises is stopped (not
called again until the server restarts) and told once through the faults (``listener of
'plugin'``, the event it failed on), so that ``/health`` answers ``degraded`` naming it; the
other listeners go on.

What waits for the thread is bounded, by events and by bytes (:data:`MAX_WAITING_EVENTS`,
:data:`MAX_WAITING_BYTES`): when the listeners are that far behind, further events are dropped
for them, counted (``rockets_listener_events_dropped_total``) and said in one WARNING naming
the listeners. A listener hears only the events this process commits, so it cannot read back
what it missed; one that must not miss any should follow the log instead (a projection).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import threading

from rockets.core.registry import Registry
from rockets.records import Applied
from rockets.runtime.faults import Faults
from rockets.runtime.hooks import PluginHooks

__all__ = ["EVENT_BYTES", "MAX_WAITING_BYTES", "MAX_WAITING_EVENTS", "Listeners"]

log = logging.getLogger("rockets.plugins")

MAX_WAITING_EVENTS = 100_000
"""Events that may wait for the listeners."""
MAX_WAITING_BYTES = 64 * 2**20
"""Bytes that may wait for the listeners (each event counted as its payload's size plus
:data:`EVENT_BYTES`)."""
EVENT_BYTES = 512
"""What an event waiting in memory costs beyond its payload (its record, its state), about."""
REPORT_WAIT = 5.0
"""Seconds the thread waits for the event loop to take a failure it tells."""


class Listeners:
    """Calls one app's listeners with the events it commits, in a thread.

    Args:
        hooks: the plugins' hooks (their listeners).
        registry: the message types, to decode what a listener is given.
        faults: where a listener that stops is told.
        max_events: events that may wait for the thread.
        max_bytes: bytes that may wait for the thread.
    """

    def __init__(
        self,
        hooks: PluginHooks,
        registry: Registry,
        faults: Faults,
        *,
        max_events: int = MAX_WAITING_EVENTS,
        max_bytes: int = MAX_WAITING_BYTES,
    ) -> None:
        self.hooks = hooks
        self.registry = registry
        self.faults = faults
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.waiting_events = 0
        self.waiting_bytes = 0
        self.dropped = 0
        """Events dropped for the listeners because too many waited (never reset)."""
        self._queue: collections.deque[tuple[list[Applied], int]] = collections.deque()
        self._changed = threading.Condition()
        self._busy = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start the thread (inside the running event loop, where failures are told)."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        with self._changed:
            self._closing = False
        self._thread = threading.Thread(target=self._run, name="rockets-listeners", daemon=True)
        self._thread.start()

    def offer(self, events: list[Applied]) -> None:
        """Hand the thread events just committed (the engine's listener); never waits."""
        size = sum(len(applied.record.payload) for applied in events) + EVENT_BYTES * len(events)
        with self._changed:
            fits = (
                self.waiting_events + len(events) <= self.max_events
                and self.waiting_bytes + size <= self.max_bytes
            )
            if fits:
                self._queue.append((events, size))
                self.waiting_events += len(events)
                self.waiting_bytes += size
                self._changed.notify_all()
                return
            self.dropped += len(events)
            first = self.dropped == len(events)
        if first:
            names = ", ".join(repr(name) for name in self.hooks.listener_plugins)
            log.warning(
                "the listeners of %s are more than %s events or %d MiB behind: events are "
                "dropped for them while they catch up (counted in "
                "rockets_listener_events_dropped_total)",
                names,
                f"{self.max_events:,}",
                self.max_bytes // 2**20,
            )

    def idle(self, timeout: float | None = None) -> bool:
        """Wait (blocking) until every event offered so far was heard; whether it was within
        ``timeout`` seconds. For tests and for :meth:`drain`."""
        with self._changed:
            return self._changed.wait_for(
                lambda: (not self._queue and not self._busy) or self._thread is None, timeout
            )

    async def drain(self, timeout: float) -> bool:
        """Wait (without holding the event loop) until every event offered so far was heard;
        whether it was within ``timeout`` seconds."""
        return await asyncio.to_thread(self.idle, timeout)

    def close(self) -> None:
        """Let the thread end once it has heard what is offered (without waiting for it)."""
        with self._changed:
            self._closing = True
            self._thread = None
            self._changed.notify_all()

    def _run(self) -> None:
        changed = self._changed
        while True:
            with changed:
                changed.wait_for(lambda: bool(self._queue) or self._closing)
                if not self._queue:
                    return
                events, size = self._queue.popleft()
                self._busy = True
            try:
                for plugin, exc, record in self.hooks.applied(self.registry, events):
                    self._tell(
                        f"listener of {plugin!r}",
                        exc,
                        plugin,
                        f"{record.channel}#{record.message_number}",
                    )
            except Exception as exc:  # a bug of rockets': the thread must go on
                self._tell("the listeners", exc, None, None)
            finally:
                with changed:
                    self._busy = False
                    self.waiting_events -= len(events)
                    self.waiting_bytes -= size
                    changed.notify_all()

    def _tell(self, key: str, exc: Exception, plugin: str | None, event: str | None) -> None:
        """Report a failure through the faults, on the event loop (which owns them), and wait
        until it is told: once the thread is idle, every failure is in the faults."""
        told: concurrent.futures.Future[None] = concurrent.futures.Future()

        def report() -> None:
            try:
                self.faults.report(key, exc, plugin=plugin, event=event)
            finally:
                told.set_result(None)

        loop = self._loop
        try:
            if loop is None:
                raise RuntimeError("no event loop")
            loop.call_soon_threadsafe(report)
        except RuntimeError:  # the loop is closed: told from here
            self.faults.report(key, exc, plugin=plugin, event=event)
            return
        # The loop is busy past the wait: it tells it when it can.
        with contextlib.suppress(concurrent.futures.TimeoutError):
            told.result(timeout=REPORT_WAIT)

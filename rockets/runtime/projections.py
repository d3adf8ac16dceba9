"""The plugins' projections: read models kept up to date over every event, in log order.

Each projection's value is fed every applied event after its position, whatever process stored
it (the service follows the store's log; the feeding itself is
:mod:`rockets.runtime.projection_runner`'s, in a thread of its own). A projection whose own code
fails — its ``apply`` raises, its value cannot be encoded to be kept, its ``serve`` raises — or
that meets an event this app's plugins cannot read, is stopped, alone: its value stays as it
was, ``GET /projections`` shows it ``stopped`` with ``failedAt`` and ``error``, and the failure
is told once (see :func:`told`); it is not fed again until the server restarts. Ingestion, the
stream and the other projections go on.

The value is only touched under the projection's lock, an event at a time, so that a read
(from another thread) sees the value as of one position: what it serves is encoded there and
kept until the projection moves (:class:`Snapshot`).

Where the store keeps projections (PostgreSQL), the value and its position are kept from time
to time and at shutdown, so that a start reads only what is new; elsewhere the value is rebuilt
from the first event when the store replays its log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import msgspec

from rockets.core.aggregate import event_of
from rockets.core.registry import ProjectionType, Registry
from rockets.errors import UnreadableEventError
from rockets.records import Applied
from rockets.runtime.faults import Faults
from rockets.stores import Store
from rockets.wire import ProjectionInfo

__all__ = [
    "READ_WAIT",
    "SAVE_EVERY",
    "Kept",
    "Projections",
    "RunningProjection",
    "Snapshot",
    "Stop",
    "Unservable",
    "told",
]

log = logging.getLogger("rockets.projections")

SAVE_EVERY = 10_000
"""Events a kept projection (PostgreSQL) takes between two saves of its value."""
READ_WAIT = 1.0
"""Seconds a read of a projection waits for its code (an event being applied, its ``serve``)
before it is answered 503: a projection whose code hangs must not hang its readers."""


def told(key: str, plugin: str | None, event: str | None, error: str) -> str:
    """The one sentence that says something stopped, as the log's ERROR line says it
    (:meth:`rockets.runtime.faults.Faults.report`) and as ``GET /projections`` shows it in
    ``error``: ``plugin 'audit': projection 'seen' stopped at position 2: ValueError: boom``."""
    who = f"plugin {plugin!r}: " if plugin is not None else ""
    where = f" at {event}" if event is not None else ""
    return f"{who}{key} stopped{where}: {error}"


class Stop(NamedTuple):
    """A projection that just stopped, to be told through the faults (on the event loop)."""

    key: str
    plugin: str
    position: int
    error: BaseException

    def tell(self, faults: Faults) -> None:
        faults.report(self.key, self.error, plugin=self.plugin, event=f"position {self.position}")


class Kept(NamedTuple):
    """A projection's value, encoded to be kept by the store."""

    projection: RunningProjection
    position: int
    value: bytes


class Snapshot(NamedTuple):
    """What a projection serves as of one position, encoded once for every reader."""

    position: int
    body: bytes


class Unservable(NamedTuple):
    """A projection whose value cannot be served (its ``serve`` raised, or what it returned
    cannot be encoded): the sentence to answer, and the stop to tell if it just happened."""

    error: str
    stop: Stop | None


class RunningProjection:
    """One projection and where it stands.

    ``position``, ``value`` and the stop are changed under ``lock`` only, by one thread at a
    time (the projection runner's, or the event loop's at start).
    """

    def __init__(self, plugin: str, kind: ProjectionType[Any]) -> None:
        self.plugin = plugin
        self.kind = kind
        self.lock = threading.Lock()
        self.position = 0
        self.error: str | None = None
        self.failed_at: int | None = None
        self.unservable = False
        self.saved = 0
        self._snapshot: Snapshot | None = None
        self._encoder = msgspec.json.Encoder()
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(type(kind.initial))
        # A copy all the way down: an apply may update its value in place, and the initial
        # value belongs to the plugin (and to every app built from it).
        self.value: Any = self._decoder.decode(self.encode_value(kind.initial))

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def key(self) -> str:
        """What stopped, as faults and ``/health`` name it."""
        return f"projection {self.name!r}"

    @property
    def running(self) -> bool:
        return self.failed_at is None

    def info(self) -> ProjectionInfo:
        return ProjectionInfo(
            name=self.name,
            plugin=self.plugin,
            version=self.kind.version,
            description=self.kind.description,
            position=self.position,
            status="running" if self.failed_at is None else "stopped",
            error=self.error,
            failed_at=self.failed_at,
        )

    def stop(self, position: int, error: BaseException) -> Stop:
        """Stop at ``position``: the event its ``apply`` could not take (its value stays that
        of the event before), or the position whose value could not be kept or served."""
        stop = Stop(self.key, self.plugin, position, error)
        self.error = told(
            self.key, self.plugin, f"position {position}", f"{type(error).__name__}: {error}"
        )
        self.failed_at = position
        return stop

    def encode(self) -> bytes:
        return self.encode_value(self.value)

    def encode_value(self, value: Any) -> bytes:
        return self._encoder.encode(value)

    def restore(self, kept: tuple[int, int, bytes] | None) -> None:
        """Start from a kept value when it was kept by this version and still decodes."""
        if kept is None:
            return
        version, position, value = kept
        if version != self.kind.version:
            log.info(
                "projection %r: kept by version %d, now %d: rebuilt from the first event",
                self.name,
                version,
                self.kind.version,
            )
            return
        try:
            self.value = self._decoder.decode(value)
        except msgspec.DecodeError as exc:
            log.warning("projection %r: kept value unreadable (%s): rebuilt", self.name, exc)
            return
        self.position = self.saved = position

    def current(self) -> Snapshot | None:
        """What it serves, when that is already encoded for its position (no lock, no plugin
        code: read from any thread)."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.position == self.position and not self.unservable:
            return snapshot
        return None

    def read(self, wait: float) -> Snapshot | Unservable:
        """What it serves now, encoded; calls its ``serve`` when it moved since the last read.

        Runs plugin code: call it from a thread that may block, never from the event loop.

        Raises:
            TimeoutError: its code held the value longer than ``wait`` seconds.
        """
        if not self.lock.acquire(timeout=wait):
            raise TimeoutError(
                f"projection {self.name!r} did not answer within {wait:g} s: its plugin's code "
                "is busy (retry later)"
            )
        try:
            if self.unservable:
                return Unservable(self.error or "", None)
            snapshot = self._snapshot
            if snapshot is None or snapshot.position != self.position:
                serve = self.kind.serve
                try:
                    served = self.value if serve is None else serve(self.value)
                    snapshot = Snapshot(self.position, self._encoder.encode(served))
                except Exception as exc:
                    self.unservable = True
                    stop = self.stop(self.position, exc)
                    return Unservable(self.error or "", stop)
                self._snapshot = snapshot
            return snapshot
        finally:
            self.lock.release()

    def served_value(self, snapshot: Snapshot) -> Any:
        """What ``snapshot`` serves, decoded: a copy of its own, typed as ``serve`` says."""
        try:
            return msgspec.json.decode(snapshot.body, type=self.kind.served_type())
        except (msgspec.DecodeError, TypeError, NameError):
            return msgspec.json.decode(snapshot.body)


class Projections:
    """Every projection of one app.

    Args:
        kinds: ``(plugin, projection)`` pairs, as the plugins registered them.
        registry: to decode each event's payload once for all projections.
    """

    def __init__(
        self, kinds: Iterable[tuple[str, ProjectionType[Any]]], registry: Registry
    ) -> None:
        self.registry = registry
        self.running = {kind.name: RunningProjection(plugin, kind) for plugin, kind in kinds}

    def __bool__(self) -> bool:
        return bool(self.running)

    def get(self, name: str) -> RunningProjection | None:
        return self.running.get(name)

    @property
    def lowest(self) -> int | None:
        """The position the least advanced running projection has reached (None: none runs,
        none waits for anything)."""
        return min((p.position for p in self.running.values() if p.running), default=None)

    async def restore(self, store: Store) -> None:
        """Start every projection from the value the store kept for it, if any."""
        for projection in self.running.values():
            projection.restore(await store.load_projection(projection.name))

    def take(self, events: Sequence[Applied], halt: threading.Event | None = None) -> list[Stop]:
        """Feed every running projection the events it has not seen yet, and say which
        stopped. A projection that cannot take an event (its apply raises, or the event cannot
        be read by this app's plugins) is stopped there; the others go on. ``halt``, once set,
        ends the feeding before the next event.

        Runs plugin code: call it from the projection runner's thread (or at start)."""
        stops: list[Stop] = []
        active = [p for p in self.running.values() if p.running]
        if not active:
            return stops
        registry = self.registry
        # Past the most advanced one, every running projection waits for the event (the
        # common case, told without a list built per event).
        ahead = max(p.position for p in active)
        for applied in events:
            if halt is not None and halt.is_set():
                break
            position = applied.position
            if position > ahead and not stops:
                waiting = active
            else:
                waiting = [p for p in active if p.running and position > p.position]
                if not waiting:
                    continue
            try:
                event = event_of(registry, applied.record)
            except UnreadableEventError as exc:
                for projection in waiting:
                    with projection.lock:
                        stops.append(projection.stop(position, exc))
                continue
            state = applied.state
            for projection in waiting:
                with projection.lock:
                    try:
                        projection.value = projection.kind.apply(projection.value, event, state)
                    except Exception as exc:
                        stops.append(projection.stop(position, exc))
                        continue
                    projection.position = position
        return stops

    def due(self, every: int = SAVE_EVERY) -> tuple[list[Kept], list[Stop]]:
        """The values that moved ``every`` events or more since they were last kept, encoded;
        and the projections whose value could not be encoded (stopped there).

        Runs plugin code (a value's own encoding): call it where :meth:`take` is called."""
        kept: list[Kept] = []
        stops: list[Stop] = []
        for projection in self.running.values():
            if projection.position - projection.saved < every:
                continue
            with projection.lock:
                position = projection.position
                try:
                    value = projection.encode()
                except Exception as exc:
                    if projection.running:
                        stops.append(projection.stop(position, exc))
                    projection.saved = position  # nothing to keep: not tried again
                    continue
            kept.append(Kept(projection, position, value))
        return kept, stops

    def stop_all(self, position: int, error: BaseException) -> list[Stop]:
        """Stop every running projection at ``position``, for a reason of their own."""
        stops = []
        for projection in self.running.values():
            with projection.lock:
                if projection.running:
                    stops.append(projection.stop(position, error))
        return stops

    @staticmethod
    async def keep(store: Store, kept: Iterable[Kept]) -> None:
        """Have the store keep the encoded values.

        Raises:
            StoreError: the store did not keep one (those before it are kept).
        """
        for item in kept:
            projection = item.projection
            await store.save_projection(
                projection.name, projection.kind.version, item.position, item.value
            )
            projection.saved = max(projection.saved, item.position)

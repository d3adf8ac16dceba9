"""The plugins' projections: read models kept up to date over every event, in log order.

Each projection's value is fed every applied event after its position, whatever process stored
it (the service follows the store's log). A projection whose ``apply`` raises is stopped: its
value stays as it was before that event, and its error and position are reported; ingestion
goes on. Where the store keeps projections (PostgreSQL), the value and its position are kept
from time to time and at shutdown, so that a start reads only what is new; elsewhere the value
is rebuilt from the first event when the store replays its log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from rockets.core.aggregate import event_of
from rockets.core.registry import ProjectionType, Registry
from rockets.errors import UnreadableEventError
from rockets.records import Applied
from rockets.stores import Store
from rockets.wire import ProjectionInfo

__all__ = ["Projections", "RunningProjection"]

log = logging.getLogger("rockets.projections")

SAVE_EVERY = 10_000
"""Events a kept projection (PostgreSQL) takes between two saves of its value."""


class RunningProjection:
    """One projection and where it stands."""

    def __init__(self, plugin: str, kind: ProjectionType[Any]) -> None:
        self.plugin = plugin
        self.kind = kind
        self.position = 0
        self.error: str | None = None
        self.failed_at: int | None = None
        self.saved = 0
        self._encoder = msgspec.json.Encoder()
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(type(kind.initial))
        # A copy all the way down: an apply may update its value in place, and the initial
        # value belongs to the plugin (and to every app built from it).
        self.value: Any = self._decoder.decode(self.encode_value(kind.initial))

    @property
    def name(self) -> str:
        return self.kind.name

    def served(self) -> Any:
        """What the API answers for the value now."""
        serve = self.kind.serve
        return self.value if serve is None else serve(self.value)

    def info(self) -> ProjectionInfo:
        return ProjectionInfo(
            name=self.name,
            plugin=self.plugin,
            version=self.kind.version,
            description=self.kind.description,
            position=self.position,
            status="stopped" if self.error is not None else "running",
            error=self.error,
            failed_at=self.failed_at,
        )

    def stop(self, position: int, error: str) -> None:
        """Stop at the event at ``position``, which it could not take: its value stays that of
        the event before."""
        self.error = error
        self.failed_at = position

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
        return min((p.position for p in self.running.values() if p.error is None), default=None)

    async def restore(self, store: Store) -> None:
        """Start every projection from the value the store kept for it, if any."""
        for projection in self.running.values():
            projection.restore(await store.load_projection(projection.name))

    def apply(self, events: Sequence[Applied]) -> None:
        """Feed every running projection the events it has not seen yet. A projection that
        cannot take an event (its apply raises, or the event cannot be read by this app's
        plugins) is stopped there; the others, and the caller, go on."""
        active = [p for p in self.running.values() if p.error is None]
        if not active:
            return
        registry = self.registry
        # Past the most advanced one, every running projection waits for the event (the
        # common case, told without a list built per event).
        ahead = max(p.position for p in active)
        for applied in events:
            position = applied.position
            if position > ahead and all(p.error is None for p in active):
                waiting = active
            else:
                waiting = [p for p in active if p.error is None and position > p.position]
                if not waiting:
                    continue
            try:
                event = event_of(registry, applied.record)
            except UnreadableEventError as exc:
                for projection in waiting:
                    projection.stop(position, str(exc))
                log.error(
                    "projections %s stopped at position %d: %s",
                    ", ".join(repr(p.name) for p in waiting),
                    position,
                    exc,
                )
                continue
            for projection in waiting:
                try:
                    projection.value = projection.kind.apply(projection.value, event, applied.state)
                except Exception as exc:
                    projection.stop(position, f"{type(exc).__name__}: {exc}")
                    log.exception(
                        "projection %r (plugin %r) failed at position %d; it is stopped, its "
                        "value stays as it was",
                        projection.name,
                        projection.plugin,
                        position,
                    )
                    continue
                projection.position = position

    async def save(self, store: Store, *, every: int = SAVE_EVERY) -> None:
        """Keep the values that moved ``every`` events or more since they were last kept."""
        for projection in self.running.values():
            if projection.position - projection.saved >= every:
                await store.save_projection(
                    projection.name,
                    projection.kind.version,
                    projection.position,
                    projection.encode(),
                )
                projection.saved = projection.position

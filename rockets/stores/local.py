"""Stores used by a single process: the sequencer and the projection live in memory.

A local store is the in-process index (every channel's sequencing state and current rocket
state) plus a way to keep messages, which subclasses provide. Reads of states never leave the
process; only event reads and the duplicate checks of applied events ask the persistence layer.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from types import TracebackType

from rockets.errors import StoreError
from rockets.projection import Projection
from rockets.records import Record
from rockets.sequencer import Checkpoint, Sequencer
from rockets.settings import Limits
from rockets.state import RocketState
from rockets.statetype import StateSchema, build_state_schema
from rockets.stores.base import Commit, Fold, Group, Store
from rockets.wire import RocketQuery

__all__ = ["LocalStore"]


class _LocalGroup(Group):
    """A group on a local store, and its own context manager: a checkpoint of the channels on
    the way in; on the way out, the write and the publication of the new states, or the
    checkpoint put back."""

    def __init__(self, store: LocalStore, channels: Sequence[str]) -> None:
        self.sequencer = store.sequencer
        self._store = store
        self._channels = channels
        self._checkpoints: list[Checkpoint] = []
        self.staged: Commit | None = None

    async def __aenter__(self) -> _LocalGroup:
        checkpoint = self.sequencer.checkpoint
        self._checkpoints = [checkpoint(channel) for channel in self._channels]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None and self.staged is not None:
            try:
                await self._store._write(self.staged)
            except BaseException as failure:
                self._restore()
                if isinstance(failure, StoreError) or not isinstance(failure, Exception):
                    raise
                raise StoreError(f"{type(failure).__name__}: {failure}") from failure
            # Published only now: readers never see a state the store did not keep.
            self._store.projection.put(self.staged.states)
        elif exc is not None:
            self._restore()

    def _restore(self) -> None:
        for checkpoint in self._checkpoints:
            self.sequencer.restore(checkpoint)

    def state(self, channel: str) -> RocketState | None:
        return self._store.projection.get(channel)

    async def applied(self, channel: str, number: int) -> Record | None:
        return await self._store._event(channel, number)

    def stage(self, commit: Commit) -> None:
        self.staged = commit


class LocalStore(Store, abc.ABC):
    """Base of the single-process stores. Subclasses implement the ``_`` methods.

    Args:
        limits: the pending-buffer bounds.
    """

    def __init__(self, limits: Limits) -> None:
        self.sequencer = Sequencer(limits.max_pending_per_channel, limits.max_pending_total)
        self.projection = Projection()
        self._indexed = False
        self._schema = build_state_schema(())

    async def open(self, schema: StateSchema, fold: Fold) -> int:
        """Connect, then rebuild the sequencer and the projection by replaying every kept
        message through them. Reopening the same object keeps the index it already has: it
        wrote everything the index holds (and, in memory, the index holds what nothing else
        does)."""
        await self._connect()
        self._schema = schema
        if self._indexed:
            return 0
        self._indexed = True
        sequencer = self.sequencer
        staged: dict[str, RocketState] = {}
        count = 0
        async for record in self._load():
            count += 1
            channel = record.channel
            state = staged.get(channel) or schema.initial(channel)
            ready = sequencer.recover(record)
            staged[channel] = fold(state, ready) if ready else state
        self.projection.put(
            state.with_backlog(*sequencer.backlog(state.channel)) for state in staged.values()
        )
        return count

    def group(self, channels: Sequence[str]) -> _LocalGroup:
        return _LocalGroup(self, channels)

    async def rocket(self, channel: str) -> RocketState | None:
        return self.projection.get(channel)

    async def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        return self.projection.query(query, self._schema)

    async def count(self) -> int:
        return len(self.projection)

    async def waiting(self) -> list[RocketState]:
        get = self.projection.get
        return [
            state
            for channel in self.sequencer.waiting_channels()
            if (state := get(channel)) is not None
        ]

    async def events(self, channel: str, start: int, limit: int) -> list[Record]:
        stop = min(start + limit - 1, self.sequencer.applied(channel))
        if stop < start:
            return []
        return await self._events(channel, start, stop)

    async def _connect(self) -> None:
        """Open connections, create the schema."""

    @abc.abstractmethod
    async def _write(self, commit: Commit) -> None:
        """Keep ``commit`` entirely, or raise having kept none of it."""

    @abc.abstractmethod
    def _load(self) -> AsyncIterator[Record]:
        """Every kept message, each channel's in number order."""

    @abc.abstractmethod
    async def _event(self, channel: str, number: int) -> Record | None:
        """Applied event ``number`` of ``channel``, or None."""

    @abc.abstractmethod
    async def _events(self, channel: str, start: int, stop: int) -> list[Record]:
        """Applied events ``start`` to ``stop`` (both included) of ``channel``."""

"""Stores used by a single process: the sequencer and the rocket index live in memory.

A local store is the in-process index (every channel's sequencing state and current rocket
state) plus a way to keep messages, which subclasses provide. Reads of states never leave the
process; only event reads and the duplicate checks of applied events ask the persistence layer.
The process is the log's only writer, so it numbers the events itself and its follower hears
them from memory.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Sequence
from types import TracebackType

from rockets.core.rocket_index import RocketIndex
from rockets.core.sequencer import Checkpoint, Sequencer
from rockets.core.state_schema import StateSchema, build_state_schema
from rockets.errors import StoreError
from rockets.records import Applied, Record
from rockets.settings import Limits
from rockets.state import RocketState
from rockets.stores.base import Commit, Fold, Group, Replay, Store
from rockets.wire import RocketQuery

__all__ = ["LocalStore"]

_REPLAY_BATCH = 1000


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
            store = self._store
            # One write at a time takes positions and writes them: a write that fails leaves no
            # gap in the log, and no two writes take the same positions.
            async with store._one_write:
                first = store._position + 1
                positions = range(first, first + len(self.staged.applied))
                try:
                    await store._write(self.staged, positions)
                except BaseException as failure:
                    self._restore()
                    if isinstance(failure, StoreError) or not isinstance(failure, Exception):
                        raise
                    raise StoreError(f"{type(failure).__name__}: {failure}") from failure
                store._position = positions.stop - 1
            # Published only now: readers never see a state the store did not keep.
            self.positions = positions
            store.index.put(self.staged.states)
            store._feed(positions, self.staged)
        elif exc is not None:
            self._restore()

    def _restore(self) -> None:
        for checkpoint in self._checkpoints:
            self.sequencer.restore(checkpoint)

    def state(self, channel: str) -> RocketState | None:
        return self._store.index.get(channel)

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
        self.index = RocketIndex()
        self._indexed = False
        self._schema = build_state_schema(())
        self._position = 0
        self._following: list[Applied] | None = None
        self._fed = asyncio.Event()
        self._one_write = asyncio.Lock()
        self._closed = False

    async def open(self, schema: StateSchema, fold: Fold, replay: Replay | None = None) -> int:
        """Connect, then rebuild the sequencer and the rocket index by replaying every kept
        message through them, applied events in position order (``replay`` hears them, with
        their states). Reopening the same object keeps the index it already has: it wrote
        everything the index holds (and, in memory, the index holds what nothing else does).

        An event ``fold`` cannot apply stops its channel there: it and its successors wait,
        set aside. A message kept while its channel waited at one that the plugins now loaded
        apply joins the log: it is given its position and kept so, as a group would."""
        await self._connect()
        self._schema = schema
        self._closed = False
        self._fed = asyncio.Event()  # of the event loop that serves
        self._one_write = asyncio.Lock()
        if self._indexed:
            return 0
        self._indexed = True
        sequencer = self.sequencer
        staged: dict[str, RocketState] = {}
        heard: list[Applied] = []
        joined: list[Applied] = []
        count = 0
        async for position, record in self._load():
            count += 1
            channel = record.channel
            state = staged.get(channel) or schema.initial(channel)
            # Applied events come in position order, so each channel's in number order: each
            # joins its log at once. Waiting ones come last, behind their gaps or behind a
            # message set aside (which then joins the log now, if it applies).
            ready = sequencer.recover(record)
            for index, event in enumerate(ready):
                folded = fold(state, [event])
                state = folded
                if folded.last_message_number != event.message_number:
                    sequencer.hold_back(ready[index:])  # set aside: the channel waits at it
                    break
                at = position
                if at is None or event is not record:
                    # All applied events were read before the first waiting one: new
                    # positions go after them.
                    self._position += 1
                    at = self._position
                    joined.append(Applied(at, event, state))
                if replay is not None:
                    heard.append(Applied(at, event, state))
                    if len(heard) >= _REPLAY_BATCH:
                        replay(heard)
                        heard = []
            staged[channel] = state
            if position is not None:
                self._position = max(self._position, position)
        if joined:
            first = joined[0].position
            commit = Commit(
                received=[],
                applied=[applied.record for applied in joined],
                states=[],
                after=[applied.state for applied in joined],
            )
            await self._write(commit, range(first, first + len(joined)))
        if replay is not None and heard:
            replay(heard)
        self.index.put(
            state.with_backlog(*sequencer.backlog(state.channel)) for state in staged.values()
        )
        return count

    async def position(self) -> int:
        return self._position

    async def follow(self, after: int) -> AsyncIterator[list[Applied]]:
        """The events this process stores from now on (it is the log's only writer; what was
        stored before, ``open`` replayed)."""
        self._following = []
        try:
            while not self._closed:
                batch, self._following = self._following, []
                batch = [applied for applied in batch if applied.position > after]
                if batch:
                    after = batch[-1].position
                    yield batch
                    continue
                self._fed.clear()
                await self._fed.wait()
        finally:
            self._following = None

    def _feed(self, positions: range, commit: Commit) -> None:
        if self._following is None:
            return
        self._following.extend(
            Applied(position, record, state)
            for position, record, state in zip(positions, commit.applied, commit.after, strict=True)
        )
        self._fed.set()

    async def close(self) -> None:
        self._closed = True
        self._fed.set()

    def group(self, channels: Sequence[str]) -> _LocalGroup:
        return _LocalGroup(self, channels)

    async def rocket(self, channel: str) -> RocketState | None:
        return self.index.get(channel)

    async def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        return self.index.query(query, self._schema)

    async def count(self) -> int:
        return len(self.index)

    async def waiting(self) -> list[RocketState]:
        get = self.index.get
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
    async def _write(self, commit: Commit, positions: range) -> None:
        """Keep ``commit`` entirely, ``positions`` being those of its applied records, or raise
        having kept none of it."""

    @abc.abstractmethod
    def _load(self) -> AsyncIterator[tuple[int | None, Record]]:
        """Every kept message with its position: applied ones in position order, then those
        waiting behind a gap (position None), each channel's in number order."""

    @abc.abstractmethod
    async def _event(self, channel: str, number: int) -> Record | None:
        """Applied event ``number`` of ``channel``, or None."""

    @abc.abstractmethod
    async def _events(self, channel: str, start: int, stop: int) -> list[Record]:
        """Applied events ``start`` to ``stop`` (both included) of ``channel``."""

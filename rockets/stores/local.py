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
import functools
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any

from rockets.core.rocket_index import RocketIndex
from rockets.core.sequencer import Checkpoint, Sequencer
from rockets.core.state_schema import StateSchema, build_state_schema
from rockets.errors import StoreError
from rockets.records import Applied, Record
from rockets.settings import Limits
from rockets.state import RocketState
from rockets.stores.base import Backlog, Commit, Fold, Group, Replay, Store, Waiting
from rockets.wire import RocketQuery

__all__ = ["LocalStore"]

_REPLAY_BATCH = 1000


def _merged(together: Sequence[tuple[_LocalGroup, object]]) -> Commit:
    """The commits of groups written together, as one (their applied records in the order of
    the positions they take)."""
    commits = [group.staged for group, _ in together if group.staged is not None]
    return Commit(
        received=[record for commit in commits for record in commit.received],
        applied=[record for commit in commits for record in commit.applied],
        states=[state for commit in commits for state in commit.states],
        after=[state for commit in commits for state in commit.after],
    )


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
        refusal = self._store._refusal()
        if refusal is not None:
            raise StoreError(refusal)
        checkpoint = self.sequencer.checkpoint
        self._checkpoints = [checkpoint(channel) for channel in self._channels]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None and self.staged is not None:
            await self._store._commit(self)
        elif exc is not None:
            self._restore()

    def _publish(self, positions: range, staged: Commit) -> None:
        """Readers see the group's states only now: never a state the store did not keep."""
        store = self._store
        store._position = positions.stop - 1
        self.positions = positions
        store.index.put(staged.states)
        store._feed(positions, staged)

    def _settle(self, positions: range, staged: Commit, write: asyncio.Future[Any]) -> None:
        """The end of this group's write, which its caller stopped waiting for."""
        store = self._store
        if store._unsettled is write:
            store._unsettled = None
        if write.cancelled() or write.exception() is not None:
            self._restore()
        else:
            self._publish(positions, staged)

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
        self.sequencer = Sequencer(
            limits.max_pending_per_channel, limits.max_pending_total, limits.max_pending_bytes
        )
        self.index = RocketIndex()
        self._indexed = False
        self._schema = build_state_schema(())
        self._position = 0
        self._following: list[Applied] | None = None
        self._fed = asyncio.Event()
        self._one_write = asyncio.Lock()
        self._joining: list[tuple[_LocalGroup, asyncio.Future[None]]] = []
        self._closed = False
        self._unsettled: asyncio.Future[Any] | None = None
        """A write whose caller stopped waiting for it (the store timeout, a cancellation) and
        that goes on: until it ends, every group is refused, and its own follows its outcome.
        The store that stops waiting sets it; whoever owns the write clears it when it ends."""

    async def _commit(self, group: _LocalGroup) -> None:
        """Write ``group``'s staged commit, together with those of the groups that came to
        write while another write was under way (a group commit: one transaction, one trip to
        the writer thread for them all); publish it, or put the group's channels back and
        raise :class:`StoreError`.

        One write at a time takes positions and writes them, so that a write that fails leaves
        no gap in the log and no two writes take the same positions. The waiting groups queue
        for the lock in the order they joined ``_joining``: the first to get it writes every
        group that joined by then, and the others find their write done."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._joining.append((group, done))
        async with self._one_write:
            if not done.done():
                together, self._joining = self._joining, []
                await self._write_together(together)
        await done

    async def _write_together(
        self, together: list[tuple[_LocalGroup, asyncio.Future[None]]]
    ) -> None:
        refusal = self._refusal()
        if refusal is not None:  # since these groups began
            for group, done in together:
                group._restore()
                done.set_exception(StoreError(refusal))
            return
        first = self._position + 1
        placed = []
        for group, _ in together:
            staged = group.staged
            assert staged is not None
            placed.append(range(first, first + len(staged.applied)))
            first += len(staged.applied)
        commit = together[0][0].staged if len(together) == 1 else _merged(together)
        assert commit is not None
        try:
            await self._write(commit, range(placed[0].start, first))
        except BaseException as failure:
            unsettled = self._unsettled
            for (group, done), positions in zip(together, placed, strict=True):
                staged = group.staged
                assert staged is not None
                if unsettled is None:
                    group._restore()
                else:
                    # The write goes on: the channels stay as staged until it ends, every
                    # other group refused meanwhile, and then follow what it did.
                    unsettled.add_done_callback(functools.partial(group._settle, positions, staged))
                if isinstance(failure, StoreError):
                    done.set_exception(failure)
                else:
                    error = StoreError(f"{type(failure).__name__}: {failure}")
                    error.__cause__ = failure
                    done.set_exception(error)
            if not isinstance(failure, Exception):
                # Cancelled: this task will not await its own answer; the others still do.
                for _, done in together:
                    done.exception()
                raise
            return
        for (group, done), positions in zip(together, placed, strict=True):
            staged = group.staged
            assert staged is not None
            group._publish(positions, staged)
            done.set_result(None)

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
        self._joining = []
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

    def _refusal(self) -> str | None:
        """Why every group is refused at once now (None: groups are taken)."""
        if self._unsettled is not None:
            return "a write did not end in time: writes are refused until it ends"
        return None

    async def rocket(self, channel: str) -> RocketState | None:
        return self.index.get(channel)

    async def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        return self.index.query(query, self._schema)

    async def count(self) -> int:
        return len(self.index)

    async def stalled(
        self, min_seconds: float, limit: int | None = None, offset: int = 0
    ) -> tuple[int, list[Waiting]]:
        sequencer = self.sequencer
        now = sequencer.clock()
        since = now - min_seconds
        order = sequencer.order
        aged = order.count_until(since)
        # Those that wait at a message set aside, however short a time: few, and after every
        # channel that has waited ``min_seconds``.
        logs = sequencer.channels
        held = sorted(
            (began, channel)
            for channel in sequencer.held_channels
            if (began := logs[channel].began) is not None and began > since
        )
        total = aged + len(held)
        stop = total if limit is None else min(total, offset + limit)
        keys = order.slice(offset, min(stop, aged)) if offset < aged else []
        keys += held[max(0, offset - aged) : max(0, stop - aged)]
        get = self.index.get
        # A channel a group is writing may wait in the sequencer before its state is kept.
        return total, [
            Waiting(state=state, seconds=now - began)
            for began, channel in keys
            if (state := get(channel)) is not None
        ]

    async def backlog(self, stall_seconds: float) -> Backlog:
        sequencer = self.sequencer
        order = sequencer.order
        first = order.first()
        if first is None:
            return Backlog()
        now = sequencer.clock()
        return Backlog(
            channels=len(order),
            messages=sequencer.total_pending,
            stalled=order.count_until(now - stall_seconds),
            oldest_seconds=now - first[0],
        )

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

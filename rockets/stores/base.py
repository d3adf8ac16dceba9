"""The store contract: where messages, events and rocket states are kept, and how a worker's
group of messages is written.

The engine never touches a store's data directly. For each group of messages it opens a
:class:`Group` on the channels the group touches; the group hands it the channels' sequencing
state (a :class:`Sequencer` holding at least those channels) and their current rocket states,
and writes what the engine staged, all or nothing, when the ``async with`` block ends without an
error. Reads go to the store as well, so that a store shared by several processes answers every
one of them alike.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import ClassVar

import msgspec

from rockets.core.sequencer import Sequencer
from rockets.core.state_schema import StateSchema
from rockets.records import Applied, Record
from rockets.settings import Limits
from rockets.state import RocketState
from rockets.wire import RocketQuery

__all__ = ["Backlog", "Commit", "Fold", "Group", "Limits", "Replay", "Store", "Waiting"]

Fold = Callable[[RocketState, Sequence[Record]], RocketState]
"""Applies records (the channel's events right after ``state``, in order) to a state and returns
the new one. A store that rebuilds states when it opens is given the app's, so that it needs to
know nothing of message types. The app's stops at a record its plugins cannot apply: it returns
the state before it, whose ``set_aside`` names it (its ``lastMessageNumber`` tells the store)."""

Replay = Callable[[Sequence[Applied]], None]
"""Hears the events a store reads back when it opens, in position order, each with the state
right after it (the app's projections catch up on them)."""


class Commit(msgspec.Struct, frozen=True, kw_only=True):
    """What one group wrote, all or nothing.

    Attributes:
        received: every message accepted in this group, applied or waiting behind a gap. A
            durable store keeps them all, so that a crash loses no acknowledged message.
        applied: the records that joined their channel's event log in this group, each
            channel's in number order. A record may have been received in an earlier group (it
            waited behind a gap).
        states: the new state of every channel whose state or pending count changed.
        after: the state right after each record of ``applied``, in the same order.
    """

    received: list[Record]
    applied: list[Record]
    states: list[RocketState]
    after: list[RocketState] = msgspec.field(default_factory=list)


class Waiting(msgspec.Struct, frozen=True, kw_only=True):
    """A rocket with messages waiting (behind a gap, or at a message set aside).

    Attributes:
        state: its state, with ``pending``, ``waiting_since`` and ``set_aside``.
        seconds: how long its oldest waiting message has waited, measured on a clock that does
            not step when the wall clock is set: the process's monotonic clock for a store of
            one process, the database's for a store several processes share.
    """

    state: RocketState
    seconds: float


class Backlog(msgspec.Struct, frozen=True, kw_only=True):
    """The waiting messages in figures (the gauges of ``/metrics``).

    Attributes:
        channels: rockets with messages waiting.
        messages: messages waiting, over all rockets.
        stalled: rockets whose oldest waiting message has waited at least the stall time.
        oldest_seconds: the age of the oldest waiting message (0 when none waits), on the clock
            :class:`Waiting` uses.
    """

    channels: int = 0
    messages: int = 0
    stalled: int = 0
    oldest_seconds: float = 0.0


class Group(abc.ABC):
    """One worker's write on a set of channels, held exclusively until it ends.

    Attributes:
        sequencer: the sequencing state of (at least) the group's channels; the engine offers
            it every message of the group.
        positions: once the group has been written, the position the store gave each record of
            ``Commit.applied``, in the same order.
    """

    sequencer: Sequencer
    positions: Sequence[int] = ()

    @abc.abstractmethod
    def state(self, channel: str) -> RocketState | None:
        """The channel's current state, or None if the channel has no accepted message."""

    @abc.abstractmethod
    async def applied(self, channel: str, number: int) -> Record | None:
        """Event ``number`` of ``channel`` as stored before this group (None if absent)."""

    @abc.abstractmethod
    def stage(self, commit: Commit) -> None:
        """What to write when the group ends without an error."""


class Store(abc.ABC):
    """An event store. ``name`` is shown by ``/health``; ``durable`` says whether an
    acknowledged message survives the process; ``shared`` whether several processes may use
    the same store at once; ``keeps_states`` whether states are kept (and so must be rebuilt
    with ``rockets rebuild`` after a plugin's ``apply`` changes)."""

    name: ClassVar[str] = "abstract"
    durable: ClassVar[bool] = False
    shared: ClassVar[bool] = False
    keeps_states: ClassVar[bool] = False
    """Whether rocket states are kept rather than rebuilt from events at every start."""

    async def open(self, schema: StateSchema, fold: Fold, replay: Replay | None = None) -> int:
        """Connect, create or migrate the schema, rebuild what the store keeps in memory.

        Called once before any other method. ``schema`` is the app's state type (to decode
        kept states and to start new rockets); ``fold`` applies events to a state, for a store
        that rebuilds states from its events; ``replay``, if given, hears the events such a
        store reads back, in position order. Returns how many messages were read back.
        """
        return 0

    @abc.abstractmethod
    async def position(self) -> int:
        """The position of the newest event in the log (0 when it is empty)."""

    @abc.abstractmethod
    def follow(self, after: int) -> AsyncIterator[list[Applied]]:
        """Every event stored after position ``after``, in position order, in batches, as they
        come, until the store closes: those of this process and, for a store shared by several
        processes, those of the others. One follower at a time."""

    async def load_projection(self, name: str) -> tuple[int, int, bytes] | None:
        """A projection's kept ``(version, position, value)``, or None. A store that rebuilds
        everything when it opens keeps none: the projection catches up from position 0."""
        return None

    async def save_projection(  # noqa: B027 - optional: see load_projection
        self, name: str, version: int, position: int, value: bytes
    ) -> None:
        """Keep a projection's value as of ``position`` (ignored where nothing is kept, and
        where a newer position is kept already)."""

    async def close(self) -> None:  # noqa: B027 - optional hook with nothing to do by default
        """Release connections; called once, after the last group."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Return if the store can serve requests; raise :class:`StoreError` otherwise."""

    @abc.abstractmethod
    def group(self, channels: Sequence[str]) -> AbstractAsyncContextManager[Group]:
        """Hold ``channels`` (sorted, distinct) for one group of messages.

        Entering loads their state; leaving without an error writes what was staged, or
        raises :class:`StoreError` having written nothing; leaving with an error writes nothing
        and leaves the channels as they were.
        """

    @abc.abstractmethod
    async def rocket(self, channel: str) -> RocketState | None:
        """The current state of ``channel``, or None if it has received nothing."""

    @abc.abstractmethod
    async def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        """How many rockets match ``query``'s filters, and the page it asks for."""

    @abc.abstractmethod
    async def events(self, channel: str, start: int, limit: int) -> list[Record]:
        """Up to ``limit`` applied events of ``channel`` from number ``start`` on, in order."""

    @abc.abstractmethod
    async def count(self) -> int:
        """How many rockets the store holds."""

    @abc.abstractmethod
    async def stalled(
        self, min_seconds: float, limit: int | None = None, offset: int = 0
    ) -> tuple[int, list[Waiting]]:
        """The rockets whose oldest waiting message has waited at least ``min_seconds``, and
        those waiting at a message set aside however short a time, the longest-waiting first
        (ties by channel): how many there are, and the page ``limit``/``offset`` asks for.

        Ages are measured on a clock that does not step (see :class:`Waiting`). A page costs
        about its own size, not the number of open gaps. ``min_seconds`` may be ``math.inf``:
        then only those set aside are listed (how a start finds them to try again)."""

    @abc.abstractmethod
    async def backlog(self, stall_seconds: float) -> Backlog:
        """The figures ``/metrics`` shows of the waiting messages, without reading every open
        gap (kept as they change, or counted on an index)."""

    async def kept_state(self, channel: str, number: int) -> tuple[int, RocketState] | None:
        """The nearest state of ``channel`` the store keeps at or before event ``number``: the
        number of the event it is the state right after, and that state, or None when it keeps
        none (a replay then folds from the first event). Its bookkeeping (``pending``,
        ``waitingSince``, ``setAside``) is as it was when kept, not part of the fold. A store
        that keeps none keeps nothing to answer with (the default)."""
        return None

    async def received(self) -> AsyncIterator[Record]:
        """Every kept message, applied or waiting, each channel's in number order (for
        backups, migrations and tests). Stores that keep only applied events yield those."""
        return
        yield  # pragma: no cover - makes this an async generator
